"""One walk over every key and value of the spec for what no single field's schema should have to
repeat: control characters, policy expressions in literal fields, and numbers that are not numbers.

Why a walk and not schema patterns: JSON Schema patterns run through Python's `re.search`, where
`$` also matches before a final newline, so `^[a-z]+$` accepts "team-a\\n"; a pattern per field
is also one more thing every new field can forget. The walk covers unknown keys too.
"""

from __future__ import annotations

import math
import unicodedata
from collections.abc import Iterator
from functools import cache
from typing import Any

from generator import rules
from generator.findings import Finding, json_path
from generator.load import LoadedSpec, PathKey
from generator.resources import spec_schema

#: A path pattern: keys, or "*" for any list index or any key of an open mapping (tags).
Pattern = tuple[str, ...]

#: Fields rendered into policy XML as literal attribute or element values. APIM evaluates a value
#: that starts with `@(` or `@{` as a C# policy expression and substitutes `{{name}}` with the
#: named value `name` (Learn: "Policy expressions" and "Use named values in Azure API Management
#: policies"), so in these fields either would run or leak instead of being written as text.
LITERAL_POLICY_FIELDS: tuple[Pattern, ...] = (
    ("tokenMetrics", "namespace"),
    ("tokenMetrics", "dimensions", "*"),
    ("tokenMetrics", "dimensions", "*", "name"),
    ("auth", "entra", "audiences", "*"),
)

#: Characters that are invisible yet change how text reads or where a line ends: Unicode line
#: and paragraph separators and the bidirectional overrides and isolates ("Trojan Source").
_INVISIBLE_BREAKERS = frozenset(
    "\u2028\u2029\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
)

#: What free-text fields may contain beyond printable characters.
_FREE_TEXT_WHITESPACE = frozenset("\t\n\r")


def _free_text_patterns(node: Any, root: dict[str, Any], path: Pattern) -> Iterator[Pattern]:
    """Paths of every field whose schema is (a `$ref` to) `#/$defs/text`."""
    if not isinstance(node, dict) or len(path) > 12:
        return
    if node.get("$ref") == "#/$defs/text":
        yield path
        return
    if "$ref" in node:
        target: Any = root
        for part in node["$ref"].removeprefix("#/").split("/"):
            target = target[part]
        yield from _free_text_patterns(target, root, path)
    for name, sub in node.get("properties", {}).items():
        yield from _free_text_patterns(sub, root, (*path, name))
    for key in ("items", "additionalProperties"):
        yield from _free_text_patterns(node.get(key), root, (*path, "*"))
    for key in ("oneOf", "anyOf", "allOf"):
        for sub in node.get(key, []):
            yield from _free_text_patterns(sub, root, path)


@cache
def free_text_fields() -> frozenset[Pattern]:
    """Where the schema allows free text (display names, descriptions, tag values, expressions):
    the only fields in which tabs and line breaks are allowed."""
    schema = spec_schema()
    return frozenset(_free_text_patterns(schema, schema, ()))


def matches(path: PathKey, patterns: frozenset[Pattern] | tuple[Pattern, ...]) -> bool:
    return any(
        len(pattern) == len(path)
        and all(want in ("*", str(have)) for want, have in zip(pattern, path, strict=True))
        for pattern in patterns
    )


def _field(path: PathKey) -> str:
    return f"'{json_path(path).removeprefix('$.')}'" if path else "the spec"


def _character_name(char: str) -> str:
    name = unicodedata.name(char, "") or {
        "\t": "tab",
        "\n": "line feed",
        "\r": "carriage return",
        "\x7f": "delete",
    }.get(char, "control character")
    return f"U+{ord(char):04X} ({name.lower()})"


def _bad_character(text: str, *, free_text: bool) -> str | None:
    for char in text:
        if free_text and char in _FREE_TEXT_WHITESPACE:
            continue
        category = unicodedata.category(char)
        if category in ("Cc", "Cs") or char in _INVISIBLE_BREAKERS:
            return char
    return None


def _string_findings(spec: LoadedSpec, path: PathKey, text: str, *, key: bool) -> Iterator[Finding]:
    free_text = not key and matches(path, free_text_fields())
    char = _bad_character(text, free_text=free_text)
    if char is not None:
        what = "key" if key else "value"
        allowed = (
            "free text may hold tabs and line breaks, but no other control characters"
            if free_text
            else "only free-text fields (display names, descriptions, tag values, dimension "
            "values) may hold tabs and line breaks"
        )
        yield rules.CONTROL_CHARACTER.finding(
            spec,
            path,
            f"{_field(path)}: the {what} contains {_character_name(char)}; {allowed}",
            key=key,
        )
        return
    if not key and matches(path, LITERAL_POLICY_FIELDS):
        stripped = text.lstrip()
        if stripped.startswith(("@(", "@{")):
            yield rules.POLICY_EXPRESSION.finding(
                spec,
                path,
                f"{_field(path)} is written into the policy as plain text, but {stripped[:2]!r} "
                "would make APIM run it as a policy expression; choose another value",
            )
        elif "{{" in text:
            yield rules.POLICY_EXPRESSION.finding(
                spec,
                path,
                f"{_field(path)} is written into the policy as plain text, but APIM would "
                "replace '{{...}}' with a named value; remove the double braces",
            )


def _walk(spec: LoadedSpec) -> Iterator[Finding]:
    # A stack, not recursion: the walk must not be the thing a deeply nested document breaks.
    todo: list[tuple[PathKey, Any]] = [((), spec.data)]
    while todo:
        path, value = todo.pop()
        if isinstance(value, dict):
            for name, item in value.items():
                yield from _string_findings(spec, (*path, name), str(name), key=True)
                todo.append(((*path, name), item))
        elif isinstance(value, list):
            todo.extend(((*path, index), item) for index, item in enumerate(value))
        elif isinstance(value, str):
            yield from _string_findings(spec, path, value, key=False)
        elif isinstance(value, float) and not math.isfinite(value):
            message = f"{_field(path)} must be a finite number, not {value}"
            yield rules.NOT_FINITE.finding(spec, path, message)


def hygiene_findings(spec: LoadedSpec) -> list[Finding]:
    """Findings for every key and value of the spec, known fields or not."""
    return list(_walk(spec))
