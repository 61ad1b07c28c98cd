"""ARM limits per template (resources, parameters, outputs, size) and Bicep's load limits: the one
implementation, on the real Bicep grammar, that `render` (before writing, loop lengths from the
model: `generator.limits`) and `verify` (on any folder, loop lengths read from it) share.

A rendered folder has no spec, so `verify` reads the number of items each `for` loop iterates
over from the folder itself: array values in the parameters file, arrays in the JSON files
modules load, and arrays passed on from module to module. A loop whose source cannot be traced
counts once there; `render` knows every length, and a loop it does not know is a finding.

The compiled ARM JSON is not available without a Bicep compiler, so its size is estimated from
the Bicep text (x2 for JSON's verbosity) plus every file it loads, JSON-escaped, plus the
modules it calls (Bicep inlines each module's template into the caller's compiled JSON).
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import tree_sitter

from generator import azure
from generator.findings import Finding
from generator.verify import rules
from generator.verify.bicep import BicepFile, Loop, string_value
from generator.verify.paths import kind, resolve

#: Bicep's limit on the text `loadTextContent` may read.
MAX_LOAD_TEXT_CHARS = 131_072

#: Characters each Bicep load function reads at most (Bicep file functions reference).
LOAD_LIMITS = {"loadTextContent": MAX_LOAD_TEXT_CHARS, "loadJsonContent": 1_048_576}


@dataclass(frozen=True)
class TemplateLimit:
    """One ARM per-template limit: the `Footprint` field it bounds and how a message names it."""

    attribute: str
    ceiling: int
    noun: str


#: ARM template limits (Learn: "ARM template limits"), checked the same way by render and verify.
TEMPLATE_LIMITS = (
    TemplateLimit("resources", azure.MAX_TEMPLATE_RESOURCES, "resources"),
    TemplateLimit("parameters", azure.MAX_TEMPLATE_PARAMETERS, "parameters"),
    TemplateLimit("outputs", azure.MAX_TEMPLATE_OUTPUTS, "outputs"),
    TemplateLimit("estimated_bytes", azure.MAX_TEMPLATE_BYTES, "bytes of ARM JSON (estimated)"),
)

_VERIFY_RULES = {
    "resources": rules.TEMPLATE_RESOURCES,
    "parameters": rules.TEMPLATE_PARAMETERS,
    "outputs": rules.TEMPLATE_OUTPUTS,
    "estimated_bytes": rules.TEMPLATE_SIZE,
}


@dataclass(frozen=True)
class Footprint:
    """What one template costs against ARM's per-template limits."""

    resources: int
    parameters: int
    outputs: int
    estimated_bytes: int


@dataclass(frozen=True)
class Excess:
    """A template over one of `TEMPLATE_LIMITS`."""

    path: str
    limit: TemplateLimit
    value: int


@dataclass(frozen=True)
class LoadExcess:
    """A file a Bicep load function reads that is longer than the function allows."""

    loader: str
    line: int
    column: int
    function: str
    target: str
    length: int
    ceiling: int


def loops(parsed: Mapping[str, BicepFile]) -> list[Loop]:
    """Every declaration loop of every template, in file order."""
    return [loop for path in sorted(parsed) for loop in parsed[path].deployed if loop is not None]


def footprints(
    files: Mapping[str, str], parsed: Mapping[str, BicepFile], lengths: Mapping[str, int]
) -> dict[str, Footprint]:
    """Each template's footprint; a loop over an array `lengths` does not name counts once."""
    own: dict[str, Footprint] = {}
    for path, bicep in parsed.items():
        resources = sum(
            1 if loop is None else lengths.get(loop.source, 1) for loop in bicep.deployed
        )
        loaded = sum(
            len(json.dumps(files[reference.target]))
            for reference in bicep.references
            if reference.function in LOAD_LIMITS and reference.target in files
        )
        own[path] = Footprint(
            resources=resources,
            parameters=len(bicep.parameters),
            outputs=bicep.outputs,
            estimated_bytes=2 * len(bicep.source) + loaded,
        )

    def total_bytes(path: str, seen: frozenset[str]) -> int:
        size = own[path].estimated_bytes
        called = {r.target for r in parsed[path].references if r.function == "module"}
        for module in sorted(called - seen):
            if module in own:
                size += total_bytes(module, seen | {path})
        return size

    return {
        path: Footprint(fp.resources, fp.parameters, fp.outputs, total_bytes(path, frozenset()))
        for path, fp in own.items()
    }


def policy_bytes_over_limit(text: str) -> int | None:
    """The policy document's size in bytes when APIM would refuse it (over 256 KiB), else None:
    render's TG120 and verify's TG218."""
    size = len(text.encode("utf-8"))
    return size if size > azure.MAX_POLICY_BYTES else None


def excesses(prints: Mapping[str, Footprint]) -> Iterator[Excess]:
    """Every template limit each footprint exceeds, by path then limit."""
    for path, fp in sorted(prints.items()):
        for limit in TEMPLATE_LIMITS:
            value = getattr(fp, limit.attribute)
            if value > limit.ceiling:
                yield Excess(path, limit, value)


def load_excesses(
    files: Mapping[str, str], parsed: Mapping[str, BicepFile]
) -> Iterator[LoadExcess]:
    """Every `loadTextContent`/`loadJsonContent` call whose file is longer than it reads."""
    for path in sorted(parsed):
        for reference in parsed[path].references:
            ceiling = LOAD_LIMITS.get(reference.function)
            text = files.get(reference.target)
            if ceiling is not None and text is not None and len(text) > ceiling:
                yield LoadExcess(
                    path,
                    reference.line,
                    reference.column,
                    reference.function,
                    reference.target,
                    len(text),
                    ceiling,
                )


def loop_lengths(files: Mapping[str, str], parsed: Mapping[str, BicepFile]) -> dict[str, int]:
    """Longest array seen in the folder under each name a `for` loop can iterate over."""
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


def limit_findings(files: Mapping[str, str], parsed: Mapping[str, BicepFile]) -> Iterator[Finding]:
    """`verify`'s findings: each on the template (or load call) over the limit."""
    prints = footprints(files, parsed, loop_lengths(files, parsed))
    for excess in excesses(prints):
        limit = excess.limit
        yield _VERIFY_RULES[limit.attribute].at(
            excess.path,
            1,
            1,
            f"{excess.value:,} {limit.noun}; ARM allows {limit.ceiling:,} per template",
        )
    for load in load_excesses(files, parsed):
        yield rules.LOAD_SIZE.at(
            load.loader,
            load.line,
            load.column,
            f"{load.target} has {load.length:,} characters; {load.function} reads at most "
            f"{load.ceiling:,}",
        )
