"""The rule registry and the helpers rules share.

Rules run only on schema-valid data, so they may index required keys without guarding types.
Each rule is a function of the loaded spec that yields findings, registered with its id and a
title; `tokengate rules` and the README's rule table list the registry.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from generator.findings import Finding, Severity
from generator.load import LoadedSpec, PathKey

Check = Callable[[LoadedSpec], Iterator[Finding]]


@dataclass(frozen=True)
class Rule:
    rule_id: str
    title: str
    check: Check


RULES: list[Rule] = []


def rule(rule_id: str, title: str) -> Callable[[Check], Check]:
    def register(check: Check) -> Check:
        RULES.append(Rule(rule_id, title, check))
        return check

    return register


def limit_blocks(data: dict[str, Any]) -> Iterator[tuple[PathKey, dict[str, Any]]]:
    """Every place a token budget is written: the default, products and consumer overrides."""
    if "tokenLimit" in data:
        yield ("tokenLimit",), data["tokenLimit"]
    for i, product in enumerate(data.get("products", [])):
        yield ("products", i), product
    for i, consumer in enumerate(data.get("consumers", [])):
        yield ("consumers", i), consumer


def duplicates(
    spec: LoadedSpec, items: list[tuple[PathKey, str]], what: str, *, fold_case: bool = False
) -> Iterator[Finding]:
    seen: dict[str, PathKey] = {}
    for path, name in items:
        key = name.casefold() if fold_case else name
        if key in seen:
            first = spec.mark_of(seen[key])
            yield spec.finding(
                path, "TG101", f"{what} '{name}' is already defined at line {first.line}"
            )
        else:
            seen[key] = path


def line_col(spec: LoadedSpec, path: PathKey) -> tuple[int, int]:
    mark = spec.mark_of(path)
    return mark.line, mark.column


def warning(spec: LoadedSpec, path: PathKey, rule_id: str, message: str) -> Finding:
    line, column = line_col(spec, path)
    return Finding(spec.file, line, column, rule_id, message, severity=Severity.WARNING)


def semantic_findings(spec: LoadedSpec) -> list[Finding]:
    findings: list[Finding] = []
    for registered in RULES:
        findings.extend(registered.check(spec))
    return findings
