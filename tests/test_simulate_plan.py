"""The plan read from the Gateway model matches the policies `render` writes, counter keys are
evaluated the way APIM would, and scopes share counters only when their keys are equal."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from support import FIXTURES, GOOD_SPECS, compiled

from generator import expressions
from generator.pipeline import compile_path
from generator.simulate import plan as plans
from generator.simulate import simulation, traces
from generator.simulate.evaluate import Field, Text, compile_value
from generator.simulate.semantics import HTTP_STATUS, Assumptions

SIMULATE = FIXTURES / "simulate"


def token_limit_elements(spec: Path) -> list[tuple[str, str, ET.Element, list[ET.Element]]]:
    """(policy file, counter-key, element, ancestors) of every token-limit element rendered."""
    found = []
    for path, rendered in compiled(spec).files.items():
        if not path.startswith("policies/"):
            continue
        root = ET.fromstring(rendered.content)
        parents = {child: parent for parent in root.iter() for child in parent}
        for element in root.iter():
            if element.tag.endswith("-token-limit"):
                chain, node = [], element
                while node in parents:
                    node = parents[node]
                    chain.append(node)
                found.append((path, element.attrib["counter-key"], element, chain))
    return found


def limits_of(element: ET.Element) -> tuple[int | None, int | None, str | None]:
    def number(name: str) -> int | None:
        return int(element.attrib[name]) if name in element.attrib else None

    period = element.attrib.get("token-quota-period")
    return number("tokens-per-minute"), number("token-quota"), period


@pytest.mark.parametrize("spec", GOOD_SPECS, ids=lambda p: p.stem)
def test_budgets_are_the_rendered_token_limit_elements(spec: Path) -> None:
    gateway = compiled(spec).gateway
    plan = plans.build(gateway)
    rendered = sorted((key, limits_of(e)) for _, key, e, _ in token_limit_elements(spec))
    budgets = sorted(
        (b.counter_key_text, (b.limit.tokens_per_minute, b.limit.quota, b.limit.quota_period))
        for b in plan.budgets
    )
    assert budgets == rendered


@pytest.mark.parametrize("spec", GOOD_SPECS, ids=lambda p: p.stem)
def test_each_consumer_gets_the_element_its_policy_applies(spec: Path) -> None:
    gateway = compiled(spec).gateway
    plan = plans.build(gateway)
    elements = token_limit_elements(spec)
    for consumer in gateway.consumers:
        number = plan.budget_of_consumer[consumer.name]
        if number is None:
            continue
        budget = plan.budgets[number]
        (path, _, _, chain), *others = [e for e in elements if e[1] == budget.counter_key_text]
        assert not others
        conditions = [node.attrib.get("condition") for node in chain if node.tag == "when"]
        if budget.kind == "product":
            assert path == f"policies/product-{consumer.product}.xml"
        elif budget.kind == "consumer":
            assert conditions == [expressions.subscription_condition(consumer)]
        else:
            assert path.startswith("policies/api-")
            assert not any("context.Subscription.Id ==" in (c or "") for c in conditions)


def test_counter_keys_come_from_the_policy_expressions() -> None:
    lab = plans.build(compile_path(None).gateway)
    keys = {
        b.label: b.counter_key.evaluate({"consumer": "team-a"}.__getitem__) for b in lab.budgets
    }
    assert keys == {
        "default": "api/azure-openai:team-a",
        "consumer team-a": "api/azure-openai/consumer/team-a:team-a",
        "consumer team-b": "api/azure-openai/consumer/team-b:team-a",
    }


def test_readable_expressions_are_evaluated_part_by_part() -> None:
    spec = next(s for s in GOOD_SPECS if s.stem == "counter-key-expression")
    (budget,) = plans.build(compiled(spec).gateway).budgets
    assert budget.counter_key.parts == (
        Text("api/azure-openai:"),
        Field("header:x-tenant", "none"),
        Text("/"),
        Field("consumer"),
    )
    values = {"header:x-tenant": "", "consumer": "web"}
    assert budget.counter_key.evaluate(values.__getitem__) == "api/azure-openai:none/web"


def test_an_expression_tokengate_cannot_read_comes_from_a_column() -> None:
    expression = compile_value('@("api/a:" + (context.User.Email.ToLower()))', "counter_key")
    assert expression.parts == (
        Text("api/a:"),
        Field("counter_key", source="context.User.Email.ToLower()"),
    )
    assert compile_value('@(context.Variables.GetValueOrDefault<string>("x"))', "f").parts == (
        Field("f", source='context.Variables.GetValueOrDefault<string>("x")'),
    )
    assert compile_value("literal value", "f").parts == (Text("literal value"),)


def test_claims_of_the_validated_token_are_fields() -> None:
    spec = next(s for s in GOOD_SPECS if s.stem == "entra")
    plan = plans.build(compiled(spec).gateway)
    assert plan.needs().required.keys() == {"claim:appid"}


@given(st.text())
def test_string_literals_read_back_as_written(value: str) -> None:
    literal = expressions.csharp_string(value)
    assert (
        compile_value(f"@({literal} + context.Request.IpAddress)", "f").evaluate(
            {"client_ip": "1.2.3.4"}.__getitem__
        )
        == value + "1.2.3.4"
    )


@pytest.mark.parametrize(
    ("stem", "required"),
    [
        ("lab", {"consumer"}),
        ("counter-key-header", {"header:x-end-user"}),
        ("counter-key-ip", {"consumer", "client_ip"}),
        ("counter-key-expression", {"consumer", "header:x-tenant"}),
        ("minimal", set()),
    ],
)
def test_required_columns_follow_the_counter_key(stem: str, required: set[str]) -> None:
    spec = next(s for s in GOOD_SPECS if s.stem == stem)
    assert set(plans.build(compiled(spec).gateway).needs().required) == required


def test_scopes_never_share_a_counter_but_consumers_in_one_scope_do() -> None:
    """Per-IP limits: a and b (API default) share 10.0.0.1's counter; c's own budget and the
    product's per-subscription counters (d, e) are separate although the IP is the same."""
    plan = plans.build(compile_path(SIMULATE / "specs" / "shared-ip.yaml").gateway)
    workload = traces.read_trace(SIMULATE / "traces" / "shared-ip.csv", plan.needs())
    result = simulation.simulate(plan, workload, Assumptions())
    assert [HTTP_STATUS[s] for s in result.result.status] == [200, 429, 200, 200, 200, 200]
    keys = result.resolved.counter_keys
    assert [keys[c] for c in result.resolved.counter_of] == [
        "api/azure-openai:10.0.0.1",
        "api/azure-openai:10.0.0.1",
        "api/azure-openai:10.0.0.2",
        "api/azure-openai/consumer/c:10.0.0.1",
        "product/tier:d:10.0.0.1",
        "product/tier:e:10.0.0.1",
    ]
    assert result.resolved.counter_consumers[0] == ("a", "b")


def test_dimensions_read_the_model_and_the_workload() -> None:
    spec = next(s for s in GOOD_SPECS if s.stem == "products")
    plan = plans.build(compiled(spec).gateway)
    workload = traces.read_trace(SIMULATE / "traces" / "products.jsonl", plan.needs())
    resolved = plan.resolve(workload)
    combos = [resolved.combos[resolved.groups[g].combo] for g in resolved.group_of]
    assert [d.name for d in plan.dimensions] == ["Subscription ID", "Product ID"]
    assert combos == [("search", "gold"), ("intern-tool", ""), ("prototype-1", "bronze")]
