"""The counter-key forms are written once (generator/counter_keys.py); every place that names or
uses them is checked against that table here, so a new form cannot be half-added."""

from __future__ import annotations

from pathlib import Path
from typing import get_args

from generator import counter_keys
from generator.load import load_file
from generator.model.kinds import CounterKeyKind
from generator.resources import spec_schema
from generator.validate import findings_for

#: One spec value of each form, in the table's order.
EXAMPLES = {
    "subscription": "subscription",
    "ip": "ip",
    "header": "header:x-user",
    "claim": "claim:oid",
    "expression": "@(context.Request.IpAddress)",
}


def test_the_table_has_one_form_per_kind_literal() -> None:
    assert [form.kind for form in counter_keys.FORMS] == list(get_args(CounterKeyKind))


def test_the_schema_description_is_the_table() -> None:
    counter_key = spec_schema()["$defs"]["limit"]["properties"]["counterKey"]
    assert counter_key["description"] == counter_keys.forms_text() + "."


def test_each_example_parses_to_its_own_form() -> None:
    for kind, text in EXAMPLES.items():
        assert counter_keys.parse(text).kind == kind, text
    assert counter_keys.parse("header:x-user").argument == "x-user"
    assert counter_keys.parse("claim:oid").argument == "oid"


def test_the_value_expressions_read_what_the_form_names() -> None:
    """Subscription id and caller IP are the APIM context properties the token-limit page's
    examples key on (https://learn.microsoft.com/azure/api-management/azure-openai-token-limit-policy)."""
    value = {
        kind: counter_keys.value_expression(counter_keys.parse(t)) for kind, t in EXAMPLES.items()
    }
    assert value["subscription"] == "context.Subscription.Id"
    assert value["ip"] == "context.Request.IpAddress"
    assert '"x-user"' in value["header"] and "Headers" in value["header"]
    assert '"oid"' in value["claim"] and "Claims" in value["claim"]
    assert value["expression"] == "(context.Request.IpAddress)"


def test_tg113_names_every_form() -> None:
    """The message of a counter key of no known form lists the table (it once omitted claim:)."""
    bad = Path(__file__).parent / "fixtures/specs/bad/counter-key-bad-expression.yaml"
    messages = [f.message for f in findings_for(load_file(bad)) if f.rule_id == "TG113"]
    assert messages
    for form in counter_keys.FORMS:
        assert form.shown in messages[0], form.kind
