"""Resource bodies against the official ARM provider schemas (`verify --schemas DIR`).

A Bicep resource body becomes the JSON ARM would receive: literals stay literals, anything
computed (identifiers, interpolated strings, function calls) becomes an ARM expression string,
which every provider schema accepts in place of a literal. Two readings of the schemas, as
their README advises: `oneOf` is read as `anyOf` (a literal and an expression can both
match), and objects stay open (the schemas never close them) for the value checks (TG241).

A second pass closes every object that lists its properties, to find property names the
provider schema does not know (TG242): a typo there is silently ignored by ARM, or rejected
only at deploy time. A deliberate exception carries `#disable-next-line BCP037` on the line
before the property, as Bicep itself asks for.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import tree_sitter
from jsonschema import Draft4Validator, ValidationError
from jsonschema.exceptions import best_match
from referencing import Registry
from referencing.jsonschema import DRAFT4

from generator.errors import TokengateError
from generator.findings import Finding, Severity
from generator.verify import rules
from generator.verify.bicep import BicepFile, Resource, object_properties, string_value

#: What a computed value looks like to the schemas: it matches their `expression` pattern.
EXPRESSION = "[expression]"
#: The `expression` pattern of the ARM common definitions.
EXPRESSION_PATTERN = r"^\[([^\[].*)?\]$"
#: Bicep-only properties, compiled away (into `name` and the deployment's scope).
BICEP_ONLY = frozenset({"parent", "scope"})
#: Template-level properties of every resource, defined by the template schema, not the provider.
ENVELOPE = frozenset({"dependsOn", "condition", "copy", "comments"})
#: The Bicep comment that marks a property the type definition does not know, on purpose.
UNKNOWN_PROPERTY_EXCEPTION = "#disable-next-line BCP037"

Path_ = tuple[str | int, ...]


def _any_of(node: Any) -> Any:
    if isinstance(node, dict):
        return {("anyOf" if k == "oneOf" else k): _any_of(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_any_of(item) for item in node]
    return node


def _closed(node: Any) -> Any:
    """Every object schema that lists its properties (and nothing else) rejects other names."""
    if isinstance(node, list):
        return [_closed(item) for item in node]
    if not isinstance(node, dict):
        return node
    result = {k: _closed(v) for k, v in node.items()}
    open_ended = {"additionalProperties", "patternProperties", "allOf"} & set(node)
    if isinstance(node.get("properties"), dict) and not open_ended:
        result["additionalProperties"] = False
    return result


class ProviderSchemas:
    """Every schema under `<DIR>/arm/schemas`, registered under its id, `oneOf` as `anyOf`."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        registry: Registry[Any] = Registry()
        closed: Registry[Any] = Registry()
        #: (lower-case type, API version) → reference to its resource definition
        self.definitions: dict[tuple[str, str], str] = {}
        for path in sorted(folder.rglob("*.json")):
            try:
                document = _any_of(json.loads(path.read_text(encoding="utf-8-sig")))
            except (OSError, ValueError) as error:
                raise TokengateError(f"{path}: not a JSON schema: {error}") from None
            uri = str(document.get("id", "")).rstrip("#")
            if not uri:
                continue
            registry = registry.with_resource(uri, DRAFT4.create_resource(document))
            closed = closed.with_resource(uri, DRAFT4.create_resource(_closed(document)))
            self._index(uri, path.parent.name, document)
        self.registry = registry.crawl()
        self.closed_registry = (
            closed  # not crawled: its `additionalProperties: false` are no subschemas
        )

    def _index(self, uri: str, api_version: str, document: dict[str, Any]) -> None:
        # Resource-group scope first: the scope tokengate deploys at.
        groups = sorted(
            (key for key in document if key.endswith("resourceDefinitions")),
            key=lambda key: key != "resourceDefinitions",
        )
        for group in groups:
            for name, definition in document[group].items():
                types = definition.get("properties", {}).get("type", {}).get("enum", [])
                for resource_type in types:
                    key = (str(resource_type).lower(), api_version)
                    self.definitions.setdefault(key, f"{uri}#/{group}/{name}")

    def findings(self, bicep: BicepFile) -> Iterator[Finding]:
        for resource in bicep.resources:
            if resource.existing or resource.body is None:
                continue
            reference = self.definitions.get((resource.type.lower(), resource.api_version))
            if reference is None:
                yield rules.PROVIDER_SCHEMA.at(
                    bicep.path,
                    resource.line,
                    resource.column,
                    f"no provider schema for {resource.type}@{resource.api_version} under "
                    f"{self.folder}; its body is not checked",
                    severity=Severity.WARNING,
                )
                continue
            places: dict[Path_, tree_sitter.Node] = {}
            body = arm_body(resource, places)
            yield from self._unknown_properties(bicep, resource, reference, body, places)
            validator = Draft4Validator({"$ref": reference}, registry=self.registry)
            for error in validator.iter_errors(body):
                detail = explain(error)
                where = tuple(detail.absolute_path)
                node = _nearest(places, where) or resource.body
                line, column = bicep.position(node)
                field = ".".join(str(p) for p in where) or "(resource)"
                yield rules.PROVIDER_SCHEMA.at(
                    bicep.path,
                    line,
                    column,
                    f"{resource.type}@{resource.api_version} {field}: {_short(detail.message)}",
                )

    def _unknown_properties(
        self,
        bicep: BicepFile,
        resource: Resource,
        reference: str,
        body: dict[str, Any],
        places: dict[Path_, tree_sitter.Node],
    ) -> Iterator[Finding]:
        envelope = {k: v for k, v in body.items() if k not in ENVELOPE}
        validator = Draft4Validator({"$ref": reference}, registry=self.closed_registry)
        lines = bicep.source.decode("utf-8").splitlines()
        for error in validator.iter_errors(envelope):
            detail = explain(error)
            if detail.validator != "additionalProperties":
                continue  # a value problem: the open pass reports it
            where = tuple(detail.absolute_path)
            known = set(detail.schema.get("properties", {}))
            for name in sorted(set(detail.instance) - known):
                node = places.get((*where, name)) or _nearest(places, where) or resource.body
                assert node is not None
                line, column = bicep.position(node)
                if line >= 2 and lines[line - 2].strip() == UNKNOWN_PROPERTY_EXCEPTION:
                    continue
                field = ".".join(str(p) for p in (*where, name))
                yield rules.PROVIDER_PROPERTIES.at(
                    bicep.path,
                    line,
                    column,
                    f"{resource.type}@{resource.api_version} does not know the property "
                    f"{field} (a deliberate one needs '{UNKNOWN_PROPERTY_EXCEPTION}' above it)",
                )


def explain(error: ValidationError) -> ValidationError:
    """The error inside an `anyOf` that concerns the literal, not the expression alternative:
    "'Bogus' is not one of [...]" rather than "is not valid under any of the given schemas"."""
    error = best_match([error])
    while error.validator == "anyOf" and error.context:
        literal = [e for e in error.context if e.schema.get("pattern") != EXPRESSION_PATTERN]
        if not literal:
            break
        error = best_match(literal)
    return error


def _nearest(places: dict[Path_, tree_sitter.Node], where: Path_) -> tree_sitter.Node | None:
    probe = where
    while probe not in places and probe:
        probe = probe[:-1]
    return places.get(probe)


def _short(message: str, limit: int = 200) -> str:
    return message if len(message) <= limit else message[: limit - 1] + "…"


def arm_body(resource: Resource, places: dict[Path_, tree_sitter.Node]) -> dict[str, Any]:
    """The resource as ARM JSON would carry it, remembering each value's node for positions."""
    assert resource.body is not None
    value = to_value(resource.body, (), places)
    body: dict[str, Any] = {k: v for k, v in value.items() if k not in BICEP_ONLY}
    if "parent" in value:
        body["name"] = EXPRESSION  # ARM's name is "<parent name>/<name>", computed
    body["type"] = resource.type
    body["apiVersion"] = resource.api_version
    return body


def to_value(node: tree_sitter.Node, path: Path_, places: dict[Path_, tree_sitter.Node]) -> Any:
    """A Bicep expression as JSON: literals as themselves, everything computed as EXPRESSION."""
    places[path] = node
    kind = node.type
    if kind == "object":
        return {key: to_value(v, (*path, key), places) for key, v in object_properties(node)}
    if kind == "array":
        items = [c for c in node.children if c.is_named and c.type != "comment"]
        return [to_value(item, (*path, i), places) for i, item in enumerate(items)]
    if kind == "for_statement":  # [for x in xs: item] → an array of items shaped like `item`
        return [to_value(node.children[-2], (*path, 0), places)]
    text = (node.text or b"").decode("utf-8")
    if kind == "string":
        literal = string_value(node)
        return EXPRESSION if literal is None else literal
    if kind == "number":
        return int(text) if text.lstrip("-").isdigit() else float(text)
    if kind == "boolean":
        return text == "true"
    if kind == "null":
        return None
    return EXPRESSION
