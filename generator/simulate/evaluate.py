"""Evaluate the policy expressions tokengate writes (counter keys, dimension values) per request.

The simulation evaluates the very expression text the policy carries, so counter keys get the
same scope prefixes as in APIM. Only the forms tokengate itself produces are understood: string
literals joined with `+`, `context.Subscription.Id`, `context.Request.IpAddress`,
`context.Request.Headers.GetValueOrDefault("name", "default")` and a validated token's
`((Jwt)context.Variables["jwt"]).Claims.GetValueOrDefault("claim", "")`, in parentheses or not.
Anything
else (a user's own C#) cannot be run here; its value comes from a workload field instead, named by
the caller (`counter_key` for a counter key, `dimension:<name>` for a dimension).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from generator.simulate.workload import CLIENT_IP, CONSUMER, claim_field, header_field


@dataclass(frozen=True)
class Text:
    value: str


@dataclass(frozen=True)
class Field:
    """A per-request value; `default` when the request has none (an absent header)."""

    name: str
    default: str = ""
    #: The C# this part stands for, when it is a user expression read from a field.
    source: str = ""


Part = Text | Field

#: Member accesses → the workload field holding their value.
_ACCESSORS = {
    "context.Subscription.Id": CONSUMER,
    "context.Request.IpAddress": CLIENT_IP,
}
_HEADER_CALL = "context.Request.Headers.GetValueOrDefault("
_JWT_VARIABLE = "((Jwt)context.Variables["
_CLAIM_CALL = ".Claims.GetValueOrDefault("
_ESCAPES = {"\\": "\\", '"': '"', "'": "'", "n": "\n", "r": "\r", "t": "\t", "0": "\0"}


@dataclass(frozen=True)
class Expression:
    """A policy value as literal text and per-request fields, concatenated."""

    parts: tuple[Part, ...]

    @property
    def fields(self) -> tuple[Field, ...]:
        return tuple(p for p in self.parts if isinstance(p, Field))

    @property
    def prefix(self) -> str:
        """The literal text the value starts with (a counter key's scope)."""
        first = self.parts[0] if self.parts else None
        return first.value if isinstance(first, Text) else ""

    def evaluate(self, value_of: Callable[[str], str]) -> str:
        pieces = []
        for part in self.parts:
            if isinstance(part, Text):
                pieces.append(part.value)
            else:
                pieces.append(value_of(part.name) or part.default)
        return "".join(pieces)


def compile_value(text: str, fallback_field: str) -> Expression:
    """A policy attribute value (`@(...)` expression or literal) → Expression.

    Sub-expressions tokengate cannot read become `Field(fallback_field)`.
    """
    if not (text.startswith("@(") and text.endswith(")")):
        return Expression((Text(text),))
    body = text[2:-1]
    parser = _Parser(body, fallback_field)
    try:
        parts = parser.sum()
        parser.skip_space()
        if parser.pos != len(body):
            raise _NoMatch
    except _NoMatch:
        parts = [Field(fallback_field, source=body.strip())]
    return Expression(tuple(_merged(parts)))


def _merged(parts: list[Part]) -> list[Part]:
    """Adjacent literals joined, so `prefix` sees the whole scope."""
    merged: list[Part] = []
    for part in parts:
        if merged and isinstance(part, Text) and isinstance(merged[-1], Text):
            merged[-1] = Text(merged[-1].value + part.value)
        else:
            merged.append(part)
    return merged


class _NoMatch(Exception):
    pass


class _Parser:
    """Recursive descent over `term (+ term)*`; a parenthesised group it cannot read becomes a
    fallback field, anything else unreadable fails the whole expression."""

    def __init__(self, text: str, fallback_field: str) -> None:
        self.text = text
        self.pos = 0
        self.fallback_field = fallback_field

    def skip_space(self) -> None:
        while self.pos < len(self.text) and self.text[self.pos].isspace():
            self.pos += 1

    def sum(self) -> list[Part]:
        parts = self.term()
        while True:
            self.skip_space()
            if self.pos < len(self.text) and self.text[self.pos] == "+":
                self.pos += 1
                parts += self.term()
            else:
                return parts

    def term(self) -> list[Part]:
        self.skip_space()
        text, pos = self.text, self.pos
        if text.startswith('"', pos) or text.startswith('@"', pos):
            return [Text(self.string())]
        if text.startswith(_JWT_VARIABLE, pos):
            self.pos += len(_JWT_VARIABLE)
            self.string()
            self.expect("])")
            self.expect(_CLAIM_CALL)
            name, default = self.arguments()
            return [Field(claim_field(name), default)]
        if text.startswith("(", pos):
            return self.group()
        for accessor, name in _ACCESSORS.items():
            end = pos + len(accessor)
            if text.startswith(accessor, pos) and not _continues(text, end):
                self.pos = end
                return [Field(name)]
        if text.startswith(_HEADER_CALL, pos):
            self.pos += len(_HEADER_CALL)
            name, default = self.arguments()
            return [Field(header_field(name), default)]
        raise _NoMatch

    def arguments(self) -> tuple[str, str]:
        """`"name")` or `"name", "default")` of a GetValueOrDefault call."""
        name = self.string()
        default = ""
        self.skip_space()
        if self.text.startswith(",", self.pos):
            self.pos += 1
            default = self.string()
        self.expect(")")
        return name, default

    def group(self) -> list[Part]:
        start = self.pos
        self.pos += 1
        try:
            inner = self.sum()
            self.expect(")")
            return inner
        except _NoMatch:
            self.pos = start
            end = self.balanced_end(start)
            self.pos = end
            return [Field(self.fallback_field, source=self.text[start + 1 : end - 1].strip())]

    def expect(self, char: str) -> None:
        self.skip_space()
        if not self.text.startswith(char, self.pos):
            raise _NoMatch
        self.pos += len(char)

    def string(self) -> str:
        self.skip_space()
        text = self.text
        if text.startswith('@"', self.pos):
            return self.verbatim()
        if not text.startswith('"', self.pos):
            raise _NoMatch
        self.pos += 1
        out: list[str] = []
        while self.pos < len(text):
            char = text[self.pos]
            if char == '"':
                self.pos += 1
                return "".join(out)
            if char == "\\":
                escape = text[self.pos + 1 : self.pos + 2]
                if escape == "u" and self.pos + 6 <= len(text):
                    out.append(chr(int(text[self.pos + 2 : self.pos + 6], 16)))
                    self.pos += 6
                    continue
                if escape not in _ESCAPES:
                    raise _NoMatch
                out.append(_ESCAPES[escape])
                self.pos += 2
                continue
            out.append(char)
            self.pos += 1
        raise _NoMatch

    def verbatim(self) -> str:
        text = self.text
        self.pos += 2
        out: list[str] = []
        while self.pos < len(text):
            if text.startswith('""', self.pos):
                out.append('"')
                self.pos += 2
            elif text[self.pos] == '"':
                self.pos += 1
                return "".join(out)
            else:
                out.append(text[self.pos])
                self.pos += 1
        raise _NoMatch

    def balanced_end(self, start: int) -> int:
        """Index just past the `)` closing the `(` at `start`, skipping string literals."""
        depth, pos, text = 0, start, self.text
        while pos < len(text):
            char = text[pos]
            if char == '"':
                pos = self._string_end(pos)
                continue
            if char == "(":
                depth += 1
            elif char == ")":
                depth -= 1
                if depth == 0:
                    return pos + 1
            pos += 1
        raise _NoMatch

    def _string_end(self, pos: int) -> int:
        verbatim = pos > 0 and self.text[pos - 1] == "@"
        pos += 1
        while pos < len(self.text):
            char = self.text[pos]
            if verbatim and self.text.startswith('""', pos):
                pos += 2
                continue
            if not verbatim and char == "\\":
                pos += 2
                continue
            if char == '"':
                return pos + 1
            pos += 1
        raise _NoMatch


def _continues(text: str, end: int) -> bool:
    """True when an identifier or member access goes on after `end` (`.Id.ToLower()`)."""
    return end < len(text) and (text[end].isalnum() or text[end] in "._?[(")
