"""Stage 2: schema findings first; semantic rules only on data the schema accepted."""

from __future__ import annotations

from dataclasses import replace

from generator.errors import SpecInvalid
from generator.findings import Finding, has_errors
from generator.load import LoadedSpec
from generator.model.defaults import with_defaults
from generator.validate.hygiene import hygiene_findings
from generator.validate.locations import location_findings
from generator.validate.rules import RULES, SemanticRule, semantic_findings
from generator.validate.schema import schema_findings

__all__ = ["RULES", "SemanticRule", "field_findings", "findings_for", "validate"]


def findings_for(spec: LoadedSpec) -> list[Finding]:
    """Every finding for the spec, sorted by position."""
    findings = field_findings(spec)
    if not findings:
        # Rules see the schema defaults filled in, so no rule repeats a default; positions of
        # filled-in values fall back to their parent's.
        findings = semantic_findings(replace(spec, data=with_defaults(spec.data)))
    return sorted(spec.warnings + findings, key=lambda f: (f.line, f.column, f.rule_id, f.message))


def field_findings(spec: LoadedSpec) -> list[Finding]:
    """Hygiene (every string and number), schema and region findings; one finding per field:
    a value the walk refuses (a control character, say) is not also reported by its pattern."""
    hygiene = hygiene_findings(spec)
    seen = {f.json_path for f in hygiene}
    rest = [f for f in schema_findings(spec) + location_findings(spec) if f.json_path not in seen]
    return hygiene + rest


def validate(spec: LoadedSpec) -> list[Finding]:
    """Raise SpecInvalid when there are errors; return the warnings otherwise."""
    findings = findings_for(spec)
    if has_errors(findings):
        raise SpecInvalid(findings)
    return findings
