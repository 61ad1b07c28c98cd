"""Where the token-limit elements go in a policy, decided in Python; the templates only format.

At API scope the default budget and every own-budget consumer's are in one `<choose>`: a branch
per consumer (matched on its subscription), then the default, either as `<otherwise>` or, when
products exist, only for requests outside a product (`context.Product == null`), since a
product applies its own limit. With neither branches nor products, the default is one element.
Each scope has its all-models element, then its per-model elements, each in a branch taken only
for that deployment and counted on its own key (generator/counter_keys.py).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from generator import counter_keys, expressions
from generator.model import Consumer, Gateway, Limit, ModelLimit, Product

#: The `when` condition of the default branch when products exist.
OUTSIDE_PRODUCTS = "@(context.Product == null)"


@dataclass(frozen=True)
class LimitElement:
    limit: Limit
    counter_key: str


@dataclass(frozen=True)
class ModelBranch:
    deployment: str
    condition: str
    element: LimitElement


@dataclass(frozen=True)
class ScopeLimits:
    """One scope's elements: the all-models one (if set), then the per-model branches."""

    all_models: LimitElement | None
    per_model: tuple[ModelBranch, ...]


@dataclass(frozen=True)
class Branch:
    #: None: the `<otherwise>` branch.
    condition: str | None
    limits: ScopeLimits


@dataclass(frozen=True)
class ApiTokenLimits:
    #: The branches of the `<choose>`; empty when the default is one unconditional scope.
    branches: tuple[Branch, ...]
    #: The default's elements when there is no `<choose>`.
    unconditional: ScopeLimits | None
    #: The XML comment above the elements (plain text; the template escapes it).
    comment: str


def _scope(
    gateway: Gateway,
    limit: Limit | None,
    models: tuple[ModelLimit, ...],
    key_of: Callable[[str | None], str],
) -> ScopeLimits:
    return ScopeLimits(
        all_models=LimitElement(limit, key_of(None)) if limit else None,
        per_model=tuple(
            ModelBranch(
                m.deployment,
                expressions.deployment_condition(gateway.api.family, m.deployment),
                LimitElement(m.limit, key_of(m.deployment)),
            )
            for m in models
        ),
    )


def _api_scope(gateway: Gateway, consumer: Consumer | None) -> ScopeLimits:
    assert gateway.token_limit is not None
    if consumer is None:
        limit, models = gateway.token_limit.default, gateway.token_limit.model_limits
    else:
        limit, models = consumer.limit, consumer.model_limits

    def key_of(deployment: str | None) -> str:
        return counter_keys.api_counter_key(gateway, consumer, deployment)

    return _scope(gateway, limit, models, key_of)


def api_token_limits(gateway: Gateway) -> ApiTokenLimits:
    """The API policy's token limits (call only when the token-limit feature applies)."""
    assert gateway.token_limit is not None
    branch_consumers = gateway.branch_consumers
    token_limit = gateway.token_limit
    has_default = bool(token_limit.default or token_limit.model_limits)
    if not branch_consumers and not (has_default and gateway.products):
        return ApiTokenLimits(
            (),
            _api_scope(gateway, None),
            "Token limit: the same budget for every consumer, counted per counter-key value.",
        )
    branches = [
        Branch(expressions.subscription_condition(c), _api_scope(gateway, c))
        for c in branch_consumers
    ]
    if has_default:
        condition = OUTSIDE_PRODUCTS if gateway.products else None
        branches.append(Branch(condition, _api_scope(gateway, None)))
    outside = " for subscriptions outside products (products apply their own limit)"
    comment = (
        "Token limits: consumers with their own budget first, then the default"
        f"{outside if gateway.products else ''}."
    )
    return ApiTokenLimits(tuple(branches), None, comment)


def product_token_limits(gateway: Gateway, product: Product) -> ScopeLimits:
    """A product's token limits at product scope, counted per subscription."""

    def key_of(deployment: str | None) -> str:
        return counter_keys.product_counter_key(gateway, product, deployment)

    return _scope(gateway, product.limit, product.model_limits, key_of)
