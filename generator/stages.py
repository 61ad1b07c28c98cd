"""Ordered deployment stages, for gateways one ARM deployment cannot hold.

ARM accepts at most 4 MB of template per deployment, and Bicep inlines every module (with the
policies and subscription lists it loads) into its caller, so at tens of thousands of consumers
`main.bicep` outgrows one deployment. Then render splits it: stage 1 is `main.bicep` with the
core resources (monitoring, API Management, Azure OpenAI, the API, insights), and each later
stage is a top-level resource-group deployment `stages/NN-<kind>.bicep` (products first, then
subscriptions, since a subscription is scoped to its product) with its own
`stages/NN-<kind>.parameters.json`. Each stage calls the same batch modules main.bicep would
have called, names the API Management service exactly as main.bicep does, and uses stable
deployment names, so running a stage again updates what it created.

A gateway that fits is left exactly as it was: staging changes nothing below the limit.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass

from generator import azure
from generator.errors import TokengateError
from generator.limits import footprints
from generator.model import Gateway
from generator.render import (
    Batch,
    RenderedFile,
    base_context,
    parameters_json,
    product_batches,
    render_template,
    subscription_batches,
)

#: Where the stage templates live, relative to the output folder.
STAGE_FOLDER = "stages"
#: Room left under the ARM limit in each stage for the estimate's error (the limit itself is
#: checked on every template afterwards, by limits.py).
STAGE_FILL = 0.75
#: Bicep text of one module call in a stage, doubled as ARM JSON (an upper bound).
CALL_BYTES = 1_000
#: Module calls per stage: each is one deployment resource against ARM's 800 per template.
MAX_CALLS_PER_STAGE = 700


@dataclass(frozen=True)
class Stage:
    """One deployment after main.bicep: a run of product or subscription batches."""

    number: int
    total: int
    kind: str
    product_batches: tuple[Batch, ...] = ()
    subscription_batches: tuple[Batch, ...] = ()

    @property
    def template_path(self) -> str:
        return f"{STAGE_FOLDER}/{self.number:02d}-{self.kind}.bicep"

    @property
    def parameters_path(self) -> str:
        return f"{STAGE_FOLDER}/{self.number:02d}-{self.kind}.parameters.json"

    @property
    def summary(self) -> str:
        if self.kind == "products":
            return f"{len(self.product_batches)} product batch(es)"
        return f"{len(self.subscription_batches)} subscription batch(es)"


def is_stage(path: str) -> bool:
    """Whether `path` (relative to the output folder) is a stage template."""
    folder, _, name = path.rpartition("/")
    return folder == STAGE_FOLDER and name.endswith(".bicep")


def stage_paths(files: Mapping[str, object]) -> list[tuple[str, str]]:
    """(template, parameters) of every stage after main.bicep, in deployment order."""
    templates = sorted(path for path in files if is_stage(path))
    return [(t, t.removesuffix(".bicep") + ".parameters.json") for t in templates]


def _pack(costs: list[tuple[str, Batch, int]], budget: int) -> list[tuple[str, list[Batch]]]:
    """Batches in order into runs of one kind, each under `budget` bytes and the call cap."""
    runs: list[tuple[str, list[Batch]]] = []
    used = 0
    for kind, batch, cost in costs:
        if (
            not runs
            or runs[-1][0] != kind
            or used + cost > budget
            or len(runs[-1][1]) >= MAX_CALLS_PER_STAGE
        ):
            runs.append((kind, []))
            used = 0
        runs[-1][1].append(batch)
        used += cost
    return runs


def staged(gateway: Gateway, files: dict[str, RenderedFile]) -> dict[str, RenderedFile]:
    """`files`, split into deployment stages when main.bicep would exceed ARM's template size."""
    limit = azure.MAX_TEMPLATE_BYTES
    prints = footprints(gateway, files)
    if prints["main.bicep"].estimated_bytes <= limit:
        return files
    subscriptions = subscription_batches(gateway)
    products = product_batches(gateway)
    costs: list[tuple[str, Batch, int]] = [
        ("products", batch, prints[batch.module_path].estimated_bytes + CALL_BYTES)
        for batch, _ in products
    ]
    costs += [
        ("subscriptions", batch, len(json.dumps(files[batch.data_path].content)) + CALL_BYTES)
        for batch, _ in subscriptions
    ]
    module = prints.get("modules/subscriptions.bicep")
    overhead = 4 * CALL_BYTES + (module.estimated_bytes if module else 0)
    runs = _pack(costs, int(limit * STAGE_FILL) - overhead)
    total = 1 + len(runs)
    if total > 99:
        raise TokengateError(f"internal error: {total} deployment stages; at most 99 are named")
    stages = [
        Stage(
            number=number,
            total=total,
            kind=kind,
            product_batches=tuple(batches) if kind == "products" else (),
            subscription_batches=tuple(batches) if kind == "subscriptions" else (),
        )
        for number, (kind, batches) in enumerate(runs, start=2)
    ]
    base = base_context(gateway, [], [])
    out = dict(files)
    out["main.bicep"] = RenderedFile("main.bicep", render_template("main.bicep.j2", base))
    stage_values = {"gatewayName": gateway.name}
    for stage in stages:
        text = render_template("stage.bicep.j2", {**base, "stage": stage})
        out[stage.template_path] = RenderedFile(stage.template_path, text)
        out[stage.parameters_path] = RenderedFile(
            stage.parameters_path, parameters_json(gateway, stage_values)
        )
    return dict(sorted(out.items()))
