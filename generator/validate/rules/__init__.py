"""Semantic rules: what the schema cannot say, one module per area, each rule with an id.

Importing the area modules registers their rules; `RULES` lists them by id.
"""

from __future__ import annotations

from generator.validate.rules import budgets, money, monitoring, names, tiers, traffic
from generator.validate.rules.registry import RULES, SemanticRule, semantic_findings

RULES.sort(key=lambda r: r.rule_id)

__all__ = [
    "RULES",
    "SemanticRule",
    "budgets",
    "money",
    "monitoring",
    "names",
    "semantic_findings",
    "tiers",
    "traffic",
]
