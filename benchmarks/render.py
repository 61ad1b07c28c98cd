"""Render benchmark: how long the whole pipeline takes for the lab spec and for N consumers,
against the floor of rendering the same templates with bare Jinja2.

    python benchmarks/render.py [--repeat 5] [--sizes 10,100,1000]

Prints a table; numbers, not pass/fail. Specs are generated in memory (every 10th consumer has
its own budget). Sizes past a template limit are reported as refused, with the rule id.
"""

from __future__ import annotations

import argparse
import statistics
import time
import tracemalloc
from collections.abc import Callable
from typing import Any

import jinja2
import yaml

from generator import model
from generator.errors import SpecInvalid
from generator.load import load_text
from generator.pipeline import compile_spec
from generator.render import environment, plan, render
from generator.resources import lab_spec_path

#: Budgets of the few consumers with their own limits (beyond 100 they become generated tiers).
OWN_BUDGETS = (2_000, 4_000, 8_000, 16_000, 32_000)


def spec_text(consumers: int | None) -> str:
    """The lab spec, or a platform-scale one: consumers spread over three tiers (products), every
    50th with its own budget from a handful of values."""
    data: dict[str, Any] = yaml.safe_load(lab_spec_path().read_text(encoding="utf-8"))
    if consumers is None:
        return yaml.safe_dump(data, sort_keys=False)
    data["apim"]["sku"] = "PremiumV2"
    data["openai"][0]["deployments"][0]["capacity"] = 30_000
    data["products"] = [
        {"name": "bronze", "tokensPerMinute": 1_000, "quota": 1_000_000, "quotaPeriod": "Monthly"},
        {"name": "silver", "tokensPerMinute": 5_000, "quota": 5_000_000, "quotaPeriod": "Monthly"},
        {"name": "gold", "tokensPerMinute": 20_000},
    ]
    tiers = ["bronze", "silver", "gold"]
    data["consumers"] = [
        {"name": f"app-{i:05d}", "tokensPerMinute": OWN_BUDGETS[(i // 50) % len(OWN_BUDGETS)]}
        if i % 50 == 0
        else {"name": f"app-{i:05d}", "product": tiers[i % 3]}
        for i in range(consumers)
    ]
    return yaml.safe_dump(data, sort_keys=False)


def timed(action: Callable[[], object], repeat: int) -> float:
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        action()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def bare_jinja_floor(text: str, repeat: int) -> float:
    """The same template jobs through a plain Environment: no validation, model or checks."""
    gateway = model.build(yaml.safe_load(text), source="bench.yaml")
    jobs, _ = plan(gateway)
    ours = environment()
    bare = jinja2.Environment(
        loader=ours.loader,
        trim_blocks=True,
        lstrip_blocks=True,
        autoescape=jinja2.select_autoescape(["xml.j2"]),
    )
    bare.filters.update(ours.filters)
    bare.globals.update(ours.globals)
    compiled = [(bare.get_template(job.template), job.context) for job in jobs]

    def run() -> None:
        for template, context in compiled:
            template.render(**context)

    return timed(run, repeat)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--sizes", default="10,100,1000")
    args = parser.parse_args()
    cases: list[tuple[str, int | None]] = [("lab", None)]
    cases += [(f"{n} consumers", int(n)) for n in args.sizes.split(",")]

    print(
        f"{'spec':<16} {'pipeline ms':>12} {'render ms':>10} {'bare jinja ms':>14} "
        f"{'peak MiB':>9} {'bytes out':>10}  result"
    )
    for label, consumers in cases:
        text = spec_text(consumers)
        outcome = "ok"
        size = 0

        def pipeline(text: str = text) -> None:
            nonlocal outcome, size
            try:
                files = compile_spec(load_text(text, "bench.yaml")).files
                size = sum(f.size for f in files.values())
            except SpecInvalid as refused:
                outcome = "refused " + ",".join(sorted({f.rule_id for f in refused.findings}))

        pipeline_s = timed(pipeline, args.repeat)
        gateway = model.build(yaml.safe_load(text), source="bench.yaml")
        render_s = timed(lambda gateway=gateway: render(gateway), args.repeat)
        floor_s = bare_jinja_floor(text, args.repeat)
        tracemalloc.start()
        pipeline()
        peak = tracemalloc.get_traced_memory()[1] / 2**20
        tracemalloc.stop()
        print(
            f"{label:<16} {pipeline_s * 1e3:>12.1f} {render_s * 1e3:>10.1f} "
            f"{floor_s * 1e3:>14.1f} {peak:>9.1f} {size:>10,}  {outcome}"
        )


if __name__ == "__main__":
    main()
