"""The three ways `verify` prints its findings: text for people, JSON for scripts, SARIF for
GitHub code scanning. All are deterministic (sorted, no timestamps)."""

from __future__ import annotations

import json
from collections.abc import Sequence

from generator.findings import Finding, Severity, format_report
from generator.verify.sarif import sarif_text


def render_report(findings: Sequence[Finding], fmt: str) -> str:
    ordered = sorted(findings)
    if fmt == "sarif":
        return sarif_text(ordered)
    if fmt == "json":
        errors = sum(1 for f in ordered if f.severity is Severity.ERROR)
        document = {
            "errors": errors,
            "warnings": len(ordered) - errors,
            "findings": [
                {
                    "file": f.file,
                    "line": f.line,
                    "column": f.column,
                    "ruleId": f.rule_id,
                    "severity": str(f.severity),
                    "message": f.message,
                }
                for f in ordered
            ],
        }
        return json.dumps(document, indent=2, ensure_ascii=False) + "\n"
    return format_report(ordered) + "\n"
