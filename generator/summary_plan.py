"""The counts and rankings SUMMARY.md shows, computed in one pass in Python.

SUMMARY.md stays short at any size: past MAX_LISTED consumers it groups them by budget, past
MAX_LISTED products it lists those with the most consumers. Counting and ranking tens of
thousands of consumers in Jinja filters (and list-copying `namespace()` accumulators) was the
slowest part of rendering a large spec; the template now only formats this plan.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from generator import cost
from generator.model import Budget, Gateway, Limit, ModelLimit, Product

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
    #: Budgets in money and cost ceilings; None when the spec has no budget in money.
    money: MoneyPlan | None = None


@dataclass(frozen=True)
class BudgetLine:
    """One budget in money and the sum that made it a token quota."""

    scope: str
    amount: str
    deployment: str
    input: str
    output: str
    share: str
    blended: str
    quota: int
    period: str


@dataclass(frozen=True)
class CeilingLine:
    scope: str
    #: The budget it is measured against, in words ("$5.00 daily"), or "".
    budget: str
    #: None: unlimited.
    tokens: int | None
    cost: str | None


@dataclass(frozen=True)
class MoneyPlan:
    currency: str
    effective: str
    source: str
    share: str
    deployment: str
    blended: str
    budgets: tuple[BudgetLine, ...]
    #: Consumers with their own budget in money beyond MAX_LISTED, not listed.
    other_budgets: int
    #: How the ceilings are computed, in words (the periods a month touches, the key).
    ceiling_rule: str
    ceilings: tuple[CeilingLine, ...]
    total: CeilingLine
    #: Why the total has no ceiling ("" when it has one).
    total_note: str


def _decimal(value: Decimal) -> str:
    """A price or share as written, without trailing zeros past the cents (4.3750 → 4.375)."""
    whole, _, fraction = f"{value.normalize():f}".partition(".")
    return f"{whole}.{fraction.ljust(2, '0')}"


def _budget_line(scope: str, budget: Budget, currency: str) -> BudgetLine:
    return BudgetLine(
        scope=scope,
        amount=cost.money_text(budget.amount, currency),
        deployment=budget.deployment,
        input=_decimal(budget.price.input),
        output=_decimal(budget.price.output),
        share=f"{budget.prompt_share.normalize():f}",
        blended=_decimal(budget.blended),
        quota=budget.quota,
        period=budget.period.lower(),
    )


def _budget_words(limit: Limit | None, currency: str) -> str:
    if limit is None or limit.budget is None:
        return ""
    return f"{cost.money_text(limit.budget.amount, currency)} {limit.budget.period.lower()}"


def _ceiling_line(scope: str, budget: str, found: cost.Ceiling, currency: str) -> CeilingLine:
    money = None if found.cost is None else cost.money_text(cost.cents(found.cost), currency)
    return CeilingLine(scope, budget, found.whole_tokens, money)


def _has_budget(gateway: Gateway) -> bool:
    limits = [gateway.token_limit.default if gateway.token_limit else None]
    limits += [p.limit for p in gateway.products] + [c.override for c in gateway.consumers]
    return any(limit is not None and limit.budget is not None for limit in limits)


def money_plan(gateway: Gateway, listed_products: tuple[Product, ...]) -> MoneyPlan | None:
    """Budgets in money with their arithmetic, and the monthly cost ceilings (generator/cost.py);
    None when the spec has no budget in money (or no deployment has a per-token price)."""
    if not _has_budget(gateway):
        return None
    found = cost.cost_ceilings(gateway)
    if found is None or gateway.prices is None:
        return None
    currency = found.currency
    lines = []
    default = gateway.token_limit.default if gateway.token_limit else None
    if default is not None and default.budget is not None:
        lines.append(_budget_line("default", default.budget, currency))
    for product in listed_products:
        if product.limit is not None and product.limit.budget is not None and not product.generated:
            lines.append(_budget_line(f"product {product.name}", product.limit.budget, currency))
    own = [c for c in gateway.consumers if c.override is not None and c.override.budget]
    for consumer in own[:MAX_LISTED]:
        assert consumer.override is not None and consumer.override.budget is not None
        lines.append(_budget_line(f"consumer {consumer.name}", consumer.override.budget, currency))
    by_name = {c.name: c for c in gateway.consumers}
    rows = []
    if len(gateway.consumers) <= MAX_LISTED:
        for name, ceiling in found.consumers:
            limit = by_name[name].limit
            rows.append(
                _ceiling_line(f"consumer {name}", _budget_words(limit, currency), ceiling, currency)
            )
    if not gateway.consumers and found.default is not None:
        rows.append(
            _ceiling_line(
                "any caller (default)", _budget_words(default, currency), found.default, currency
            )
        )
    listed = {p.name for p in listed_products}
    limits = {p.name: p.limit for p in gateway.products}
    for name, ceiling in found.products:
        if name in listed:
            rows.append(
                _ceiling_line(
                    f"product {name}", _budget_words(limits[name], currency), ceiling, currency
                )
            )
    noun = "consumer" if len(gateway.consumers) == 1 else "consumers"
    total = _ceiling_line(f"total ({len(gateway.consumers):,} {noun})", "", found.total, currency)
    return MoneyPlan(
        currency=currency,
        effective=gateway.prices.effective,
        source=gateway.prices.source,
        share=f"{gateway.prompt_share.normalize():f}",
        deployment=found.price.deployment,
        blended=_decimal(found.price.blended),
        budgets=tuple(lines),
        other_budgets=max(0, len(own) - MAX_LISTED),
        ceiling_rule=_ceiling_rule(found),
        ceilings=tuple(rows),
        total=total,
        total_note=_total_note(found),
    )


def _ceiling_rule(found: cost.CostCeilings) -> str:
    periods = ", ".join(
        f"{int(count):,} {period.lower()}" for period, count in cost.PERIODS_PER_MONTH.items()
    )
    rule = (
        "Monthly cost ceiling: the most a calendar month may cost, the smaller of the quota "
        f"times the periods one month can touch ({periods}) and tokens/min × "
        f"{cost.MINUTES_PER_MONTH:,}, at {_decimal(found.price.blended)} {found.currency} per "
        "1M tokens (rounded up to the cent)."
    )
    if found.counted_per:
        rule += (
            f" The counter key keeps one counter per {found.counted_per}, so each ceiling is "
            f"one {found.counted_per}'s, and nothing bounds how many there are."
        )
    return rule


def _total_note(found: cost.CostCeilings) -> str:
    if found.total.cost is not None:
        return ""
    if found.counted_per:
        return f"no ceiling: one counter per {found.counted_per}"
    noun = "consumer" if found.unlimited == 1 else "consumers"
    return f"no ceiling: {found.unlimited:,} {noun} without a limit"


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
        money=money_plan(gateway, tuple(listed)),
    )
