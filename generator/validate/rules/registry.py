"""The rule registry and the helpers rules share.

Rules run only on schema-valid data, so they may index required keys without guarding types.
Each rule is a function of the loaded spec that yields findings; `@rule(id, title)` turns it into
a `SemanticRule` in the one registry (`generator.findings`), so the function's own name is the
rule its findings are built from:

    @rule("TG103", "A quota comes with its period")
    def quota_needs_period(spec: LoadedSpec) -> Iterator[Finding]:
        yield quota_needs_period.finding(spec, path, "'quota' needs a 'quotaPeriod'")
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from generator.findings import Finding, Rule, Stage, register
from generator.load import LoadedSpec, PathKey

Check = Callable[[LoadedSpec], Iterator[Finding]]


@dataclass(frozen=True)
class SemanticRule(Rule):
    """A rule with the check that finds it; calling the rule runs the check."""

    check: Check = field(kw_only=True, compare=False, repr=False)

    def __call__(self, spec: LoadedSpec) -> Iterator[Finding]:
        return self.check(spec)


#: The semantic rules, in the order their modules were imported (sorted by id on import).
RULES: list[SemanticRule] = []


def rule(rule_id: str, title: str) -> Callable[[Check], SemanticRule]:
    """Register the decorated check as the semantic rule `rule_id`."""

    def decorate(check: Check) -> SemanticRule:
        registered = register(SemanticRule(rule_id, title, Stage.SEMANTIC, check=check))
        RULES.append(registered)
        return registered

    return decorate


def limit_blocks(data: dict[str, Any]) -> Iterator[tuple[PathKey, dict[str, Any]]]:
    """Every place a token budget is written: the default, products and consumer overrides."""
    if "tokenLimit" in data:
        yield ("tokenLimit",), data["tokenLimit"]
    for i, product in enumerate(data.get("products", [])):
        yield ("products", i), product
    for i, consumer in enumerate(data.get("consumers", [])):
        yield ("consumers", i), consumer


def duplicates(
    found: Rule,
    spec: LoadedSpec,
    items: list[tuple[PathKey, str]],
    what: str,
    *,
    fold_case: bool = False,
) -> Iterator[Finding]:
    """A `found` finding for each name already given earlier in `items`."""
    seen: dict[str, PathKey] = {}
    for path, name in items:
        key = name.casefold() if fold_case else name
        if key in seen:
            first = spec.mark_of(seen[key])
            yield found.finding(
                spec, path, f"{what} '{name}' is already defined at line {first.line}"
            )
        else:
            seen[key] = path


def semantic_findings(spec: LoadedSpec) -> list[Finding]:
    findings: list[Finding] = []
    for registered in RULES:
        findings.extend(registered(spec))
    return findings
