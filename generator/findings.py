"""Validation findings: one frozen record per problem, printed as `file:line:col: ID message`."""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum


class Severity(StrEnum):
    ERROR = "error"
    WARNING = "warning"


@dataclass(frozen=True, order=True)
class Finding:
    """One problem at one place. `json_path` is the dotted path of the spec field (`$` for root)."""

    file: str
    line: int
    column: int
    rule_id: str
    message: str
    json_path: str = "$"
    severity: Severity = Severity.ERROR

    def format(self) -> str:
        marker = "" if self.severity is Severity.ERROR else "warning: "
        return f"{self.file}:{self.line}:{self.column}: {self.rule_id} {marker}{self.message}"


def format_report(findings: Iterable[Finding]) -> str:
    """Findings sorted by place, one per line, then a count line."""
    ordered = sorted(findings, key=lambda f: (f.file, f.line, f.column, f.rule_id, f.message))
    errors = sum(1 for f in ordered if f.severity is Severity.ERROR)
    warnings = len(ordered) - errors
    lines = [f.format() for f in ordered]
    lines.append(f"{errors} error(s), {warnings} warning(s)")
    return "\n".join(lines)


def has_errors(findings: Iterable[Finding]) -> bool:
    return any(f.severity is Severity.ERROR for f in findings)


def json_path(parts: Iterable[str | int]) -> str:
    """`("consumers", 1, "name")` → `$.consumers[1].name`; control characters in keys escaped."""
    out = "$"
    for part in parts:
        out += f"[{part}]" if isinstance(part, int) else f".{printable(part)}"
    return out


def printable(text: str) -> str:
    """`text` with control, line-separator and bidirectional-override characters escaped
    (`\\n`, `\\x07`, `\\u202e`): a finding is one line, and reads as what it says."""
    return "".join(
        char.encode("unicode_escape").decode("ascii")
        if unicodedata.category(char) in ("Cc", "Cs", "Zl", "Zp", "Cf") and char != "\u200d"
        else char
        for char in text
    )
