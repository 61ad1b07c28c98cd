"""Service limits checked on the rendered output, before anything is written or deployed.

ARM: 800 resources (copy loops expanded), 256 parameters, 64 outputs, 4 MB per template.
APIM: 256 KiB per policy document. Bicep: `loadTextContent` reads at most 131,072 characters.
The compiled ARM JSON is not available without a Bicep compiler, so its size is estimated
from the Bicep text (x2 for JSON's verbosity) plus every file it loads, JSON-escaped.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass

from generator import azure
from generator.findings import Finding
from generator.load import LoadedSpec, PathKey
from generator.model import Gateway
from generator.render import RenderedFile, subscription_batches

#: Bicep's limit on the text `loadTextContent` may read.
MAX_LOAD_TEXT_CHARS = 131_072

_DECLARATION = re.compile(
    r"^(resource|module)\s+\w+\s+'[^']*'\s*(existing\s*)?=\s*(\[for\s+(.*?)\s+in\s+(\w+))?", re.M
)
_PARAM = re.compile(r"^param\s", re.M)
_OUTPUT = re.compile(r"^output\s", re.M)
_LOAD = re.compile(r"load(?:Text|Json)Content\('([^']+)'\)")
_MODULE = re.compile(r"^module\s+\w+\s+'([^']+)'", re.M)


@dataclass(frozen=True)
class Footprint:
    """What one template costs against ARM's per-template limits."""

    resources: int
    parameters: int
    outputs: int
    estimated_bytes: int


def loop_lengths(gateway: Gateway) -> dict[str, int]:
    """How many items each array the templates loop over has (the largest, for module arrays)."""
    return {
        "openAIAccounts": len(gateway.accounts),
        "backends": len(gateway.accounts),
        "deployments": max(len(a.deployments) for a in gateway.accounts),
        "subscriptions": max((len(group) for _, group in subscription_batches(gateway)), default=0),
    }


def footprint(
    path: str, text: str, files: Mapping[str, RenderedFile], loops: Mapping[str, int]
) -> Footprint:
    resources = 0
    for match in _DECLARATION.finditer(text):
        if match.group(2):  # `existing` declares no resource
            continue
        source = match.group(5)
        resources += loops[source] if source else 1
    loaded = 0
    folder = path.rsplit("/", 1)[0] if "/" in path else ""
    for relative in _LOAD.findall(text):
        target = _normalize(f"{folder}/{relative}" if folder else relative)
        if target in files:
            loaded += len(json.dumps(files[target].content))
    return Footprint(
        resources=resources,
        parameters=len(_PARAM.findall(text)),
        outputs=len(_OUTPUT.findall(text)),
        estimated_bytes=2 * len(text.encode("utf-8")) + loaded,
    )


def _normalize(path: str) -> str:
    parts: list[str] = []
    for part in path.split("/"):
        if part == "..":
            if parts:
                parts.pop()
        elif part not in ("", "."):
            parts.append(part)
    return "/".join(parts)


def footprints(gateway: Gateway, files: Mapping[str, RenderedFile]) -> dict[str, Footprint]:
    """Footprint of every Bicep file rendered for `gateway` (loop sizes from the model)."""
    return footprints_for(files, loop_lengths(gateway))


def footprints_for(
    files: Mapping[str, RenderedFile], loops: Mapping[str, int]
) -> dict[str, Footprint]:
    """Footprint of every Bicep file, given how long each looped-over array is. A template's
    size includes the modules it calls, since Bicep inlines each module's template into the
    caller's compiled JSON."""
    own = {
        path: footprint(path, f.content, files, loops)
        for path, f in files.items()
        if path.endswith(".bicep")
    }

    def total_bytes(path: str, seen: frozenset[str]) -> int:
        folder = path.rsplit("/", 1)[0] if "/" in path else ""
        size = own[path].estimated_bytes
        called = {
            _normalize(f"{folder}/{m}" if folder else m)
            for m in _MODULE.findall(files[path].content)
        }
        for module in sorted(called - seen):
            if module in own:
                size += total_bytes(module, seen | {path})
        return size

    return {
        path: Footprint(fp.resources, fp.parameters, fp.outputs, total_bytes(path, frozenset()))
        for path, fp in own.items()
    }


def sku_findings(spec: LoadedSpec, gateway: Gateway) -> list[Finding]:
    """APIM's per-instance entity limits of the chosen tier (generated tiers count as products)."""
    sku = gateway.apim.sku
    limits = azure.SKU_ENTITY_LIMITS[sku]
    counts = {"products": len(gateway.products), "subscriptions": len(gateway.consumers)}
    rule_ids = {"products": "TG130", "subscriptions": "TG131"}
    findings = []
    for entity, count in counts.items():
        limit = limits.get(entity)
        if limit is not None and count > limit:
            generated = sum(p.generated for p in gateway.products)
            note = f" ({generated} generated tiers)" if entity == "products" and generated else ""
            findings.append(
                spec.finding(
                    ("apim", "sku"),
                    rule_ids[entity],
                    f"{count:,} {entity}{note}: the {sku} tier allows at most {limit:,} per "
                    "instance; choose a larger tier or fewer",
                )
            )
    return findings


def limit_findings(
    spec: LoadedSpec, gateway: Gateway, files: Mapping[str, RenderedFile]
) -> list[Finding]:
    """Findings for every rendered file over a limit, placed on the spec field that drives it."""
    findings: list[Finding] = sku_findings(spec, gateway)
    consumers: PathKey = ("consumers",) if gateway.consumers else ()
    for path, f in files.items():
        if path.endswith(".xml"):
            if f.size > azure.MAX_POLICY_BYTES:
                findings.append(
                    spec.finding(
                        consumers,
                        "TG120",
                        f"{path} would be {f.size:,} bytes; APIM accepts policy documents up to "
                        f"{azure.MAX_POLICY_BYTES:,} bytes (256 KiB)",
                    )
                )
            elif len(f.content) > MAX_LOAD_TEXT_CHARS:
                findings.append(
                    spec.finding(
                        consumers,
                        "TG125",
                        f"{path} would be {len(f.content):,} characters; Bicep's loadTextContent "
                        f"reads at most {MAX_LOAD_TEXT_CHARS:,}",
                    )
                )
    checks = (
        ("resources", azure.MAX_TEMPLATE_RESOURCES, "TG121", "resources"),
        ("parameters", azure.MAX_TEMPLATE_PARAMETERS, "TG122", "parameters"),
        ("outputs", azure.MAX_TEMPLATE_OUTPUTS, "TG123", "outputs"),
        ("estimated_bytes", azure.MAX_TEMPLATE_BYTES, "TG124", "bytes of ARM JSON (estimated)"),
    )
    for path, fp in footprints(gateway, files).items():
        for attribute, limit, rule_id, noun in checks:
            value = getattr(fp, attribute)
            if value > limit:
                findings.append(
                    spec.finding(
                        consumers,
                        rule_id,
                        f"{path} would have {value:,} {noun}; ARM allows {limit:,} per template",
                    )
                )
    return findings
