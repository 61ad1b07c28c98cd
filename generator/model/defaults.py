"""Schema defaults, applied to the data before the model is built.

The JSON Schema's `default` keywords are the only place defaults are written: editors show them,
and this fills them in. An optional block with `"default": {}` (api, monitoring, ...) is created
when absent so its own defaults apply; blocks without one (tokenLimit, insights, ...) stay absent,
because their absence means something.
"""

from __future__ import annotations

import copy
from typing import Any

from generator.resources import spec_schema


def _resolve(root: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        target: Any = root
        for part in node["$ref"].removeprefix("#/").split("/"):
            target = target[part]
        node = {**target, **{k: v for k, v in node.items() if k != "$ref"}}
    return node


def _fill(root: dict[str, Any], schema: dict[str, Any], value: Any) -> Any:
    schema = _resolve(root, schema)
    if isinstance(value, dict):
        for name, sub in schema.get("properties", {}).items():
            sub = _resolve(root, sub)
            if name not in value and "default" in sub:
                value[name] = copy.deepcopy(sub["default"])
            if name in value:
                value[name] = _fill(root, sub, value[name])
    elif isinstance(value, list) and isinstance(schema.get("items"), dict):
        return [_fill(root, schema["items"], item) for item in value]
    return value


def with_defaults(data: dict[str, Any]) -> dict[str, Any]:
    """A copy of validated spec data with every schema default filled in."""
    schema = spec_schema()
    filled: dict[str, Any] = _fill(schema, schema, copy.deepcopy(data))
    return filled


def schema_default(*path: str) -> Any:
    """The `default` of the schema property at `path` (for callers outside the model)."""
    schema = spec_schema()
    node = schema
    for part in path:
        node = _resolve(schema, node)["properties"][part]
    return _resolve(schema, node)["default"] if "default" not in node else node["default"]
