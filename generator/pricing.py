"""Token prices: the table tokengate ships, and the arithmetic of cost.

Money is `Decimal` throughout, so a cost or a budget's token quota can be recomputed by hand
from the table and come out the same to the last digit. Prices are per 1M tokens, as the Azure
Retail Prices API meters them (input, cached input, output), per model, version and deployment
type. A deployment's SKU names its deployment type; provisioned SKUs are billed per PTU-hour,
not per token, so they have no per-token price here (`deployment_type` returns None).

The shipped table is `prices/azure-openai.json`; its `effective` date and `source` travel with
every figure tokengate prints from it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from functools import cache
from typing import Any, Literal, cast

from generator import resources
from generator.errors import TokengateError

DeploymentType = Literal["Global", "DataZone", "Regional"]
DEPLOYMENT_TYPES: tuple[DeploymentType, ...] = ("Global", "DataZone", "Regional")

#: Tokens a price is quoted for.
PER_TOKENS = 1_000_000

#: Deployment SKU (Microsoft.CognitiveServices/accounts/deployments sku.name) → how its tokens
#: are metered. https://learn.microsoft.com/azure/ai-foundry/openai/how-to/deployment-types
_SKU_TYPES: dict[str, DeploymentType | None] = {
    "GlobalStandard": "Global",
    "DataZoneStandard": "DataZone",
    "Standard": "Regional",
    "GlobalProvisionedManaged": None,
    "DataZoneProvisionedManaged": None,
    "ProvisionedManaged": None,
}

SHIPPED_TABLE = "azure-openai.json"


def deployment_type(sku: str) -> DeploymentType | None:
    """How a deployment SKU is metered; None for provisioned throughput (billed per PTU-hour)."""
    return _SKU_TYPES.get(sku)


@dataclass(frozen=True)
class Price:
    """What 1M tokens of one model cost on one deployment type (in one region, if given)."""

    model: str
    #: None: every version of the model.
    version: str | None
    deployment_type: DeploymentType
    input: Decimal
    output: Decimal
    #: None: the model has no cached-input meter; cached tokens cost as input.
    cached_input: Decimal | None = None
    #: None: the price most regions carry; a region here overrides it in that region.
    region: str | None = None

    def cost(self, input_tokens: int, output_tokens: int, cached_tokens: int = 0) -> Decimal:
        """The cost of one request's tokens; `cached_tokens` is the cached part of the input."""
        cached_rate = self.input if self.cached_input is None else self.cached_input
        fresh = input_tokens - cached_tokens
        total = fresh * self.input + cached_tokens * cached_rate + output_tokens * self.output
        return total / PER_TOKENS

    def blended(self, prompt_share: Decimal) -> Decimal:
        """Price per 1M tokens when `prompt_share` of them are prompt (input) tokens.

        Cached input is not counted as cheaper: a budget built on this cannot be exceeded.
        """
        return prompt_share * self.input + (1 - prompt_share) * self.output


@dataclass(frozen=True)
class PriceTable:
    currency: str
    #: The date the prices were read (ISO 8601), printed next to every cost.
    effective: str
    source: str
    prices: tuple[Price, ...]

    def find(
        self,
        model: str,
        version: str | None,
        deployment: DeploymentType,
        region: str | None = None,
    ) -> Price | None:
        """The most specific price for a deployment: exact version before any-version, and the
        region's own price before the common one."""
        best: Price | None = None
        best_rank = -1
        for price in self.prices:
            if price.model != model or price.deployment_type != deployment:
                continue
            if price.version is not None and price.version != version:
                continue
            if price.region is not None and price.region != region:
                continue
            rank = (price.version is not None) * 2 + (price.region is not None)
            if rank > best_rank:
                best, best_rank = price, rank
        return best

    def overridden_by(self, prices: tuple[Price, ...]) -> PriceTable:
        """This table with `prices` in front: an override wins over a shipped price it matches."""
        kept = tuple(p for p in self.prices if not any(_same_key(p, o) for o in prices))
        return PriceTable(self.currency, self.effective, self.source, prices + kept)


def _same_key(a: Price, b: Price) -> bool:
    return (a.model, a.version, a.deployment_type, a.region) == (
        b.model,
        b.version,
        b.deployment_type,
        b.region,
    )


#: The bounds of a price per 1M tokens, the spec schema's (`$defs/price`, and the minimum of
#: `pricing.prices` input and output): every table is held to them, whatever it came from, so
#: no price from a file can overflow the arithmetic or make a budget buy unbounded tokens.
MAX_PRICE = Decimal(1_000_000)
MIN_TOKEN_PRICE = Decimal("0.0001")


def money(value: object, where: str, *, minimum: Decimal = Decimal(0)) -> Decimal:
    """A price from JSON (number or numeric text) as an exact Decimal, within the bounds."""
    if isinstance(value, bool) or not isinstance(value, str | int | float | Decimal):
        raise TokengateError(f"{where}: a price must be a number, not {value!r}")
    try:
        amount = Decimal(str(value))
    except InvalidOperation:
        raise TokengateError(f"{where}: {value!r} is not a price") from None
    if not amount.is_finite() or not minimum <= amount <= MAX_PRICE:
        raise TokengateError(
            f"{where}: a price must be a number from {minimum} to {MAX_PRICE:,} (per 1M tokens)"
        )
    return amount


def check_currency(currency: object, where: str) -> str:
    if not isinstance(currency, str) or len(currency) != 3 or not currency.isupper():
        raise TokengateError(f"{where}: currency must be an ISO 4217 code such as USD")
    return currency


def parse_table(data: Any, origin: str) -> PriceTable:
    """A price table in tokengate's own format (see `prices/azure-openai.json`)."""
    if not isinstance(data, dict) or not isinstance(data.get("prices"), list):
        raise TokengateError(f"{origin}: not a price table (an object with a 'prices' list)")
    prices = []
    first_of: dict[tuple[object, ...], int] = {}
    for index, entry in enumerate(data["prices"]):
        where = f"{origin}: prices[{index}]"
        if not isinstance(entry, dict):
            raise TokengateError(f"{where}: each price is an object")
        kind = entry.get("deploymentType")
        if kind not in DEPLOYMENT_TYPES:
            raise TokengateError(f"{where}: deploymentType must be one of {DEPLOYMENT_TYPES}")
        model, version, region = entry.get("model"), entry.get("version"), entry.get("region")
        if not isinstance(model, str) or not model:
            raise TokengateError(f"{where}: model must be a name")
        if version is not None and not isinstance(version, str):
            raise TokengateError(f"{where}: version must be a string")
        if region is not None and not isinstance(region, str):
            raise TokengateError(f"{where}: region must be a string")
        cached = entry.get("cachedInput")
        key = (model, version, kind, region)
        if key in first_of:
            raise TokengateError(
                f"{where}: the same model, version, deployment type and region as "
                f"prices[{first_of[key]}] (one price each)"
            )
        first_of[key] = index
        prices.append(
            Price(
                model=model,
                version=version,
                deployment_type=cast(DeploymentType, kind),
                input=money(entry.get("input"), where + ".input", minimum=MIN_TOKEN_PRICE),
                output=money(entry.get("output"), where + ".output", minimum=MIN_TOKEN_PRICE),
                cached_input=None if cached is None else money(cached, where + ".cachedInput"),
                region=region,
            )
        )
    return PriceTable(
        currency=check_currency(data.get("currency", "USD"), origin),
        effective=str(data.get("effective", "")),
        source=str(data.get("source", origin)),
        prices=tuple(prices),
    )


@cache
def shipped() -> PriceTable:
    """The price table that ships with tokengate."""
    text = resources.read_text("prices", SHIPPED_TABLE)
    return parse_table(json.loads(text), f"prices/{SHIPPED_TABLE}")
