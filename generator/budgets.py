"""Budgets in money → the token quotas the policy enforces (issue 14).

A budget `{amount, currency, period}` becomes the quota of its period:

    quota = floor(amount / blended price per 1M tokens * 1,000,000)
    blended price = promptShare * input + (1 - promptShare) * output

at the price of the most expensive deployment the consumer can reach: every deployment of the
spec's accounts (a consumer's key opens every route), so whatever models its tokens go to, the
budget cannot be exceeded. Provisioned deployments are billed per PTU-hour, not per token, so
they take no part. All arithmetic is Decimal; `Budget` (model/gateway.py) keeps the numbers so
SUMMARY.md can print the sum.

The spec's price table is the base table (the shipped one, or `--prices FILE`) with the spec's
`pricing.prices` in front (`PriceTable.overridden_by`). The same functions serve the model
(build.py) and the rules (validate/rules/money.py), so both see one table.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from decimal import Decimal, localcontext
from functools import cache
from typing import Any

from generator import pricing, resources
from generator.model.gateway import Account, Budget, Deployment
from generator.model.kinds import QuotaPeriod
from generator.pricing import Price, PriceTable

#: The share of prompt tokens when the spec gives none (schema default of pricing.promptShare).
DEFAULT_PROMPT_SHARE = Decimal("0.75")

#: The shipped table of the most output tokens one response of a model may hold.
MAX_OUTPUT_TABLE = "max-output-tokens.json"


def prompt_share(data: dict[str, Any]) -> Decimal:
    """The spec's `pricing.promptShare` as a Decimal (digit for digit as written)."""
    share = data.get("pricing", {}).get("promptShare")
    return DEFAULT_PROMPT_SHARE if share is None else Decimal(str(share))


def spec_prices(data: dict[str, Any], base: PriceTable | None = None) -> PriceTable:
    """`base` (None: the shipped table) with the spec's `pricing.prices` in front."""
    table = base or pricing.shipped()
    overrides = data.get("pricing", {}).get("prices")
    if not overrides:
        return table
    parsed = pricing.parse_table(
        {"currency": table.currency, "prices": overrides}, "the spec's pricing.prices"
    )
    return table.overridden_by(parsed.prices)


@dataclass(frozen=True)
class Reachable:
    """One deployment a consumer can reach, with what its tokens cost."""

    account: Account
    deployment: Deployment
    #: None: not billed per token (a provisioned SKU).
    deployment_type: pricing.DeploymentType | None
    #: None: billed per token but the table has no price for it.
    price: Price | None

    @property
    def metered(self) -> bool:
        return self.deployment_type is not None


def reachable(accounts: tuple[Account, ...], prices: PriceTable) -> tuple[Reachable, ...]:
    """Every deployment of every account, in spec order, with its price looked up."""
    found = []
    for account in accounts:
        for deployment in account.deployments:
            kind = pricing.deployment_type(deployment.sku)
            price = (
                None
                if kind is None
                else prices.find(deployment.model, deployment.version, kind, account.location)
            )
            found.append(Reachable(account, deployment, kind, price))
    return tuple(found)


@dataclass(frozen=True)
class Pool:
    """One deployment name and every account that deploys it (a pool when more than one): the
    log and the export name the deployment, not the account that answered."""

    name: str
    members: tuple[Reachable, ...]
    share: Decimal

    @property
    def priced(self) -> tuple[Reachable, ...]:
        return tuple(m for m in self.members if m.price is not None)

    @property
    def dearest(self) -> Reachable:
        """The member with the highest blended price (the first among equals), else the first:
        a request costed at it costs at least what it cost, at the spec's prompt share."""
        priced = self.priced
        if not priced:
            return self.members[0]
        return max(priced, key=lambda m: m.price.blended(self.share) if m.price else Decimal(0))

    @property
    def distinct_prices(self) -> int:
        return len({m.price for m in self.priced})


def pools(accounts: tuple[Account, ...], prices: PriceTable, share: Decimal) -> tuple[Pool, ...]:
    """Every deployment name with its members, by name: what the cost queries, the workbook
    and `usage` price a logged request at."""
    found: dict[str, list[Reachable]] = {}
    for item in reachable(accounts, prices):
        found.setdefault(item.deployment.name, []).append(item)
    return tuple(Pool(name, tuple(found[name]), share) for name in sorted(found))


@dataclass(frozen=True)
class BudgetPrice:
    """What every budget of a spec is converted at: the dearest deployment's blended price."""

    deployment: str
    price: Price
    prompt_share: Decimal

    @property
    def blended(self) -> Decimal:
        return self.price.blended(self.prompt_share)


def dearest(
    accounts: tuple[Account, ...], prices: PriceTable, share: Decimal
) -> BudgetPrice | None:
    """The deployment with the highest blended price, and that price; the first one in spec
    order among equals. None when no deployment has a per-token price."""
    best: BudgetPrice | None = None
    for item in reachable(accounts, prices):
        if item.price is None:
            continue
        if best is None or item.price.blended(share) > best.blended:
            best = BudgetPrice(item.deployment.name, item.price, share)
    return best


def quota_for(amount: Decimal, blended: Decimal) -> int:
    """The whole tokens `amount` buys at `blended` per 1M tokens (rounded down: never more).

    Bounded: a budget is at most 1e8 (the schema) and every input and output price at least
    `pricing.MIN_TOKEN_PRICE` in every table, so a quota is at most 1e18 tokens, within the
    64-bit integer the policy's token-quota attribute holds (tests/test_budgets.py).
    """
    with localcontext() as exact:
        exact.prec = 80
        return int((amount * pricing.PER_TOKENS) // blended)


def budget_of(block: dict[str, Any], at: BudgetPrice) -> Budget:
    """The spec's `budget` block converted at `at` (the dearest deployment's price)."""
    amount = Decimal(str(block["amount"]))
    period: QuotaPeriod = block["period"]
    return Budget(
        amount=amount,
        currency=block["currency"],
        period=period,
        deployment=at.deployment,
        price=at.price,
        prompt_share=at.prompt_share,
        quota=quota_for(amount, at.blended),
    )


@dataclass(frozen=True)
class MaxOutput:
    model: str
    #: None: every version without its own entry.
    version: str | None
    tokens: int


@cache
def _max_outputs() -> tuple[tuple[MaxOutput, ...], str]:
    data = json.loads(resources.read_text("prices", MAX_OUTPUT_TABLE))
    entries = tuple(
        MaxOutput(e["model"], e.get("version"), int(e["maxOutputTokens"])) for e in data["models"]
    )
    return entries, str(data["source"])


def max_output_tokens(model: str, version: str) -> int | None:
    """The most output tokens one response of the model may hold; None when not in the table."""
    best: MaxOutput | None = None
    for entry in _max_outputs()[0]:
        if entry.model != model or entry.version not in (None, version):
            continue
        if best is None or entry.version is not None:
            best = entry
    return None if best is None else best.tokens


def max_output_source() -> str:
    return _max_outputs()[1]
