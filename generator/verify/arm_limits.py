"""ARM limits per template (resources, parameters, outputs, size) and Bicep's load limits.

The counting is `generator.limits.footprint`, the same function `render` uses on the spec. A
rendered folder has no spec, so the number of items each `for` loop iterates over is read from
the folder itself: array values in the parameters file, arrays in the JSON files modules load,
and arrays passed on from module to module. A loop whose source cannot be traced counts once.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterator, Mapping
from typing import Any

import tree_sitter

from generator import azure
from generator.findings import Finding
from generator.limits import MAX_LOAD_TEXT_CHARS, Footprint, footprints_for
from generator.render import RenderedFile
from generator.verify.bicep import BicepFile, string_value
from generator.verify.paths import kind, resolve

#: Characters each Bicep load function reads at most (Bicep file functions reference).
LOAD_LIMITS = {"loadTextContent": MAX_LOAD_TEXT_CHARS, "loadJsonContent": 1_048_576}

_CHECKS = (
    ("resources", azure.MAX_TEMPLATE_RESOURCES, "TG230", "resources"),
    ("parameters", azure.MAX_TEMPLATE_PARAMETERS, "TG231", "parameters"),
    ("outputs", azure.MAX_TEMPLATE_OUTPUTS, "TG232", "outputs"),
    ("estimated_bytes", azure.MAX_TEMPLATE_BYTES, "TG233", "bytes of ARM JSON (estimated)"),
)


def loop_lengths(files: Mapping[str, str], parsed: Mapping[str, BicepFile]) -> dict[str, int]:
    """Longest array seen under each name a `for` loop can iterate over."""
    lengths: dict[str, int] = {}
    aliases: list[tuple[str, str]] = []

    def note(name: str, value: Any) -> None:
        if isinstance(value, list):
            lengths[name] = max(lengths.get(name, 0), len(value))
            for item in value:
                if isinstance(item, dict):
                    for key, nested in item.items():
                        note(key, nested)

    for path, text in files.items():
        if kind(path) == "parameters":
            for name, parameter in _parameters(text).items():
                if isinstance(parameter, dict):
                    note(name, parameter.get("value"))
    for bicep in parsed.values():
        for name, value in bicep.module_arguments:
            source = _loop_source(value)
            if source is not None:
                aliases.append((name, source))
            elif loaded := _loaded_json(bicep, value, files):
                note(name, loaded)
    for _ in range(len(aliases)):  # follow chains of arrays passed from module to module
        for name, source in aliases:
            if source in lengths:
                lengths[name] = max(lengths.get(name, 0), lengths[source])
    return lengths


def _parameters(text: str) -> dict[str, Any]:
    try:
        document = json.loads(text)
    except json.JSONDecodeError:
        return {}
    parameters = document.get("parameters") if isinstance(document, dict) else None
    return parameters if isinstance(parameters, dict) else {}


def _loop_source(value: tree_sitter.Node) -> str | None:
    """`[for x in items: ...]` or a plain identifier → the array's name."""
    if value.type == "identifier" and value.text is not None:
        return value.text.decode()
    if value.type == "for_statement":
        children = value.children
        for i, child in enumerate(children):
            if child.type == "in" and i + 1 < len(children):
                source = children[i + 1]
                return source.text.decode() if source.text else None
    return None


def _loaded_json(bicep: BicepFile, value: tree_sitter.Node, files: Mapping[str, str]) -> Any:
    if value.type != "call_expression" or value.children[0].text != b"loadJsonContent":
        return None
    arguments = next((c for c in value.children if c.type == "arguments"), None)
    strings = [c for c in arguments.children if c.type == "string"] if arguments else []
    written = string_value(strings[0]) if strings else None
    target = resolve(bicep.path, written) if written else None
    if target is None or target not in files:
        return None
    try:
        return json.loads(files[target])
    except json.JSONDecodeError:
        return None


def footprints(files: Mapping[str, str], parsed: Mapping[str, BicepFile]) -> dict[str, Footprint]:
    """Each template's footprint, loop sizes read back from the folder (see the module doc)."""
    loops: defaultdict[str, int] = defaultdict(lambda: 1, loop_lengths(files, parsed))
    rendered = {path: RenderedFile(path, text) for path, text in files.items()}
    return footprints_for(rendered, loops)


def limit_findings(files: Mapping[str, str], parsed: Mapping[str, BicepFile]) -> Iterator[Finding]:
    for path, fp in sorted(footprints(files, parsed).items()):
        for attribute, limit, rule_id, noun in _CHECKS:
            value = getattr(fp, attribute)
            if value > limit:
                yield Finding(
                    path, 1, 1, rule_id, f"{value:,} {noun}; ARM allows {limit:,} per template"
                )
    for bicep in parsed.values():
        for reference in bicep.references:
            ceiling = LOAD_LIMITS.get(reference.function)
            text = files.get(reference.target)
            if ceiling is not None and text is not None and len(text) > ceiling:
                yield Finding(
                    bicep.path,
                    reference.line,
                    reference.column,
                    "TG234",
                    f"{reference.target} has {len(text):,} characters; {reference.function} "
                    f"reads at most {ceiling:,}",
                )
