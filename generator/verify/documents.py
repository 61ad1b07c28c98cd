"""JSON and YAML documents in the output: parameters files and `azure.yaml` against their
official schemas (bundled in `official/`), and files Bicep loads with `loadJsonContent`.

Schema errors point at the offending value: positions come from `generator.load`, the same
YAML reader that places spec findings (JSON is YAML), and are computed only when needed.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from functools import cache
from pathlib import Path
from typing import Any

from jsonschema import Draft4Validator, ValidationError
from jsonschema.exceptions import best_match
from jsonschema.validators import validator_for
from referencing import Registry
from referencing.jsonschema import DRAFT4, DRAFT201909

from generator.errors import SpecInvalid
from generator.findings import Finding, Rule, json_path
from generator.load import LoadedSpec, load_text
from generator.verify import rules

OFFICIAL = Path(__file__).resolve().parent / "official"
PARAMETERS_SCHEMA = "arm-deploymentParameters.2019-04-01.schema.json"
TEMPLATE_DEFINITIONS = "arm-deploymentTemplate.2019-04-01.definitions.json"
AZD_SCHEMA = "azd-azure.yaml.v1.0.schema.json"

#: Longest message taken from a schema error; instance reprs can be huge.
MAX_MESSAGE = 200


def _official(name: str) -> dict[str, Any]:
    document: dict[str, Any] = json.loads((OFFICIAL / name).read_text(encoding="utf-8"))
    return document


@cache
def parameters_validator() -> Draft4Validator:
    """The ARM deploymentParameters schema with the template definitions it references."""
    registry: Registry[Any] = Registry()
    for name in (PARAMETERS_SCHEMA, TEMPLATE_DEFINITIONS):
        document = _official(name)
        registry = registry.with_resource(
            document["id"].rstrip("#"), DRAFT4.create_resource(document)
        )
    return Draft4Validator(_official(PARAMETERS_SCHEMA), registry=registry)


def _remote_refs(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith(("http://", "https://")):
            yield ref.split("#", 1)[0]
        for value in node.values():
            yield from _remote_refs(value)
    elif isinstance(node, list):
        for item in node:
            yield from _remote_refs(item)


@cache
def azd_validator() -> Any:
    """The azd schema. The extension schemas it links by URL are never fetched: each stands in
    as an empty schema, so those sections are accepted unchecked (offline, deterministic)."""
    schema = _official(AZD_SCHEMA)
    registry: Registry[Any] = Registry()
    for uri in sorted(set(_remote_refs(schema)) - {schema["$id"]}):
        registry = registry.with_resource(uri, DRAFT201909.create_resource({}))
    return validator_for(schema)(schema, registry=registry)


def json_findings(path: str, text: str, rule: Rule) -> tuple[Any, list[Finding]]:
    """Parse JSON; on a syntax error, one finding at the exact place."""
    try:
        return json.loads(text), []
    except json.JSONDecodeError as error:
        return None, [rule.at(path, error.lineno, error.colno, f"invalid JSON: {error.msg}")]


def parameters_findings(path: str, text: str) -> list[Finding]:
    document, findings = json_findings(path, text, rules.PARAMETERS_SCHEMA)
    if findings:
        return findings
    errors = list(parameters_validator().iter_errors(document))
    return _placed(path, text, errors, rules.PARAMETERS_SCHEMA, "the ARM parameters schema")


def azure_yaml_findings(path: str, text: str) -> list[Finding]:
    try:
        loaded = load_text(text, path)
    except SpecInvalid as invalid:
        return [rules.AZD_SCHEMA.at(path, f.line, f.column, f.message) for f in invalid.findings]
    errors = list(azd_validator().iter_errors(loaded.data))
    return _placed(path, text, errors, rules.AZD_SCHEMA, "the azd azure.yaml schema", loaded)


def _placed(
    path: str,
    text: str,
    errors: Iterable[ValidationError],
    rule: Rule,
    schema_name: str,
    loaded: LoadedSpec | None = None,
) -> list[Finding]:
    errors = sorted(errors, key=lambda e: (list(map(str, e.absolute_path)), e.message))
    if not errors:
        return []
    if loaded is None:
        try:
            loaded = load_text(text, path)
        except SpecInvalid:
            loaded = LoadedSpec(path, None)
    findings = []
    for error in errors:
        where = tuple(error.absolute_path)
        mark = loaded.mark_of(where)
        field = json_path(where)
        if error.validator in ("oneOf", "anyOf") and error.context:
            # "{...} is not valid under any of the given schemas" says nothing; say what the
            # closest alternative misses ("'value' is a required property").
            error = best_match(error.context)
        message = _shorten(error.message)
        findings.append(
            rule.at(path, mark.line, mark.column, f"{field}: {message} ({schema_name})")
        )
    return list(dict.fromkeys(findings))  # a schema can report one problem twice


def _shorten(message: str) -> str:
    return message if len(message) <= MAX_MESSAGE else message[: MAX_MESSAGE - 1] + "…"


def loaded_json_findings(path: str, text: str) -> Iterator[Finding]:
    """A file read by `loadJsonContent` must be JSON, or the Bicep build fails."""
    _, findings = json_findings(path, text, rules.LOADED_JSON)
    yield from findings
