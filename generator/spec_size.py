"""Size bounds a spec must keep, checked before a single node is built.

Building PyYAML nodes costs ~10 µs each: a 2 MB flow list of a million items took 13 s and
665 MB before the schema's `maxItems` could refuse it. The parser's event stream costs ~1 µs
an event and needs no memory, so this pass stops a too-long list, too many keys, an absurdly
long value or simply too many values at the first item over the bound, pointing at it.

The bounds come from the schema and the platform, far above any real spec: the longest list the
schema allows is `consumers` (75,000: the subscriptions of an APIM Premium instance).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any

import yaml

from generator import rules
from generator.errors import SpecInvalid
from generator.findings import json_path
from generator.resources import spec_schema

#: Largest spec file read: a spec at every list's maximum is under 10 MiB.
MAX_SPEC_BYTES = 32 * 1024 * 1024
#: Most keys in one mapping; the widest mapping of the schema (the root) has 16.
MAX_MAPPING_KEYS = 1_000
#: Longest single value: no field takes more than 1,024 characters, and Python refuses to
#: convert integers of more than 4,300 digits (a traceback, not a finding).
MAX_SCALAR_CHARS = 4_096
#: Most values in the whole document: 75,000 consumers with every key set are ~1,000,000.
MAX_VALUES = 2_000_000

_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _max_items(node: Any) -> int:
    if isinstance(node, dict):
        own = node.get("maxItems", 0)
        return max([own if isinstance(own, int) else 0, *map(_max_items, node.values())])
    if isinstance(node, list):
        return max(map(_max_items, node), default=0)
    return 0


@cache
def max_list_items() -> int:
    """The longest list the schema allows anywhere; longer lists are refused while parsing."""
    return _max_items(spec_schema())


@dataclass
class _Collection:
    is_mapping: bool
    path: tuple[str | int, ...]
    count: int = 0
    #: The key whose value is being read in a mapping (None while expecting a key).
    key: str | None = None

    def child_path(self) -> tuple[str | int, ...]:
        return (*self.path, self.key if self.is_mapping and self.key is not None else self.count)


def _position(event: yaml.Event) -> tuple[int, int]:
    mark = event.start_mark
    return (mark.line + 1, mark.column + 1) if mark is not None else (1, 1)


def _refuse(file: str, event: yaml.Event, message: str) -> SpecInvalid:
    return SpecInvalid([rules.TOO_LARGE.at(file, *_position(event), message)])


def _field(path: tuple[str | int, ...]) -> str:
    return f"'{json_path(path).removeprefix('$.')}'" if path else "the spec"


def refuse_oversized(text: str, file: str) -> None:
    """Raise SpecInvalid (TG005) at the first list, mapping or value over its bound.

    YAML syntax errors are left to the loader, which reports them with their own positions.
    """
    list_limit = max_list_items()
    stack: list[_Collection] = []
    values = 0
    try:
        for event in yaml.parse(text, Loader=_LOADER):
            if not isinstance(event, yaml.NodeEvent):
                if isinstance(event, yaml.CollectionEndEvent) and stack:
                    stack.pop()
                    _after_value(stack)
                continue
            values += 1
            if values > MAX_VALUES:
                raise _refuse(file, event, f"the spec has more than {MAX_VALUES:,} values")
            parent = stack[-1] if stack else None
            path: tuple[str | int, ...] = ()
            if parent is not None:
                if parent.is_mapping and parent.key is None:
                    _read_key(file, parent, event)
                    continue
                path = parent.child_path()
                if not parent.is_mapping:
                    parent.count += 1
                    if parent.count > list_limit:
                        raise _refuse(
                            file,
                            event,
                            f"{_field(parent.path)} has more than {list_limit:,} items; no list "
                            "in a spec may be longer",
                        )
            if isinstance(event, yaml.ScalarEvent) and len(event.value) > MAX_SCALAR_CHARS:
                raise _refuse(
                    file,
                    event,
                    f"{_field(path)} is {len(event.value):,} characters long; no value in a "
                    f"spec may be longer than {MAX_SCALAR_CHARS:,}",
                )
            if isinstance(event, yaml.CollectionStartEvent):
                stack.append(_Collection(isinstance(event, yaml.MappingStartEvent), path))
            else:
                _after_value(stack)
    except yaml.YAMLError:
        return


def _read_key(file: str, mapping: _Collection, event: yaml.Event) -> None:
    mapping.count += 1
    if mapping.count > MAX_MAPPING_KEYS:
        raise _refuse(
            file,
            event,
            f"{_field(mapping.path)} has more than {MAX_MAPPING_KEYS:,} keys; no mapping in a "
            "spec has that many",
        )
    if isinstance(event, yaml.ScalarEvent):
        if len(event.value) > MAX_SCALAR_CHARS:
            raise _refuse(
                file, event, f"a key of {len(event.value):,} characters in {_field(mapping.path)}"
            )
        mapping.key = event.value
    elif isinstance(event, yaml.CollectionStartEvent):
        message = f"YAML error: a key in {_field(mapping.path)} is a list or mapping, not text"
        raise SpecInvalid([rules.YAML_SYNTAX.at(file, *_position(event), message)])
    else:
        mapping.key = "*"


def _after_value(stack: list[_Collection]) -> None:
    """A value ended: its mapping expects the next key."""
    if stack and stack[-1].is_mapping:
        stack[-1].key = None
