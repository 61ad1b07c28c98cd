"""Chargeback: tokens and cost per consumer, model deployment and calendar month (UTC).

`tokengate usage` reads a Log Analytics export (the rows of `out/queries/llm-usage-export.kql`)
with the trace reader `simulate` uses, attributes every request to its consumer (the APIM
subscription, `ApimSubscriptionId`), its deployment (`DeploymentName`) and its UTC month, and
prices each group with the spec's price table: the deployment's model, version and SKU from the
spec → `PriceTable.find` → `Price.cost`. Costs are linear in tokens, so a group's cost is its
token sums priced once, exactly (`Decimal`); they are rounded only for display (`display`).

A deployment the spec does not have, or one without a per-token price (provisioned SKUs, models
missing from the table), keeps its tokens and has cost None ("no price"); `Usage.warnings`
names each one. `simulate` prices its admitted requests with the same `rates` and `price`.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import ROUND_FLOOR, ROUND_HALF_UP, Decimal

from generator.budgets import Reachable, pools
from generator.model.gateway import Gateway
from generator.pricing import Price, PriceTable, shipped
from generator.render import markdown_text
from generator.simulate.plan import Needs
from generator.simulate.traces import MAX_PROBLEMS, TraceInvalid, TraceProblem
from generator.simulate.workload import CACHED_TOKENS, CONSUMER, DEPLOYMENT, Workload

NO_PRICE = "no price"
#: A request without a subscription (an API that does not require one) or a deployment name.
NOBODY = "(none)"
#: Costs are shown to the cent, rounded half up; the exact values are in the CSV.
DISPLAY_PLACES = Decimal("0.01")
DISPLAY_ROUNDING = "rounded half up to 0.01"
#: A measured prompt share is printed to 4 places, rounded down (a smaller share prices tokens
#: nearer the output price, so a budget built on it stays on the safe side).
SHARE_PLACES = Decimal("0.0001")

#: What `usage` reads from the export, with the reason a missing column is reported with.
NEEDS = Needs(
    required={
        CONSUMER: "it names the consumer (APIM subscription) each request is charged to",
        DEPLOYMENT: "it names the model deployment whose price applies",
    },
    optional=frozenset({CACHED_TOKENS}),
    consumers=frozenset(),  # a subscription the spec no longer has is still charged
)

_DAY_MS = 86_400_000
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Rate:
    """How one deployment's tokens are priced: its model from the spec and the price found."""

    deployment: str
    #: `gpt-4o 2024-11-20 GlobalStandard`; "" for a deployment the spec does not have.
    model: str
    price: Price | None
    #: Why there is no price ("" when there is one), or a note on the price chosen.
    why: str = ""


def table_of(gateway: Gateway) -> PriceTable:
    return gateway.prices if gateway.prices is not None else shipped()


def rates(gateway: Gateway) -> dict[str, Rate]:
    """Deployment name → its Rate. A name deployed in several accounts (a pool) with different
    prices is priced at the dearest of them (`budgets.Pool.dearest`, as the cost queries and
    the workbook price it), and says so: the export does not say which account served a
    request. A pool with an account the table cannot price has no price."""
    table = table_of(gateway)
    result = {}
    for pool in pools(gateway.accounts, table, gateway.prompt_share):
        named = {f"{d.model} {d.version} {d.sku}" for d in (m.deployment for m in pool.members)}
        models = " / ".join(sorted(named))
        unpriced = next((m for m in pool.members if m.price is None), None)
        if unpriced is not None:  # its tokens cannot be costed
            result[pool.name] = Rate(pool.name, models, None, _why_unpriced(unpriced, table))
            continue
        note = ""
        if pool.distinct_prices > 1:
            note = (
                f"deployed in {len(pool.members)} accounts with different prices: costed at "
                "the highest, the export does not say which account served a request"
            )
        result[pool.name] = Rate(pool.name, models, pool.dearest.price, note)
    return result


def _why_unpriced(member: Reachable, table: PriceTable) -> str:
    deployment = member.deployment
    if member.deployment_type is None:
        return f"{deployment.sku} is provisioned throughput, billed per PTU-hour"
    return (
        f"the price table of {table.effective or 'no date'} has no {member.deployment_type} "
        f"price for {deployment.model} {deployment.version}"
    )


def rate_of(known: dict[str, Rate], deployment: str) -> Rate:
    if deployment in known:
        return known[deployment]
    why = "the request names no deployment" if deployment == NOBODY else "not in the spec"
    return Rate(deployment, "", None, why)


@dataclass(frozen=True)
class Tokens:
    requests: int = 0
    prompt: int = 0
    completion: int = 0
    cached: int = 0

    @property
    def total(self) -> int:
        return self.prompt + self.completion

    def __add__(self, other: Tokens) -> Tokens:
        return Tokens(
            self.requests + other.requests,
            self.prompt + other.prompt,
            self.completion + other.completion,
            self.cached + other.cached,
        )


def price(rate: Rate, tokens: Tokens) -> Decimal | None:
    """The exact cost of `tokens` at `rate`; None without a price."""
    if rate.price is None:
        return None
    return rate.price.cost(tokens.prompt, tokens.completion, tokens.cached)


@dataclass(frozen=True)
class Line:
    """Tokens and cost of one consumer on one deployment in one month."""

    month: str
    consumer: str
    deployment: str
    model: str
    tokens: Tokens
    cost: Decimal | None


@dataclass(frozen=True)
class Total:
    """A sum of lines; `cost` sums the priced ones, `unpriced` counts the others' tokens."""

    tokens: Tokens
    cost: Decimal
    unpriced: int
    #: Lines summed; a total of unpriced lines only has no cost at all.
    priced_lines: int

    @property
    def has_cost(self) -> bool:
        return self.priced_lines > 0


def total(lines: Iterable[Line]) -> Total:
    tokens, cost, unpriced, priced = Tokens(), Decimal(0), 0, 0
    for line in lines:
        tokens += line.tokens
        if line.cost is None:
            unpriced += line.tokens.total
        else:
            cost += line.cost
            priced += 1
    return Total(tokens, cost, unpriced, priced)


@dataclass(frozen=True)
class Usage:
    spec: str
    export: str
    requests: int
    #: First and last request, ISO 8601 UTC.
    first: str
    last: str
    lines: tuple[Line, ...]
    table: PriceTable
    #: The export has a cached-tokens column.
    has_cached: bool
    #: One per deployment whose cost is not (exactly) known: unpriced, or priced at the highest.
    warnings: tuple[str, ...]

    def totals_by(self, attribute: str) -> list[tuple[str, Total]]:
        """Totals per month, consumer or deployment, in that attribute's order."""
        groups: dict[str, list[Line]] = {}
        for line in self.lines:
            groups.setdefault(getattr(line, attribute), []).append(line)
        return [(key, total(groups[key])) for key in sorted(groups)]

    @property
    def total(self) -> Total:
        return total(self.lines)


def _month_of(day: int, months: dict[int, str]) -> str:
    month = months.get(day)
    if month is None:
        moment = _EPOCH + timedelta(days=day)
        month = months[day] = f"{moment.year:04d}-{moment.month:02d}"
    return month


def cached_counts(workload: Workload) -> list[int] | None:
    """The cached-tokens column as numbers (empty cells 0); None when the export has none.
    Raises TraceInvalid for a value that is not a whole number from 0 to the prompt tokens."""
    column = workload.text.get(CACHED_TOKENS)
    if column is None:
        return None
    counts: list[int] = []
    problems: list[TraceProblem] = []
    for number, (text, prompt) in enumerate(zip(column, workload.prompt, strict=True), 1):
        cell = text.strip()
        try:
            value = int(cell) if cell else 0
        except ValueError:
            value = -1
        if not 0 <= value <= prompt:
            where = f"request {number}"
            problems.append(
                TraceProblem(
                    workload.source,
                    where,
                    f"cached tokens {cell!r} is not a whole number from 0 to the request's "
                    f"{prompt:,} prompt tokens",
                )
            )
            if len(problems) >= MAX_PROBLEMS:
                raise TraceInvalid(problems, stopped=True)
        counts.append(value)
    if problems:
        raise TraceInvalid(problems)
    return counts


def aggregate(gateway: Gateway, workload: Workload) -> Usage:
    """Tokens and cost per month, consumer and deployment of every request in `workload`."""
    from generator.simulate.workload import iso

    cached = cached_counts(workload)
    sums: dict[tuple[str, str, str], list[int]] = {}
    months: dict[int, str] = {}
    consumers = workload.text[CONSUMER]
    deployments = workload.text[DEPLOYMENT]
    cached_column: Iterable[int] = cached if cached is not None else _zeros(len(workload))
    for t, prompt, completion, consumer, deployment, cache in zip(
        workload.times,
        workload.prompt,
        workload.completion,
        consumers,
        deployments,
        cached_column,
        strict=True,
    ):
        key = (_month_of(t // _DAY_MS, months), consumer or NOBODY, deployment or NOBODY)
        entry = sums.get(key)
        if entry is None:
            entry = sums[key] = [0, 0, 0, 0]
        entry[0] += 1
        entry[1] += prompt
        entry[2] += completion
        entry[3] += cache
    known = rates(gateway)
    lines = []
    for (month, consumer, deployment), (requests, prompt, completion, cache) in sorted(
        sums.items()
    ):
        rate = rate_of(known, deployment)
        tokens = Tokens(requests, prompt, completion, cache)
        lines.append(Line(month, consumer, deployment, rate.model, tokens, price(rate, tokens)))
    return Usage(
        spec=gateway.source,
        export=workload.source,
        requests=len(workload),
        first=iso(workload.times[0]),
        last=iso(workload.times[-1]),
        lines=tuple(lines),
        table=table_of(gateway),
        has_cached=cached is not None,
        warnings=tuple(_warnings(lines, known)),
    )


def _zeros(count: int) -> Iterable[int]:
    from itertools import repeat

    return repeat(0, count)


def _warnings(lines: Sequence[Line], known: dict[str, Rate]) -> list[str]:
    tokens: dict[str, int] = {}
    for line in lines:
        tokens[line.deployment] = tokens.get(line.deployment, 0) + line.tokens.total
    warnings = []
    for deployment in sorted(tokens):
        rate = rate_of(known, deployment)
        if rate.price is None:
            warnings.append(
                f"deployment {deployment!r}: {NO_PRICE} ({rate.why}); its "
                f"{tokens[deployment]:,} tokens are counted, their cost is not"
            )
        elif rate.why:
            warnings.append(f"deployment {deployment!r}: {rate.why}")
    return warnings


def display(amount: Decimal) -> str:
    """`1,234.57`: to the cent, rounded half up (only for display)."""
    return f"{amount.quantize(DISPLAY_PLACES, rounding=ROUND_HALF_UP):,}"


def exact(amount: Decimal) -> str:
    """The exact amount in plain digits, without trailing zeros (`0.00325`, `12`)."""
    text = f"{amount:f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def prompt_share(prompt: int, completion: int) -> Decimal | None:
    """Prompt tokens / all tokens, rounded down to 4 places; None without tokens."""
    if prompt + completion == 0:
        return None
    share = Decimal(prompt) / Decimal(prompt + completion)
    return share.quantize(SHARE_PLACES, rounding=ROUND_FLOOR)


CSV_COLUMNS = (
    "row",
    "month",
    "consumer",
    "deployment",
    "model",
    "requests",
    "prompt_tokens",
    "completion_tokens",
    "cached_tokens",
    "total_tokens",
    "cost",
    "currency",
    "unpriced_tokens",
)


def as_csv(usage: Usage) -> str:
    """One `usage` row per consumer, deployment and month, then `total` rows per month, consumer
    and deployment and one for everything. Costs exact; `cached_tokens` only when the export has
    them; a row without a price has cost `no price`."""
    columns = [c for c in CSV_COLUMNS if usage.has_cached or c != "cached_tokens"]
    out = io.StringIO()
    plain = csv.writer(out, lineterminator="\n")
    # With "\n" as the line end the csv module quotes a cell holding "\n" but not one holding
    # a lone "\r", which readers take as a line end: such a row is written fully quoted.
    quoted = csv.writer(out, lineterminator="\n", quoting=csv.QUOTE_ALL)

    def write(cells: list[str]) -> None:
        (quoted if any("\r" in cell for cell in cells) else plain).writerow(cells)

    write(columns)
    currency = usage.table.currency

    def row(kind: str, cells: dict[str, str], tokens: Tokens, cost: str, unpriced: int) -> None:
        values = {
            "row": kind,
            "requests": str(tokens.requests),
            "prompt_tokens": str(tokens.prompt),
            "completion_tokens": str(tokens.completion),
            "cached_tokens": str(tokens.cached),
            "total_tokens": str(tokens.total),
            "cost": cost,
            "currency": currency,
            "unpriced_tokens": str(unpriced),
            **cells,
        }
        write([values.get(c, "") for c in columns])

    for line in usage.lines:
        cost = NO_PRICE if line.cost is None else exact(line.cost)
        unpriced = line.tokens.total if line.cost is None else 0
        cells = {
            "month": line.month,
            "consumer": line.consumer,
            "deployment": line.deployment,
            "model": line.model,
        }
        row("usage", cells, line.tokens, cost, unpriced)
    for attribute in ("month", "consumer", "deployment"):
        for key, sums in usage.totals_by(attribute):
            cells = {attribute: key}
            row(f"total per {attribute}", cells, sums.tokens, _csv_cost(sums), sums.unpriced)
    grand = usage.total
    row("total", {}, grand.tokens, _csv_cost(grand), grand.unpriced)
    return out.getvalue()


def _csv_cost(sums: Total) -> str:
    return exact(sums.cost) if sums.has_cost else NO_PRICE


def _md_cost(sums: Total) -> str:
    if not sums.has_cost:
        return NO_PRICE
    text = display(sums.cost)
    return text + (f" + {NO_PRICE} ({sums.unpriced:,} tokens)" if sums.unpriced else "")


def _cell(text: str) -> str:
    """Text from the export or the spec in a Markdown cell (`render.markdown_text`)."""
    return markdown_text(text) or " "


def as_markdown(usage: Usage) -> str:
    """The same figures as a Markdown document: the lines, totals, prices and rounding."""
    table, currency = usage.table, usage.table.currency
    cached = usage.has_cached
    lines = [
        "# Token usage and cost",
        "",
        f"Export `{_cell(usage.export)}`: {usage.requests:,} requests, {usage.first} to "
        f"{usage.last}, attributed to consumer (APIM subscription), deployment and calendar "
        f"month (UTC) with the deployments of `{_cell(usage.spec)}`.",
        "",
        f"Prices in {currency} per 1M tokens, effective {table.effective or 'undated'}: "
        f"{table.source}. Costs are exact (tokens × price) and {DISPLAY_ROUNDING} {currency} "
        "only for display, totals from the exact costs; the CSV (`--csv`) has them unrounded.",
        "",
        "## Per consumer, deployment and month",
        "",
    ]
    token_header = ["requests", "prompt", "completion", *(["cached"] if cached else [])]
    header = ["month", "consumer", "deployment", "model", *token_header, f"cost ({currency})"]
    body = []
    for line in usage.lines:
        cost = NO_PRICE if line.cost is None else display(line.cost)
        body.append(
            [
                *(line.month, line.consumer, line.deployment, line.model or "-"),
                *_token_cells(line.tokens, cached),
                cost,
            ]
        )
    lines += _md_table(header, body, left=4)
    for attribute, title in (
        ("consumer", "Total per consumer"),
        ("deployment", "Total per deployment"),
        ("month", "Total per month"),
    ):
        lines += ["", f"## {title}", ""]
        rows = [
            [key, *_token_cells(sums.tokens, cached), _md_cost(sums)]
            for key, sums in usage.totals_by(attribute)
        ]
        lines += _md_table([attribute, *token_header, f"cost ({currency})"], rows, left=1)
    grand = usage.total
    lines += [
        "",
        f"**Total: {display(grand.cost) if grand.has_cost else NO_PRICE} {currency}**"
        + (
            f" + {NO_PRICE} for {grand.unpriced:,} tokens"
            if grand.has_cost and grand.unpriced
            else ""
        )
        + f", for {grand.tokens.requests:,} requests and {grand.tokens.total:,} tokens.",
    ]
    if usage.warnings:
        lines += ["", "## Not costed exactly", ""]
        lines += [f"- {_cell(warning)}" for warning in usage.warnings]
    return "\n".join(lines) + "\n"


def _token_cells(tokens: Tokens, cached: bool) -> list[str]:
    cells = [f"{tokens.requests:,}", f"{tokens.prompt:,}", f"{tokens.completion:,}"]
    return cells + ([f"{tokens.cached:,}"] if cached else [])


def _md_table(header: list[str], body: list[list[str]], *, left: int) -> list[str]:
    """A Markdown table; the first `left` columns are text, the others right-aligned numbers."""
    align = ["---"] * left + ["--:"] * (len(header) - left)
    rows = [header, align, *([_cell(c) for c in row] for row in body)]
    return ["| " + " | ".join(row) + " |" for row in rows]
