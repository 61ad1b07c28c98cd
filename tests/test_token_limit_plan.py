"""The token-limit layout is decided in generator/token_limit_plan.py; these tests pin each
decision on the good fixtures, so a template cannot quietly decide otherwise.

APIM applies a product's own policy to requests made with a product subscription, so the API's
default must not count them twice: it is taken only when `context.Product == null`
(https://learn.microsoft.com/azure/api-management/api-management-howto-policies#scopes).
"""

from __future__ import annotations

from pathlib import Path

from support import compiled

from generator import token_limit_plan
from generator.model import Gateway

GOOD = Path(__file__).parent / "fixtures/specs/good"


def gateway(name: str) -> Gateway:
    return compiled(GOOD / f"{name}.yaml").gateway


def test_one_budget_for_everyone_is_one_unconditional_element() -> None:
    plan = token_limit_plan.api_token_limits(gateway("counter-key-header"))
    assert plan.branches == ()
    assert plan.unconditional is not None and plan.unconditional.all_models is not None
    assert plan.unconditional.all_models.counter_key.startswith('@("api/')


def test_own_budgets_are_branches_in_spec_order_then_the_default_as_otherwise() -> None:
    gw = gateway("lab")
    plan = token_limit_plan.api_token_limits(gw)
    names = [c.name for c in gw.branch_consumers]
    assert len(plan.branches) == len(names) + 1
    for branch, name in zip(plan.branches, names, strict=False):
        assert branch.condition is not None and f'"{name}"' in branch.condition
    assert plan.branches[-1].condition is None
    assert plan.unconditional is None


def test_with_products_the_default_is_only_for_requests_outside_a_product() -> None:
    gw = gateway("products")
    plan = token_limit_plan.api_token_limits(gw)
    assert plan.branches[-1].condition == token_limit_plan.OUTSIDE_PRODUCTS
    assert "outside products" in plan.comment


def test_per_model_branches_have_their_own_keys() -> None:
    gw = gateway("per-model-limits")
    plan = token_limit_plan.api_token_limits(gw)
    scopes = [b.limits for b in plan.branches]
    if plan.unconditional is not None:
        scopes.append(plan.unconditional)
    models = [m for scope in scopes for m in scope.per_model]
    assert models
    for model in models:
        assert model.element.counter_key.endswith(f':{model.deployment}")')
        assert f'"{model.deployment}"' in model.condition


def test_a_product_scope_counts_per_subscription() -> None:
    gw = gateway("products")
    limited = [p for p in gw.products if p.limit]
    assert limited
    scope = token_limit_plan.product_token_limits(gw, limited[0])
    assert scope.all_models is not None
    assert "context.Subscription.Id" in scope.all_models.counter_key
