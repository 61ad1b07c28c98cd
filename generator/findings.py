"""Findings and the rules they come from: one frozen record per problem, printed as
`file:line:col: ID message`, built from a registered `Rule` so no id is ever typed twice.

Every id the tool can print is a `Rule` made by `define` (or by the `@rule` decorator of the
semantic rules, which calls it): one registry, so `tokengate rules`, the README table and the
SARIF rule list cannot drift from what `validate`, `render` and `verify` print. Ids are stable
across releases: CI filters, SARIF baselines and suppressions refer to them.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from enum import Enum, StrEnum
from typing import TYPE_CHECKING, TypeVar

if TYPE_CHECKING:
    from generator.load import LoadedSpec, PathKey


class Severity(StrEnum):
    ERROR = "error"
    WARNING = "warning"


class Stage(Enum):
    """Where in the pipeline a rule is checked, in pipeline order (`tokengate rules` groups)."""

    LOAD = ("load", "reading the YAML file")
    SCHEMA = ("schema", "the spec against schemas/spec.schema.json")
    HYGIENE = ("hygiene", "every key and value of the spec")
    SEMANTIC = ("semantic", "what the schema cannot say")
    TIER = ("tier", "the APIM tier's entity limits, before rendering")
    LIMITS = ("limits", "ARM, APIM and Bicep limits on the rendered files, before writing")
    OUTPUT = ("output", "checks of rendered output (`verify`, also run by render)")

    def __init__(self, label: str, description: str) -> None:
        self.label = label
        self.description = description


@dataclass(frozen=True)
class Rule:
    """One id the tool can print: what it checks (`title`), where, and how bad by default."""

    rule_id: str
    title: str
    stage: Stage
    severity: Severity = Severity.ERROR

    def at(
        self,
        file: str,
        line: int,
        column: int,
        message: str,
        *,
        json_path: str = "$",
        severity: Severity | None = None,
    ) -> Finding:
        """A finding of this rule at a place in a file (rendered output, or a spec that did not
        load far enough to have a node tree)."""
        return Finding(
            file, line, column, self.rule_id, message, json_path, severity or self.severity
        )

    def finding(
        self,
        spec: LoadedSpec,
        path: PathKey,
        message: str,
        *,
        key: bool = False,
        severity: Severity | None = None,
    ) -> Finding:
        """A finding of this rule on the spec node at `path` (its key with `key=True`)."""
        mark = spec.mark_of(path, key=key)
        return Finding(
            spec.file,
            mark.line,
            mark.column,
            self.rule_id,
            message,
            json_path(path),
            severity or self.severity,
        )


_R = TypeVar("_R", bound=Rule)

#: Every rule defined so far, by id. Read it through `generator.rules.every_rule()`, which
#: imports every module that defines rules first.
REGISTRY: dict[str, Rule] = {}


def define(rule_id: str, title: str, stage: Stage, severity: Severity = Severity.ERROR) -> Rule:
    """Register a rule; the only place an id string may be written (a test enforces it)."""
    return register(Rule(rule_id, title, stage, severity))


def register(rule: _R) -> _R:
    """Add `rule` (or a subclass, like the semantic rules with their check) to the registry."""
    if rule.rule_id in REGISTRY:
        raise ValueError(f"rule id {rule.rule_id} is defined twice")
    REGISTRY[rule.rule_id] = rule
    return rule


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
