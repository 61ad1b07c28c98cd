"""Prices from the Azure Retail Prices API's own JSON (`--prices FILE`, `tokengate prices import`).

A page of https://prices.azure.com/api/retail/prices is `{"BillingCurrency", ..., "Items": [...],
"NextPageLink", "Count"}`; each item is one meter in one region: `retailPrice` per `unitOfMeasure`
(`1K`, `1M`, ...), `armRegionName`, `effectiveStartDate`, `skuName`/`meterName`, `productName`,
`serviceName` and `type`. https://learn.microsoft.com/rest/api/cost-management/retail-prices/azure-retail-prices

Azure OpenAI token meters are named by abbreviation, not by field: `gpt 4o 1120 Inp glbl`,
`gpt-4o-0806-Inp-glbl`, `gpt 4o 1120 cached Inp Data Zone`, `gpt 4o 0513 Output regional`. A
name is split into words; the words for the meter's direction (input, cached input, output) and
deployment type (Global, Data Zone, Regional) are recognised from the lists below, and what is
left names the model, looked up in `MODEL_METERS` (explicit, because a meter says `1120` where a
deployment says `2024-11-20`). Meters of a model not in that table, and the kinds tokengate does
not price per token (Batch, Priority processing, provisioned, fine-tuning, realtime, audio,
image, long context), are skipped and counted; only `type: Consumption` (pay-as-you-go) counts.

Per model, version and deployment type the price most regions carry becomes the entry without a
region; a region whose price differs gets its own entry (`PriceTable.find` prefers it there).
Money is `Decimal` from the number's text in the file, normalised to per 1M tokens.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, Inexact, localcontext
from pathlib import Path
from typing import Any

from generator.errors import TokengateError, json_reason
from generator.pricing import (
    DEPLOYMENT_TYPES,
    MAX_PRICE,
    MIN_TOKEN_PRICE,
    PER_TOKENS,
    DeploymentType,
    Price,
    PriceTable,
    check_currency,
    money,
    parse_table,
)
from generator.safe_files import read_regular

API_URL = "https://prices.azure.com/api/retail/prices"

#: What is left of a meter's name once its direction and deployment words are taken out →
#: (model, version as deployments name it). None: the meter names no version, so its price holds
#: for every version of the model. Names as the Retail Prices API spells them (productName
#: "Azure OpenAI" / "Azure OpenAI GPT5", serviceName "Foundry Models", formerly "Cognitive
#: Services"); docs/pricing.md lists this table.
MODEL_METERS: dict[str, tuple[str, str | None]] = {
    "gpt 4o 0513": ("gpt-4o", "2024-05-13"),
    "gpt 4o 0806": ("gpt-4o", "2024-08-06"),
    "gpt 4o 1120": ("gpt-4o", "2024-11-20"),
    "gpt 4o mini 0718": ("gpt-4o-mini", "2024-07-18"),
    "gpt 4.1": ("gpt-4.1", None),
    "gpt 4.1 mini": ("gpt-4.1-mini", None),
    "gpt 4.1 nano": ("gpt-4.1-nano", None),
    "gpt 5": ("gpt-5", None),
    "gpt 5 mini": ("gpt-5-mini", None),
    "gpt 5 nano": ("gpt-5-nano", None),
    "o1 1217": ("o1", "2024-12-17"),
    "o1 mini": ("o1-mini", None),
    "o3 0416": ("o3", "2025-04-16"),
    "o3 mini 0131": ("o3-mini", "2025-01-31"),
    "o4 mini 0416": ("o4-mini", "2025-04-16"),
}

#: Direction words. A cached word with an input word is cached input.
_INPUT_WORDS = frozenset({"inp", "input", "inpt", "in"})
_OUTPUT_WORDS = frozenset({"outp", "output", "outpt", "opt", "out"})
_CACHED_WORDS = frozenset({"cached", "cchd", "cd"})
#: Deployment-type words ("Data Zone" is joined to one word first).
_TYPE_WORDS: dict[str, DeploymentType] = {
    "glbl": "Global",
    "global": "Global",
    "gl": "Global",
    "datazone": "DataZone",
    "dzone": "DataZone",
    "dz": "DataZone",
    "dzn": "DataZone",
    "regnl": "Regional",
    "regional": "Regional",
    "rgnl": "Regional",
    "regn": "Regional",
}
#: Words the API appends to meterName (skuName has none of them).
_UNIT_WORDS = frozenset({"tokens", "1k", "1m"})
#: Meters that are not pay-as-you-go text tokens: (reason, pattern over the name's words).
_SKIPPED_KINDS: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (reason, re.compile(pattern))
    for reason, pattern in (
        ("batch", r"batch"),
        ("priority", r"\bpriority|\bpp\b"),
        ("provisioned", r"\bprovisioned|\bptu"),
        ("fine-tuning", r"\bft\b|\bfine ?tun|\btraining|\bhosting"),
        ("realtime", r"realtime|\brt\b"),
        ("audio", r"\baud|transcri|\btrscb|\btts\b"),
        ("image", r"\bimage|\bimg\b"),
        ("long context", r"\blongco|\blong context"),
    )
)
_UNIT = re.compile(r"^\s*(\d+)\s*([KM]?)(?:\s+tokens)?\s*$", re.IGNORECASE)
_UNIT_FACTOR = {"": 1, "K": 1_000, "M": 1_000_000}


@dataclass(frozen=True)
class Meter:
    """What a meter's name says: the model, and which of its prices this is."""

    model: str
    version: str | None
    deployment_type: DeploymentType
    #: "input", "cachedInput" or "output".
    kind: str


def _words(name: str) -> list[str]:
    text = re.sub(r"[-_]+", " ", name.lower())
    text = re.sub(r"\bdata\s+zone\b", "datazone", text)
    return text.split()


def skipped_kind(name: str) -> str | None:
    """Why a meter is not a pay-as-you-go token price (batch, provisioned, ...), else None."""
    words = " ".join(_words(name))
    for reason, pattern in _SKIPPED_KINDS:
        if pattern.search(words):
            return reason
    return None


def read_meter(name: str) -> Meter | str:
    """The meter a name stands for, or what is left of it when that names no known model."""
    words = [w for w in _words(name) if w not in _UNIT_WORDS]
    cached = any(w in _CACHED_WORDS for w in words)
    has_input = any(w in _INPUT_WORDS for w in words)
    has_output = any(w in _OUTPUT_WORDS for w in words)
    types = {_TYPE_WORDS[w] for w in words if w in _TYPE_WORDS}
    rest = " ".join(
        w
        for w in words
        if w not in _INPUT_WORDS | _OUTPUT_WORDS | _CACHED_WORDS and w not in _TYPE_WORDS
    )
    known = MODEL_METERS.get(rest)
    if known is None or len(types) != 1 or has_input == has_output or (cached and has_output):
        return rest
    kind = "output" if has_output else ("cachedInput" if cached else "input")
    return Meter(known[0], known[1], types.pop(), kind)


@dataclass
class ImportReport:
    """What the pages held: the table, and the items left out by reason."""

    table: PriceTable
    items: int = 0
    used: int = 0
    skipped: Counter[str] = field(default_factory=Counter)
    #: Meter names (what is left of them) of models not in MODEL_METERS.
    unmapped: Counter[str] = field(default_factory=Counter)

    def summary(self) -> str:
        parts = [f"{self.items} items: {self.used} token prices used"]
        parts += [f"{count} {reason}" for reason, count in sorted(self.skipped.items())]
        if self.unmapped:
            names = ", ".join(sorted(self.unmapped)[:5])
            more = ", ..." if len(self.unmapped) > 5 else ""
            parts.append(
                f"{sum(self.unmapped.values())} of models tokengate does not map ({names}{more})"
            )
        return "; ".join(parts)


@dataclass(frozen=True)
class _Reading:
    price: Decimal
    effective: str
    where: str


def _text(item: dict[str, Any], key: str, where: str, required: bool = True) -> str:
    value = item.get(key)
    if value is None and not required:
        return ""
    if not isinstance(value, str):
        raise TokengateError(f"{where}.{key}: expected a string, not {value!r}")
    return value


def _per_million(item: dict[str, Any], where: str, minimum: Decimal) -> Decimal:
    """The item's price per 1M tokens, exactly, within the bounds every price table keeps."""
    price = item.get("retailPrice")
    if isinstance(price, str):  # the API gives numbers; text would read as a price elsewhere
        raise TokengateError(f"{where}.retailPrice: expected a number, not {price!r}")
    amount = money(price, f"{where}.retailPrice")
    unit = _text(item, "unitOfMeasure", where)
    match = _UNIT.match(unit)
    if not match or int(match.group(1)) == 0:
        raise TokengateError(
            f"{where}.unitOfMeasure: {unit!r} is not a number of tokens such as 1K or 1M"
        )
    tokens = int(match.group(1)) * _UNIT_FACTOR[match.group(2).upper()]
    with localcontext() as exact:
        exact.prec = 60
        exact.traps[Inexact] = True
        try:
            per_million = amount * PER_TOKENS / tokens
        except Inexact:
            raise TokengateError(
                f"{where}.unitOfMeasure: {amount} per {unit} is no exact price per 1M tokens"
            ) from None
    if not minimum <= per_million <= MAX_PRICE:
        raise TokengateError(
            f"{where}.retailPrice: {per_million.normalize():f} per 1M tokens; a price must be "
            f"from {minimum} to {MAX_PRICE:,} per 1M tokens"
        )
    return per_million


_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", re.ASCII)


def _effective(item: dict[str, Any], where: str) -> str:
    """The item's effectiveStartDate as an ISO 8601 date (the newest date of a meter wins)."""
    text = _text(item, "effectiveStartDate", where)
    if not _DATE.match(text):
        raise TokengateError(
            f"{where}.effectiveStartDate: {text!r} is not an ISO 8601 date such as 2026-08-01"
        )
    return text[:10]


def _items(page: Any, origin: str) -> list[Any]:
    if not isinstance(page, dict) or not isinstance(page.get("Items"), list):
        raise TokengateError(
            f"{origin}: not a Retail Prices API page (an object with an 'Items' list)"
        )
    items: list[Any] = page["Items"]
    return items


def parse_pages(pages: Sequence[tuple[Any, str]]) -> ImportReport:
    """Saved API pages (parsed JSON, file name) → one price table; pages merge."""
    readings: dict[tuple[str, str | None, DeploymentType, str, str], _Reading] = {}
    currency: tuple[str, str] | None = None
    report = ImportReport(PriceTable("USD", "", "", ()))
    for page, origin in pages:
        for index, item in enumerate(_items(page, origin)):
            report.items += 1
            where = f"{origin}: Items[{index}]"
            if not isinstance(item, dict):
                raise TokengateError(f"{where}: each item is an object")
            if item.get("type") != "Consumption":
                report.skipped["not Consumption"] += 1
                continue
            if item.get("isPrimaryMeterRegion") is False:
                report.skipped["non-primary region"] += 1
                continue
            tier = item.get("tierMinimumUnits")
            if tier is not None and (isinstance(tier, bool) or not isinstance(tier, int | Decimal)):
                raise TokengateError(f"{where}.tierMinimumUnits: expected a number, not {tier!r}")
            if tier not in (None, 0):
                report.skipped["higher tiers"] += 1
                continue
            name = _text(item, "skuName", where, required=False) or _text(item, "meterName", where)
            reason = skipped_kind(name)
            if reason:
                report.skipped[reason] += 1
                continue
            meter = read_meter(name)
            if isinstance(meter, str):
                report.unmapped[meter] += 1
                continue
            code = check_currency(_text(item, "currencyCode", where), f"{where}.currencyCode")
            if currency is None:
                currency = (code, where)
            elif code != currency[0]:
                raise TokengateError(
                    f"{where}.currencyCode: {code}, but {currency[1]} is in {currency[0]}; "
                    "save pages of one currency"
                )
            region = _text(item, "armRegionName", where)
            # Cached input may be free; input and output as the spec's prices (pricing.py).
            minimum = Decimal(0) if meter.kind == "cachedInput" else MIN_TOKEN_PRICE
            reading = _Reading(_per_million(item, where, minimum), _effective(item, where), where)
            key = (meter.model, meter.version, meter.deployment_type, region, meter.kind)
            earlier = readings.get(key)
            if earlier is None or reading.effective > earlier.effective:
                readings[key] = reading
            elif reading.effective == earlier.effective and reading.price != earlier.price:
                raise TokengateError(
                    f"{where}: {name!r} in {region} costs {reading.price} per 1M tokens, but "
                    f"{earlier.where} says {earlier.price} from the same date"
                )
            report.used += 1
    if not readings or currency is None:
        names = ", ".join(origin for _, origin in pages)
        raise TokengateError(f"{names}: no Azure OpenAI token prices tokengate knows in the Items")
    prices = _prices(readings)
    if not prices:
        names = ", ".join(origin for _, origin in pages)
        raise TokengateError(
            f"{names}: no model has both an input and an output price in the Items "
            "(a token price needs both)"
        )
    dates = sorted({r.effective for r in readings.values()})
    report.table = PriceTable(
        currency=currency[0],
        effective=dates[-1],
        source=f"Azure Retail Prices API ({API_URL}), saved pages: "
        + ", ".join(Path(origin).name for _, origin in pages),
        prices=prices,
    )
    return report


def _prices(
    readings: dict[tuple[str, str | None, DeploymentType, str, str], _Reading],
) -> tuple[Price, ...]:
    """Per model, version and type: the common price without a region, the others with one."""
    by_region: dict[tuple[str, str | None, DeploymentType], dict[str, dict[str, Decimal]]] = {}
    for (model, version, kind_of, region, kind), reading in readings.items():
        by_region.setdefault((model, version, kind_of), {}).setdefault(region, {})[kind] = (
            reading.price
        )
    prices: list[Price] = []
    for (model, version, kind_of), regions in by_region.items():
        triples = {
            region: (rates["input"], rates.get("cachedInput"), rates["output"])
            for region, rates in regions.items()
            if "input" in rates and "output" in rates
        }
        if not triples:
            continue
        counts = Counter(triples.values())
        common = min(counts, key=lambda t: (-counts[t], _order(t)))
        others = sorted(((r, t) for r, t in triples.items() if t != common), key=lambda e: e[0])
        entries: list[tuple[str | None, tuple[Decimal, Decimal | None, Decimal]]] = [
            (None, common),
            *others,
        ]
        for place, (rate_in, rate_cached, rate_out) in entries:
            prices.append(Price(model, version, kind_of, rate_in, rate_out, rate_cached, place))
    return tuple(sorted(prices, key=price_order))


def _order(triple: tuple[Decimal, Decimal | None, Decimal]) -> tuple[Decimal, Decimal, Decimal]:
    return triple[0], Decimal(-1) if triple[1] is None else triple[1], triple[2]


def price_order(price: Price) -> tuple[str, str, int, str]:
    """Model, version, deployment type (Global, Data Zone, Regional), then region."""
    return (
        price.model,
        price.version or "",
        DEPLOYMENT_TYPES.index(price.deployment_type),
        price.region or "",
    )


def read_json(path: Path) -> Any:
    """A JSON file, numbers with a fraction as Decimal (from their text, never via float); a
    FIFO or device is refused, not waited on (`safe_files.read_regular`)."""
    try:
        text = read_regular(path).decode("utf-8")
    except OSError as error:
        raise TokengateError(f"{path}: {error.strerror or error}") from None
    except UnicodeDecodeError:
        raise TokengateError(f"{path}: not UTF-8 text") from None
    try:
        return json.loads(text, parse_float=Decimal)
    except json.JSONDecodeError as error:
        raise TokengateError(
            f"{path}:{error.lineno}:{error.colno}: not JSON ({error.msg})"
        ) from None
    except (ValueError, RecursionError) as error:
        raise TokengateError(f"{path}: not JSON tokengate can read: {json_reason(error)}") from None


def read_price_file(path: Path) -> PriceTable:
    """`--prices FILE`: a Retail Prices API page (it has "Items") or tokengate's own format."""
    data = read_json(path)
    if isinstance(data, dict) and "Items" in data:
        return parse_pages([(data, str(path))]).table
    if isinstance(data, dict) and "prices" in data:
        return parse_table(data, str(path))
    raise TokengateError(
        f"{path}: neither a Retail Prices API page (with 'Items') nor a tokengate price table "
        "(with 'prices')"
    )


def import_pages(paths: Iterable[Path]) -> ImportReport:
    """`tokengate prices import`: saved API pages → one table and what was left out."""
    return parse_pages([(read_json(path), str(path)) for path in paths])


def money_text(amount: Decimal) -> str:
    """A price as text: at least two decimals (2.50, 1.375, 10.00), no exponent, no float."""
    normal = amount.normalize()
    exponent = normal.as_tuple().exponent
    if isinstance(exponent, int) and exponent > -2:
        return f"{normal:.2f}"  # formatting, unlike quantize, has no precision limit
    return f"{normal:f}"


def table_json(table: PriceTable) -> str:
    """`table` in tokengate's own format (prices/azure-openai.json), sorted, prices as text."""
    entries = []
    for price in sorted(table.prices, key=price_order):
        entry: dict[str, str] = {"model": price.model}
        if price.version is not None:
            entry["version"] = price.version
        entry["deploymentType"] = price.deployment_type
        if price.region is not None:
            entry["region"] = price.region
        entry["input"] = money_text(price.input)
        if price.cached_input is not None:
            entry["cachedInput"] = money_text(price.cached_input)
        entry["output"] = money_text(price.output)
        entries.append(entry)
    data = {
        "currency": table.currency,
        "unit": "per 1M tokens",
        "effective": table.effective,
        "source": table.source,
        "prices": entries,
    }
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"
