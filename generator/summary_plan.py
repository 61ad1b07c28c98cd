"""The counts and rankings SUMMARY.md shows, computed in one pass in Python.

SUMMARY.md stays short at any size: past MAX_LISTED consumers it groups them by budget, past
MAX_LISTED products it lists those with the most consumers. Counting and ranking tens of
thousands of consumers in Jinja filters (and list-copying `namespace()` accumulators) was the
slowest part of rendering a large spec; the template now only formats this plan.
"""

from __future__ import annotations

from dataclasses import dataclass

from generator.model import Gateway, ModelLimit, Product

#: Consumers or products up to this count are listed one by one.
MAX_LISTED = 100


@dataclass(frozen=True)
class SummaryPlan:
    #: Consumers per product name (products nobody subscribes to are absent).
    per_product: dict[str, int]
    #: Names of the consumers whose own budget is a branch of the API policy.
    own_budget: frozenset[str]
    in_products: int
    on_default: int
    #: The products listed (all of them, or the MAX_LISTED with the most consumers).
    listed_products: tuple[Product, ...]
    #: Products not listed, and the consumers they have between them.
    other_products: int
    other_consumers: int
    #: The consumers' tokens-per-minute limits added up.
    consumer_tpm: int
    max_listed: int = MAX_LISTED
    #: Per-model limits as (scope, limit): the default's, each own-budget consumer's, each
    #: listed product's.
    model_limits: tuple[tuple[str, ModelLimit], ...] = ()


def summary_plan(gateway: Gateway) -> SummaryPlan:
    per_product: dict[str, int] = {}
    own_budget = frozenset(c.name for c in gateway.branch_consumers)
    in_products = on_default = consumer_tpm = 0
    for consumer in gateway.consumers:
        if consumer.product:
            per_product[consumer.product] = per_product.get(consumer.product, 0) + 1
            in_products += 1
        elif consumer.name not in own_budget:
            on_default += 1
        if consumer.limit is not None and consumer.limit.tokens_per_minute is not None:
            consumer_tpm += consumer.limit.tokens_per_minute
    products = list(gateway.products)
    listed, other_products, other_consumers = products, 0, 0
    if len(products) > MAX_LISTED:
        # The products most consumers subscribe to, in spec order among equals (a stable sort).
        ranked = sorted(products, key=lambda p: per_product.get(p.name, 0), reverse=True)
        listed = ranked[:MAX_LISTED]
        other_products = len(ranked) - MAX_LISTED
        other_consumers = sum(per_product.get(p.name, 0) for p in ranked[MAX_LISTED:])
    model_limits: list[tuple[str, ModelLimit]] = []
    if gateway.token_limit is not None:
        model_limits += [("default", m) for m in gateway.token_limit.model_limits]
    for consumer in gateway.branch_consumers:
        model_limits += [(f"consumer {consumer.name}", m) for m in consumer.model_limits]
    for product in listed:
        model_limits += [(f"product {product.name}", m) for m in product.model_limits]
    return SummaryPlan(
        per_product=per_product,
        own_budget=own_budget,
        in_products=in_products,
        on_default=on_default,
        listed_products=tuple(listed),
        other_products=other_products,
        other_consumers=other_consumers,
        consumer_tpm=consumer_tpm,
        model_limits=tuple(model_limits),
    )
