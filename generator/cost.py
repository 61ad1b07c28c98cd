"""What a gateway's token limits may cost: the monthly cost ceiling (issue 14).

A limit lets through at most, in any calendar month (31 days at most),

    min(quota x the periods a month can touch, tokensPerMinute * 44,640)

tokens. Quota periods start on calendar boundaries (LEARN_AOAI_LIMIT in simulate/semantics.py:
"the UTC timestamp truncated to the unit"), so a month can touch 744 hourly periods, 31 daily
ones, 6 weekly ones (a day of one week, four whole weeks, two days of a sixth), one monthly
period, and one yearly period, whose whole quota it may spend. Those tokens cost at most that
many at the blended price of the most expensive deployment the consumer can reach
(generator/budgets.py `dearest`): whatever model they go to, the bill cannot be higher. A
consumer without any limit has no ceiling, and then neither has the total. Per product, the
ceiling is its consumers' added up (each subscription has its own counter); in total, every
consumer's. With a counter key that is not the subscription (an IP address, a header, a claim,
an expression), every value of the key has a counter of its own: a ceiling is then one key
value's, and the total has none.

Money stays exact (Decimal, tokens as fractions) until it is shown: `cents` rounds up, so the
ceiling printed is never below the true one. SUMMARY.md and `diff` both use this module.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_CEILING, Decimal
from fractions import Fraction

from generator import budgets, counter_keys, pricing
from generator.model.gateway import Gateway, Limit
from generator.model.kinds import QuotaPeriod

#: Minutes in the longest calendar month, the month every ceiling is given for.
MINUTES_PER_MONTH = 31 * 24 * 60
#: How many of each quota period one calendar month can touch.
PERIODS_PER_MONTH: dict[QuotaPeriod, Fraction] = {
    "Hourly": Fraction(31 * 24),
    "Daily": Fraction(31),
    "Weekly": Fraction(6),
    "Monthly": Fraction(1),
    "Yearly": Fraction(1),
}


def monthly_tokens(limit: Limit | None) -> Fraction | None:
    """The most tokens `limit` lets through in a calendar month; None: no limit, no ceiling."""
    if limit is None:
        return None
    caps = []
    if limit.tokens_per_minute is not None:
        caps.append(Fraction(limit.tokens_per_minute * MINUTES_PER_MONTH))
    if limit.quota is not None and limit.quota_period is not None:
        caps.append(limit.quota * PERIODS_PER_MONTH[limit.quota_period])
    return min(caps) if caps else None


def cost_of(tokens: Fraction, blended: Decimal) -> Decimal:
    """What `tokens` cost at `blended` per 1M tokens (one division, at the end)."""
    return Decimal(tokens.numerator) * blended / (tokens.denominator * pricing.PER_TOKENS)


def cents(amount: Decimal) -> Decimal:
    """`amount` rounded up to the cent: a ceiling printed is never below the true one."""
    return amount.quantize(Decimal("0.01"), rounding=ROUND_CEILING)


@dataclass(frozen=True)
class Ceiling:
    """The most a month may cost under one limit, or under several added up."""

    #: None: unlimited (no ceiling).
    tokens: Fraction | None
    cost: Decimal | None

    @property
    def whole_tokens(self) -> int | None:
        return None if self.tokens is None else int(self.tokens)


UNLIMITED = Ceiling(None, None)


def _add(a: Ceiling, b: Ceiling) -> Ceiling:
    if a.tokens is None or b.tokens is None or a.cost is None or b.cost is None:
        return UNLIMITED
    return Ceiling(a.tokens + b.tokens, a.cost + b.cost)


@dataclass(frozen=True)
class CostCeilings:
    """The monthly cost ceilings of a gateway, at `price` (the dearest deployment)."""

    price: budgets.BudgetPrice
    currency: str
    #: The default limit's ceiling: one caller's (any caller without a consumer of its own).
    default: Ceiling | None
    #: Per consumer, in spec order.
    consumers: tuple[tuple[str, Ceiling], ...]
    #: Per product (its consumers added up), in spec order; products nobody uses cost 0.
    products: tuple[tuple[str, Ceiling], ...]
    #: Every consumer's added up.
    total: Ceiling
    #: Consumers without any limit (then the total has no ceiling).
    unlimited: int
    #: What a counter is kept per when that is not the subscription ("IP address", ...): each
    #: ceiling is one key value's, and the total has none. None: per subscription.
    counted_per: str | None = None


def ceiling(limit: Limit | None, price: budgets.BudgetPrice) -> Ceiling:
    tokens = monthly_tokens(limit)
    if tokens is None:
        return UNLIMITED
    return Ceiling(tokens, cost_of(tokens, price.blended))


def cost_ceilings(gateway: Gateway) -> CostCeilings | None:
    """The gateway's monthly cost ceilings; None when no deployment has a per-token price."""
    prices = gateway.prices or pricing.shipped()
    price = budgets.dearest(gateway.accounts, prices, gateway.prompt_share)
    if price is None:
        return None
    seen: dict[Limit | None, Ceiling] = {}
    consumers = []
    per_product: dict[str, Ceiling] = {
        p.name: Ceiling(Fraction(0), Decimal(0)) for p in gateway.products
    }
    total = Ceiling(Fraction(0), Decimal(0))
    unlimited = 0
    for consumer in gateway.consumers:
        if consumer.limit not in seen:
            seen[consumer.limit] = ceiling(consumer.limit, price)
        found = seen[consumer.limit]
        consumers.append((consumer.name, found))
        if found.tokens is None:
            unlimited += 1
        if consumer.product is not None:
            per_product[consumer.product] = _add(per_product[consumer.product], found)
        total = _add(total, found)
    default = gateway.token_limit.default if gateway.token_limit else None
    counted_per = _counted_per(gateway)
    return CostCeilings(
        price=price,
        currency=prices.currency,
        default=ceiling(default, price) if default is not None else None,
        consumers=tuple(consumers),
        products=tuple(per_product.items()),
        total=UNLIMITED if counted_per else total,
        unlimited=unlimited,
        counted_per=counted_per,
    )


def _counted_per(gateway: Gateway) -> str | None:
    limit = gateway.token_limit
    return None if limit is None else counter_keys.counted_per(limit.counter_key)


def monthly_ceiling(gateway: Gateway) -> tuple[Ceiling, str, str] | None:
    """The gateway's monthly cost ceiling, its currency, and whom it covers: every consumer's
    added up, or one caller's on the default limit when the spec declares no consumer.
    None when no deployment has a per-token price, or the counter key is not the subscription
    (every key value has its own counter: there is no one figure to follow)."""
    found = cost_ceilings(gateway)
    if found is None or found.counted_per is not None:  # a counter per key value: no one figure
        return None
    if not gateway.consumers:
        return found.default or UNLIMITED, found.currency, "per caller"
    return found.total, found.currency, "in total"


#: A currency's sign where one is customary before the amount; others follow it as a code.
CURRENCY_SIGNS = {"USD": "$", "EUR": "€", "GBP": "£"}


def money_text(amount: Decimal, currency: str, *, signed: bool = False) -> str:
    """`$1,200.00`, `1,200.00 CHF`; `signed` adds a plus or a minus sign (U+2212) in front.
    An amount finer than the cent (a budget of 5.005) keeps its digits: rounding it for show
    would print a budget next to a quota that is not its own."""
    sign = ""
    if signed:
        sign = "+" if amount >= 0 else "\u2212"
    magnitude = abs(amount)
    if magnitude == magnitude.quantize(Decimal("0.01")):
        figure = f"{magnitude:,.2f}"
    else:
        figure = f"{magnitude.normalize():,f}"
    symbol = CURRENCY_SIGNS.get(currency)
    return f"{sign}{symbol}{figure}" if symbol else f"{sign}{figure} {currency}"
