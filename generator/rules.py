"""The rules of the spec's first stages (load, schema, hygiene), and `every_rule()`: the one list
of every id the tool can print, for `tokengate rules`, the README table test and SARIF.

Rules are defined next to the stage that reports them when that stage has a module of rules
(semantic rules in `generator/validate/rules/`, limits in `generator/limits.py`, output checks in
`generator/verify/rules.py`); the stages below are spread over load.py, spec_size.py and
validate/, so their rules are defined here, once.
"""

from __future__ import annotations

import importlib

from generator.findings import REGISTRY, Rule, Stage, define

YAML_SYNTAX = define("TG001", "The spec is UTF-8 text and YAML", Stage.LOAD)
DUPLICATE_KEY = define("TG002", "No mapping has the same key twice", Stage.LOAD)
EMPTY_SPEC = define("TG003", "The spec is not empty", Stage.LOAD)
TOO_DEEP = define("TG004", "No alias bomb, no absurd nesting", Stage.LOAD)
TOO_LARGE = define(
    "TG005", "The file, its lists, mappings and values are within the size bounds", Stage.LOAD
)

WRONG_TYPE = define("TG010", "Every value has the type the schema gives", Stage.SCHEMA)
UNKNOWN_KEY = define("TG011", "Every key is one the schema knows", Stage.SCHEMA)
MISSING_KEY = define("TG012", "Every required key is there", Stage.SCHEMA)
NOT_ALLOWED = define(
    "TG013", "Every value is one allowed (enum, pattern, Azure region name)", Stage.SCHEMA
)
OUT_OF_RANGE = define("TG014", "Numbers, lengths and counts are within range", Stage.SCHEMA)
SCHEMA_OTHER = define("TG015", "The spec fits the schema's other constraints", Stage.SCHEMA)

CONTROL_CHARACTER = define(
    "TG016", "No control characters (tabs and line breaks only in free text)", Stage.HYGIENE
)
POLICY_EXPRESSION = define(
    "TG017",
    "Plain-text policy fields start no policy expression, name no named value",
    Stage.HYGIENE,
)
NOT_FINITE = define("TG018", "Numbers are finite (no NaN, no infinity)", Stage.HYGIENE)

#: Every module that defines rules; importing one registers its rules.
_DEFINING_MODULES = (
    "generator.rules",
    "generator.validate.rules",
    "generator.limits",
    "generator.verify.rules",
)


def every_rule() -> list[Rule]:
    """Every rule the tool can print, in pipeline order (stage, then id)."""
    for module in _DEFINING_MODULES:
        importlib.import_module(module)
    stages = list(Stage)
    return sorted(REGISTRY.values(), key=lambda r: (stages.index(r.stage), r.rule_id))
