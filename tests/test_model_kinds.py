"""The model's Literal types hold exactly the schema's words, so the two cannot drift apart:
a value added to (or dropped from) an enum in schemas/spec.schema.json fails here until
generator/model/kinds.py says the same."""

from __future__ import annotations

from typing import Any, get_args

import pytest

from generator import counter_keys
from generator.model.kinds import ApiFamily, CounterKeyKind, DeploymentScope, QuotaPeriod
from generator.resources import spec_schema
from generator.simulate import semantics


def _at(pointer: str) -> dict[str, Any]:
    node: Any = spec_schema()
    for part in pointer.strip("/").split("/"):
        node = node[part]
    assert isinstance(node, dict), pointer
    return node


@pytest.mark.parametrize(
    ("literal", "pointer"),
    [
        (QuotaPeriod, "/$defs/quotaPeriod"),
        (semantics.QuotaPeriod, "/$defs/quotaPeriod"),  # the simulator's own copy
        (ApiFamily, "/properties/api/properties/family"),
        (DeploymentScope, "/properties/deployment/properties/scope"),
    ],
    ids=["quota-period", "simulate-quota-period", "api-family", "deployment-scope"],
)
def test_literal_values_are_the_schema_enum(literal: object, pointer: str) -> None:
    assert list(get_args(literal)) == _at(pointer)["enum"]


def test_every_counter_key_form_of_the_schema_parses_to_its_own_kind() -> None:
    """`counterKey` is a pattern, not an enum: one example of each form its description names
    (`subscription | ip | header:<name> | claim:<name> | ... @(...)`) gives each kind once."""
    description = _at("/$defs/limit/properties/counterKey")["description"]
    examples = ["subscription", "ip", "header:x-user", "claim:oid", "@(context.Request.IpAddress)"]
    for form in ("subscription", "ip", "header:<name>", "claim:<name>", "@(...)"):
        assert form in description, form
    kinds = [counter_keys.parse(text).kind for text in examples]
    assert sorted(kinds) == sorted(get_args(CounterKeyKind))
