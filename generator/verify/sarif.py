"""Findings as a SARIF 2.1.0 log, the format GitHub code scanning shows in pull requests.

Paths are relative to where `verify` ran (the repository root in CI), which is what the
upload-sarif action resolves them against. The log is deterministic: rules in id order, results
sorted, no timestamps, so two runs on the same files give the same bytes.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from generator import __version__
from generator.findings import Finding, Severity
from generator.verify.rules import RULES

SCHEMA_URI = (
    "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
)


def sarif_log(findings: Iterable[Finding]) -> dict[str, Any]:
    rules = [
        {
            "id": rule.rule_id,
            "name": rule.rule_id,
            "shortDescription": {"text": rule.title},
            "defaultConfiguration": {"level": str(rule.severity)},
        }
        for rule in RULES
    ]
    index = {rule.rule_id: i for i, rule in enumerate(RULES)}
    results = [_result(finding, index) for finding in sorted(findings)]
    return {
        "$schema": SCHEMA_URI,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "tokengate",
                        "version": __version__,
                        "rules": rules,
                    }
                },
                "results": results,
            }
        ],
    }


def _result(finding: Finding, index: dict[str, int]) -> dict[str, Any]:
    result: dict[str, Any] = {
        "ruleId": finding.rule_id,
        "level": "error" if finding.severity is Severity.ERROR else "warning",
        "message": {"text": finding.message},
        "locations": [
            {
                "physicalLocation": {
                    "artifactLocation": {"uri": finding.file.replace("\\", "/")},
                    "region": {
                        "startLine": max(finding.line, 1),
                        "startColumn": max(finding.column, 1),
                    },
                }
            }
        ],
    }
    if finding.rule_id in index:
        result["ruleIndex"] = index[finding.rule_id]
    return result


def sarif_text(findings: Iterable[Finding]) -> str:
    return json.dumps(sarif_log(findings), indent=2, ensure_ascii=False) + "\n"
