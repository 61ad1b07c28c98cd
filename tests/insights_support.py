"""Helpers for the insights tests: spec variants, and Bicep read back as data (real grammar)."""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from typing import Any

import tree_sitter
import yaml
from support import FIXTURES, nodes_of_type, parse_bicep

from generator.load import load_text
from generator.pipeline import Compiled, compile_spec

INSIGHTS_SPEC = FIXTURES / "specs" / "good" / "insights.yaml"


@cache
def _fixture_data() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(INSIGHTS_SPEC.read_text(encoding="utf-8"))
    return data


def insights_variant(change: Callable[[dict[str, Any]], None] | None = None) -> Compiled:
    """The insights fixture, changed in memory by `change`, compiled like a spec file."""
    data = copy.deepcopy(_fixture_data())
    if change is not None:
        change(data)
    return compile_spec(load_text(yaml.safe_dump(data, sort_keys=False), "insights.yaml"))


@dataclass(frozen=True)
class Expression:
    """A Bicep expression kept as source text (an identifier, a call, a member access)."""

    text: str


_ESCAPES = {"n": "\n", "r": "\r", "t": "\t", "\\": "\\", "'": "'", "$": "$"}


def _escape(text: str) -> str:
    body = text[1:]
    if body.startswith("u{"):
        return chr(int(body[2:-1], 16))
    return _ESCAPES[body]


def _name(node: tree_sitter.Node) -> str:
    """The declared name of a resource, module, parameter or variable declaration."""
    return (next(c for c in node.children if c.type == "identifier").text or b"").decode()


def value(node: tree_sitter.Node) -> Any:
    """A Bicep literal as Python data. A string with interpolations becomes a list of its
    parts (text, or the Expression inside `${...}`); anything else computed is an Expression."""
    text = (node.text or b"").decode()
    if node.type == "object":
        return {
            (prop.children[0].text or b"").decode().strip("'"): value(prop.children[2])
            for prop in node.children
            if prop.type == "object_property"
        }
    if node.type == "array":
        return [value(c) for c in node.children if c.type not in ("[", "]", "comment")]
    if node.type == "number":
        return int(text)
    if node.type == "boolean":
        return text == "true"
    if node.type == "string":
        if text.startswith("'''"):
            return text[3:-3]
        parts: list[Any] = []
        for child in node.children:
            piece = (child.text or b"").decode()
            if child.type == "string_content":
                parts.append(piece)
            elif child.type == "escape_sequence":
                parts.append(_escape(piece))
            elif child.type == "interpolation":
                parts.append(Expression(piece[2:-1]))
        merged: list[Any] = []
        for part in parts:
            if merged and isinstance(part, str) and isinstance(merged[-1], str):
                merged[-1] += part
            else:
                merged.append(part)
        if all(isinstance(p, str) for p in merged):
            return "".join(merged)
        return merged
    return Expression(text)


@dataclass(frozen=True)
class Resource:
    symbol: str
    type: str
    api_version: str
    body: dict[str, Any]


def resources(bicep: str) -> dict[str, Resource]:
    """Every resource declaration of a Bicep file, by symbolic name."""
    found = {}
    for node in nodes_of_type(parse_bicep(bicep), "resource_declaration"):
        symbol = _name(node)
        type_and_version = value(next(c for c in node.children if c.type == "string"))
        resource_type, version = type_and_version.split("@")
        body = next(c for c in node.children if c.type == "object")
        found[symbol] = Resource(symbol, resource_type, version, value(body))
    return found


def variables(bicep: str) -> dict[str, Any]:
    return {
        _name(node): value(node.children[-1])
        for node in nodes_of_type(parse_bicep(bicep), "variable_declaration")
    }


def parameters(bicep: str) -> list[str]:
    return [_name(node) for node in nodes_of_type(parse_bicep(bicep), "parameter_declaration")]


def module_arguments(bicep: str, symbol: str) -> dict[str, Any] | None:
    """The `params` a Bicep file passes to the module declared as `symbol`; None if absent."""
    for node in nodes_of_type(parse_bicep(bicep), "module_declaration"):
        if _name(node) == symbol:
            body = value(next(c for c in node.children if c.type == "object"))
            arguments: dict[str, Any] = body.get("params", {})
            return arguments
    return None
