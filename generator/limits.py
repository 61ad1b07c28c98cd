"""Service limits `render` checks before anything is written or deployed, reported on the spec.

Tier limits (products and subscriptions per APIM instance, TG130/TG131) are counted on the model,
before rendering: a spec over them is refused before any template is made. The limits of the
rendered files (ARM: 800 resources with loops expanded, 256 parameters, 64 outputs, 4 MB per
template; APIM: 256 KiB per policy document; Bicep: what `loadTextContent` reads) are counted by
`generator.verify.arm_limits` on the real Bicep grammar, the implementation `verify` uses too;
here each `for` loop's length comes from the model, and a loop the model does not know is a
finding (TG126), never a guess.
"""

from __future__ import annotations

from collections.abc import Mapping

from generator import azure
from generator.findings import Finding, Stage, define
from generator.load import LoadedSpec, PathKey
from generator.model import Gateway
from generator.render import RenderedFile, subscription_batches
from generator.verify.arm_limits import (
    MAX_LOAD_TEXT_CHARS,
    Footprint,
    excesses,
    load_excesses,
    loops,
    policy_bytes_over_limit,
)
from generator.verify.arm_limits import footprints as footprints_of
from generator.verify.bicep import BicepFile, parse

__all__ = ["MAX_LOAD_TEXT_CHARS", "Footprint", "footprints", "limit_findings", "tier_findings"]

POLICY_TOO_LARGE = define("TG120", "An APIM policy document is at most 256 KiB", Stage.LIMITS)
TOO_MANY_RESOURCES = define(
    "TG121", "An ARM template deploys at most 800 resources (loops counted expanded)", Stage.LIMITS
)
TOO_MANY_PARAMETERS = define("TG122", "An ARM template has at most 256 parameters", Stage.LIMITS)
TOO_MANY_OUTPUTS = define("TG123", "An ARM template has at most 64 outputs", Stage.LIMITS)
TEMPLATE_TOO_LARGE = define(
    "TG124", "An ARM template compiles to at most 4 MB (estimated)", Stage.LIMITS
)
LOAD_TOO_LONG = define(
    "TG125", "A file Bicep loads fits the load function (loadTextContent: 131,072)", Stage.LIMITS
)
UNKNOWN_LOOP = define(
    "TG126", "Every template loop iterates over an array whose length the model knows", Stage.LIMITS
)
TOO_MANY_PRODUCTS = define("TG130", "Products per APIM instance, by tier", Stage.TIER)
TOO_MANY_SUBSCRIPTIONS = define("TG131", "Subscriptions per APIM instance, by tier", Stage.TIER)

_TEMPLATE_RULES = {
    "resources": TOO_MANY_RESOURCES,
    "parameters": TOO_MANY_PARAMETERS,
    "outputs": TOO_MANY_OUTPUTS,
    "estimated_bytes": TEMPLATE_TOO_LARGE,
}


def loop_lengths(gateway: Gateway) -> dict[str, int]:
    """How many items each array the templates loop over has (the largest, for module arrays).
    A template loop over any other name is reported as TG126 by `limit_findings`."""
    return {
        "openAIAccounts": len(gateway.accounts),
        "backends": len(gateway.accounts),
        "deployments": max(len(a.deployments) for a in gateway.accounts),
        "subscriptions": max((len(group) for _, group in subscription_batches(gateway)), default=0),
    }


def footprints(gateway: Gateway, files: Mapping[str, RenderedFile]) -> dict[str, Footprint]:
    """Footprint of every Bicep file rendered for `gateway` (loop sizes from the model)."""
    texts = _texts(files)
    return footprints_of(texts, _parsed(texts), loop_lengths(gateway))


def tier_findings(spec: LoadedSpec, gateway: Gateway) -> list[Finding]:
    """APIM's per-instance entity limits of the chosen tier (generated tiers count as products).
    Counted on the model, so they are checked before anything is rendered."""
    sku = gateway.apim.sku
    limits = azure.SKU_ENTITY_LIMITS[sku]
    counts = (
        ("products", TOO_MANY_PRODUCTS, len(gateway.products)),
        ("subscriptions", TOO_MANY_SUBSCRIPTIONS, len(gateway.consumers)),
    )
    findings = []
    for entity, rule, count in counts:
        limit = limits.get(entity)
        if limit is not None and count > limit:
            generated = sum(p.generated for p in gateway.products)
            note = f" ({generated} generated tiers)" if entity == "products" and generated else ""
            findings.append(
                rule.finding(
                    spec,
                    ("apim", "sku"),
                    f"{count:,} {entity}{note}: the {sku} tier allows at most {limit:,} per "
                    "instance; choose a larger tier or fewer",
                )
            )
    return findings


def limit_findings(
    spec: LoadedSpec, gateway: Gateway, files: Mapping[str, RenderedFile]
) -> list[Finding]:
    """Findings for every rendered file over a limit, placed on the spec field that drives it."""
    consumers: PathKey = ("consumers",) if gateway.consumers else ()
    texts = _texts(files)
    parsed = _parsed(texts)
    lengths = loop_lengths(gateway)
    findings: list[Finding] = []
    too_large = set()
    for path, text in texts.items():
        size = policy_bytes_over_limit(text) if path.endswith(".xml") else None
        if size is not None:
            too_large.add(path)
            findings.append(
                POLICY_TOO_LARGE.finding(
                    spec,
                    consumers,
                    f"{path} would be {size:,} bytes; APIM accepts policy documents up to "
                    f"{azure.MAX_POLICY_BYTES:,} bytes (256 KiB)",
                )
            )
    loaded_too_long = {
        (load.target, load.function, load.length, load.ceiling)
        for load in load_excesses(texts, parsed)
        if load.target not in too_large
    }
    for target, function, length, ceiling in sorted(loaded_too_long):
        findings.append(
            LOAD_TOO_LONG.finding(
                spec,
                consumers,
                f"{target} would be {length:,} characters; Bicep's {function} reads at most "
                f"{ceiling:,}",
            )
        )
    for loop in loops(parsed):
        if loop.source not in lengths:
            known = ", ".join(sorted(lengths))
            findings.append(
                UNKNOWN_LOOP.finding(
                    spec,
                    (),
                    f"{loop.file}:{loop.line}:{loop.column} loops over '{loop.source}', an array "
                    f"whose length the model does not give (it gives {known}); the template "
                    "and generator.limits.loop_lengths disagree",
                )
            )
    for excess in excesses(footprints_of(texts, parsed, lengths)):
        limit = excess.limit
        findings.append(
            _TEMPLATE_RULES[limit.attribute].finding(
                spec,
                consumers,
                f"{excess.path} would have {excess.value:,} {limit.noun}; ARM allows "
                f"{limit.ceiling:,} per template",
            )
        )
    return findings


def _texts(files: Mapping[str, RenderedFile]) -> dict[str, str]:
    return {path: f.content for path, f in files.items()}


def _parsed(texts: Mapping[str, str]) -> dict[str, BicepFile]:
    return {path: parse(path, text) for path, text in texts.items() if path.endswith(".bicep")}
