"""What a simulation found, as a terminal table or JSON: per counter, metrics, assumptions.

A row is one token-limit counter (what APIM counts a budget against): with the default
`subscription` key, one per consumer. Rows show requests, allowed, 429s, 403s, tokens consumed,
the peak tokens per minute and the first refusal. The cost section prices the allowed requests
per consumer and deployment (tokens x price, `generator.usage`), with the prompt share measured
on the workload. The metric section lists what the emit-token-metric policy would send to
Application Insights, per dimension value.
"""

from __future__ import annotations

import json
import textwrap
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from generator import usage
from generator.simulate.semantics import METRIC_NAMES, RULES
from generator.simulate.simulation import Simulation
from generator.simulate.workload import iso

#: Width of wrapped prose in the table.
WRAP = 100
#: Rows and dimension values shown in the table (JSON has them all).
TABLE_ROWS = 30
TABLE_VALUES = 10
#: "a limit of 50,000 total active time series per region in a subscription" (LEARN_EMIT_METRIC).
ACTIVE_TIME_SERIES_LIMIT = 50_000


@dataclass(frozen=True)
class CounterRow:
    counter: int
    #: The consumers whose requests this counter counted (several when they share a key value).
    consumers: tuple[str, ...]
    budget: str
    #: The counter-key value after the scope prefix (the subscription, IP, header value, ...).
    key_value: str
    key: str
    tokens_per_minute: int | None
    quota: int | None
    quota_period: str | None
    requests: int
    allowed: int
    rate_limited: int
    quota_exceeded: int
    prompt_tokens: int
    completion_tokens: int
    peak_tokens_per_minute: int
    first_refusal: str | None
    max_retry_after: int

    @property
    def consumer(self) -> str:
        return ", ".join(self.consumers)

    @property
    def refused(self) -> int:
        return self.rate_limited + self.quota_exceeded

    @property
    def tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens

    def json(self) -> dict[str, Any]:
        return {
            "consumers": list(self.consumers),
            "budget": self.budget,
            "counterKey": self.key,
            "counterKeyValue": self.key_value,
            "tokensPerMinute": self.tokens_per_minute,
            "quota": self.quota,
            "quotaPeriod": self.quota_period,
            "requests": self.requests,
            "allowed": self.allowed,
            "rateLimited429": self.rate_limited,
            "quotaExceeded403": self.quota_exceeded,
            "promptTokens": self.prompt_tokens,
            "completionTokens": self.completion_tokens,
            "totalTokens": self.tokens,
            "peakTokensPerMinute": self.peak_tokens_per_minute,
            "firstRefusal": self.first_refusal,
            "maxRetryAfterSeconds": self.max_retry_after,
        }


def counter_rows(simulation: Simulation) -> list[CounterRow]:
    """One row per counter, in budget order, then consumer and key value."""
    resolved, tally = simulation.resolved, simulation.result.tally
    budgets = simulation.plan.budgets
    rows = []
    for counter, key in enumerate(resolved.counter_keys):
        number = resolved.counter_budget[counter]
        budget = budgets[number] if number >= 0 else None
        limit = budget.limit if budget else None
        prefix = budget.counter_key.prefix if budget else ""
        first = tally.first_throttle[counter]
        rows.append(
            CounterRow(
                counter=counter,
                consumers=resolved.counter_consumers[counter],
                budget=budget.label if budget else "none",
                key_value=key.removeprefix(prefix),
                key=key,
                tokens_per_minute=limit.tokens_per_minute if limit else None,
                quota=limit.quota if limit else None,
                quota_period=limit.quota_period if limit else None,
                requests=tally.requests[counter],
                allowed=tally.allowed[counter],
                rate_limited=tally.rate_limited[counter],
                quota_exceeded=tally.quota_exceeded[counter],
                prompt_tokens=tally.prompt_tokens[counter],
                completion_tokens=tally.completion_tokens[counter],
                peak_tokens_per_minute=tally.peak[counter],
                first_refusal=iso(first) if first >= 0 else None,
                max_retry_after=tally.max_retry_after[counter],
            )
        )
    order = {b.label: i for i, b in enumerate(budgets)}
    return sorted(rows, key=lambda r: (order.get(r.budget, len(order)), r.consumer, r.key_value))


@dataclass(frozen=True)
class MetricValue:
    dimension: str
    value: str
    requests: int
    prompt_tokens: int
    completion_tokens: int

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens


def metric_values(simulation: Simulation) -> list[MetricValue]:
    """Token totals per dimension value (allowed requests only), busiest first per dimension."""
    combos, by_combo = simulation.resolved.combos, simulation.combo_totals
    found = []
    for position, dimension in enumerate(simulation.plan.dimensions):
        totals: dict[str, list[int]] = {}
        for values, (requests, prompt, completion) in zip(combos, by_combo, strict=True):
            entry = totals.setdefault(values[position], [0, 0, 0])
            entry[0] += requests
            entry[1] += prompt
            entry[2] += completion
        for value, (requests, prompt, completion) in totals.items():
            if requests:
                found.append(MetricValue(dimension.name, value, requests, prompt, completion))
    order = {d.name: i for i, d in enumerate(simulation.plan.dimensions)}
    return sorted(found, key=lambda m: (order[m.dimension], -m.total_tokens, m.value))


@dataclass(frozen=True)
class CostRow:
    """Allowed requests of one consumer on one deployment, and what their tokens cost."""

    consumer: str
    deployment: str
    model: str
    tokens: usage.Tokens
    #: Exact; None when the deployment has no per-token price (`why` says why).
    cost: Decimal | None
    why: str

    def json(self) -> dict[str, Any]:
        return {
            "consumer": self.consumer,
            "deployment": self.deployment,
            "model": self.model or None,
            "requests": self.tokens.requests,
            "promptTokens": self.tokens.prompt,
            "completionTokens": self.tokens.completion,
            "cost": None if self.cost is None else usage.exact(self.cost),
            "noPrice": self.why if self.cost is None else None,
        }


def cost_rows(simulation: Simulation) -> list[CostRow]:
    """Tokens x price of the allowed requests, per consumer and deployment, in that order.

    A workload without deployments (or a row without one) is on the spec's deployment when
    it has only one; otherwise it has no price. Cached input is not in a trace: it costs as
    input, so these costs are at most what Azure bills.
    """
    gateway, result = simulation.plan.gateway, simulation.result
    names = sorted({d.name for a in gateway.accounts for d in a.deployments})
    fallback = names[0] if len(names) == 1 else usage.NOBODY
    # The engine summed the allowed requests per tally group (one consumer and deployment
    # each), so this folds a few groups instead of reading a million rows again.
    sums = zip(
        simulation.resolved.groups,
        result.group_requests,
        result.group_prompt,
        result.group_completion,
        strict=True,
    )
    merged: dict[tuple[str, str], usage.Tokens] = {}
    for group, requests, prompt, completion in sums:
        if not requests:
            continue
        key = (group.consumer or usage.NOBODY, group.deployment or fallback)
        merged[key] = merged.get(key, usage.Tokens()) + usage.Tokens(requests, prompt, completion)
    known = usage.rates(gateway)
    found = []
    for (consumer, deployment), tokens in sorted(merged.items()):
        rate = usage.rate_of(known, deployment)
        found.append(
            CostRow(consumer, deployment, rate.model, tokens, usage.price(rate, tokens), rate.why)
        )
    return found


def measured_prompt_share(simulation: Simulation) -> Decimal | None:
    """Prompt tokens / all tokens of the workload (refused requests too), rounded down."""
    workload = simulation.workload
    return usage.prompt_share(sum(workload.prompt), sum(workload.completion))


def _costs_json(simulation: Simulation) -> dict[str, Any]:
    rows = cost_rows(simulation)
    table = usage.table_of(simulation.plan.gateway)
    priced = [r.cost for r in rows if r.cost is not None]
    share = measured_prompt_share(simulation)
    return {
        "currency": table.currency,
        "pricesEffective": table.effective,
        "pricesSource": table.source,
        "rows": [r.json() for r in rows],
        "total": usage.exact(sum(priced, Decimal(0))) if priced else None,
        "unpricedTokens": sum(r.tokens.total for r in rows if r.cost is None),
        "measuredPromptShare": None if share is None else str(share),
        "specPromptShare": str(simulation.plan.gateway.prompt_share),
    }


def time_series(simulation: Simulation) -> int:
    """Dimension combinations that received data: each is one time series per metric."""
    return sum(1 for requests, _, _ in simulation.combo_totals if requests)


def as_json(simulation: Simulation, extra: dict[str, Any] | None = None) -> str:
    """The whole report as JSON (stable key order, one document)."""
    plan = simulation.plan
    gateway = plan.gateway
    token_limit = gateway.token_limit
    metrics = gateway.token_metrics
    document: dict[str, Any] = {
        "spec": gateway.source,
        "workload": _workload_summary(simulation),
        "gateway": {
            "tier": gateway.apim.sku,
            "counterKey": token_limit.counter_key.kind if token_limit else None,
            "estimatePromptTokens": plan.estimate_prompt_tokens,
        },
        "counters": [row.json() for row in counter_rows(simulation)],
        "costs": _costs_json(simulation),
        "metrics": None,
        "assumptions": [
            {"name": a.name, "value": a.value, "option": a.option or None, "why": a.why}
            for a in _assumptions(simulation)
        ],
        "semantics": [{"rule": r.text, "source": r.source} for r in RULES],
    }
    if metrics is not None:
        names = [d.name for d in plan.dimensions]
        document["metrics"] = {
            "namespace": metrics.namespace,
            "metrics": list(METRIC_NAMES),
            "timeSeries": time_series(simulation),
            "byDimension": [
                {
                    "dimension": m.dimension,
                    "value": m.value,
                    "requests": m.requests,
                    "promptTokens": m.prompt_tokens,
                    "completionTokens": m.completion_tokens,
                    "totalTokens": m.total_tokens,
                }
                for m in metric_values(simulation)
            ],
            "series": [
                {
                    "dimensions": dict(zip(names, values, strict=True)),
                    "requests": requests,
                    "promptTokens": prompt,
                    "completionTokens": completion,
                    "totalTokens": prompt + completion,
                }
                for values, (requests, prompt, completion) in sorted(
                    zip(simulation.resolved.combos, simulation.combo_totals, strict=True),
                    key=lambda item: item[0],
                )
                if requests
            ],
        }
    document.update(extra or {})
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def _workload_summary(simulation: Simulation) -> dict[str, Any]:
    workload = simulation.workload
    return {
        "source": workload.source,
        "description": workload.description,
        "requests": len(workload),
        "start": iso(workload.times[0]) if len(workload) else None,
        "end": iso(workload.times[-1]) if len(workload) else None,
    }


def _assumptions(simulation: Simulation) -> list[Any]:
    workload = simulation.workload
    return simulation.assumptions.listed(
        without_duration=workload.without_duration,
        requests=len(workload),
        gateway_tier=simulation.plan.gateway.apim.sku,
        per_model=simulation.plan.has_model_limits,
    )


def as_table(simulation: Simulation) -> str:
    """The report for a terminal: fixed-width columns, thousands separators."""
    workload, plan = simulation.workload, simulation.plan
    gateway = plan.gateway
    token_limit = gateway.token_limit
    limits = (
        f"counter key {token_limit.counter_key.kind}, estimatePromptTokens "
        f"{str(plan.estimate_prompt_tokens).lower()}, tier {gateway.apim.sku}"
        if token_limit
        else "no token limit: every request is allowed"
    )
    lines = [
        f"spec      {gateway.source}: {limits}",
        f"workload  {workload.source}: {len(workload):,} requests, {_when(workload.times[0])} "
        f"to {_when(workload.times[-1])} ({_span(workload.span_ms)})",
    ]
    if workload.description:
        lines.append(f"          {workload.description}")
    rows = counter_rows(simulation)
    lines += ["", *_counter_table(rows)]
    lines += ["", *_cost_table(simulation)]
    if gateway.token_metrics is not None:
        lines += ["", *_metric_table(simulation)]
    lines += ["", "Assumptions where the documentation is silent (change with the option shown):"]
    for item in _assumptions(simulation):
        lines.append(f"  {item.name}: {item.value}" + (f"  [{item.option}]" if item.option else ""))
        lines += textwrap.wrap(item.why, WRAP, initial_indent="    ", subsequent_indent="    ")
    return "\n".join(lines) + "\n"


def _counter_table(rows: list[CounterRow]) -> list[str]:
    shown = rows
    if len(rows) > TABLE_ROWS:
        busiest = sorted(rows, key=lambda r: (-r.refused, -r.tokens, r.consumer, r.key_value))
        keep = set(map(id, busiest[:TABLE_ROWS]))
        shown = [r for r in rows if id(r) in keep]
    with_values = any(r.key_value != r.consumer for r in shown if r.budget != "none")
    header = [
        "consumer",
        *(["counter"] if with_values else []),
        "budget",
        "limit",
        "requests",
        "allowed",
        "429",
        "403",
        "tokens",
        "peak/min",
        "first refusal",
    ]
    body = []
    for row in shown:
        body.append(
            [
                row.consumer or "(none)",
                *([row.key_value if row.budget != "none" else "-"] if with_values else []),
                row.budget,
                _limit(row),
                f"{row.requests:,}",
                f"{row.allowed:,}",
                f"{row.rate_limited:,}",
                f"{row.quota_exceeded:,}",
                f"{row.tokens:,}",
                f"{row.peak_tokens_per_minute:,}",
                _when(row.first_refusal) if row.first_refusal else "-",
            ]
        )
    first_number = 4 if with_values else 3
    lines = [
        "Token limits (one row per counter):",
        *_columns(header, body, numbers=range(first_number, len(header) - 1)),
    ]
    if len(rows) > len(shown):
        hidden = len(rows) - len(shown)
        lines.append(f"  ... {hidden:,} quieter counters not shown (--format json has all)")
    return lines


def _cost_table(simulation: Simulation) -> list[str]:
    rows = cost_rows(simulation)
    table = usage.table_of(simulation.plan.gateway)
    currency = table.currency
    lines = [
        f"Cost of the allowed requests (tokens x price per 1M tokens, prices effective "
        f"{table.effective or 'undated'}; {usage.DISPLAY_ROUNDING} {currency} for display):"
    ]
    shown = rows[:TABLE_ROWS]
    body = [
        [
            row.consumer,
            row.deployment,
            row.model or "-",
            f"{row.tokens.requests:,}",
            f"{row.tokens.prompt:,}",
            f"{row.tokens.completion:,}",
            usage.NO_PRICE if row.cost is None else usage.display(row.cost),
        ]
        for row in shown
    ]
    priced = [r.cost for r in rows if r.cost is not None]
    grand = usage.display(sum(priced, Decimal(0))) if priced else usage.NO_PRICE
    requests = sum(r.tokens.requests for r in rows)
    prompt, completion = sum(r.tokens.prompt for r in rows), sum(r.tokens.completion for r in rows)
    body.append(["total", "", "", f"{requests:,}", f"{prompt:,}", f"{completion:,}", grand])
    header = ["consumer", "deployment", "model", "requests", "prompt", "completion"]
    lines += _columns([*header, f"cost ({currency})"], body, numbers=range(3, 7))
    if len(rows) > len(shown):
        lines.append(f"  ... {len(rows) - len(shown):,} more rows (--format json has all)")
    unpriced: dict[str, tuple[int, str]] = {}
    for row in rows:
        if row.cost is None:
            tokens, _ = unpriced.get(row.deployment, (0, ""))
            unpriced[row.deployment] = (tokens + row.tokens.total, row.why)
    for deployment, (tokens, why) in sorted(unpriced.items()):
        note = f"{deployment}: {usage.NO_PRICE} ({why}); its {tokens:,} tokens are not in the total"
        lines += textwrap.wrap(note, WRAP, initial_indent="  ", subsequent_indent="    ")
    share = measured_prompt_share(simulation)
    if share is not None:
        spec_share = simulation.plan.gateway.prompt_share
        note = (
            f"measured prompt share {share} (prompt / all tokens of the workload, refused "
            f"requests too, rounded down): put it in pricing.promptShare (the spec has "
            f"{spec_share})"
        )
        lines += textwrap.wrap(note, WRAP, initial_indent="  ", subsequent_indent="    ")
    return lines


def _metric_table(simulation: Simulation) -> list[str]:
    metrics = simulation.plan.gateway.token_metrics
    assert metrics is not None
    series = time_series(simulation)
    lines = [
        f"Metrics Application Insights would receive (namespace {metrics.namespace}; "
        f"{', '.join(METRIC_NAMES)}; allowed requests only):"
    ]
    values = metric_values(simulation)
    body: list[list[str]] = []
    shown: dict[str, int] = {}
    for m in values:
        shown[m.dimension] = shown.get(m.dimension, 0) + 1
        if shown[m.dimension] <= TABLE_VALUES:
            body.append(
                [
                    m.dimension,
                    m.value if m.value else '""',
                    f"{m.requests:,}",
                    f"{m.prompt_tokens:,}",
                    f"{m.completion_tokens:,}",
                    f"{m.total_tokens:,}",
                ]
            )
    header = ["dimension", "value", "requests", "prompt", "completion", "total"]
    lines += _columns(header, body, numbers=range(2, 6))
    hidden = {d: n - TABLE_VALUES for d, n in shown.items() if n > TABLE_VALUES}
    for dimension, count in hidden.items():
        lines.append(f"  ... {count:,} more values of {dimension}")
    note = f"  {series:,} dimension combination(s): {series:,} time series per metric"
    if series > ACTIVE_TIME_SERIES_LIMIT:
        note += f", over Azure Monitor's {ACTIVE_TIME_SERIES_LIMIT:,} active series limit"
    lines.append(note)
    return lines


def _columns(header: list[str], body: list[list[str]], *, numbers: range) -> list[str]:
    """Aligned text columns; the columns in `numbers` are right-aligned."""
    widths = [max(len(row[i]) for row in [header, *body]) for i in range(len(header))]
    out = []
    for row in [header, *body]:
        cells = [
            cell.rjust(width) if i in numbers else cell.ljust(width)
            for i, (cell, width) in enumerate(zip(row, widths, strict=True))
        ]
        out.append("  " + "  ".join(cells).rstrip())
    return out


def _limit(row: CounterRow) -> str:
    parts = []
    if row.tokens_per_minute is not None:
        parts.append(f"{row.tokens_per_minute:,}/min")
    if row.quota is not None:
        parts.append(f"{row.quota:,}/{row.quota_period}")
    return ", ".join(parts) or "none"


def _when(value: int | str) -> str:
    text = iso(value) if isinstance(value, int) else value
    return text.replace("T", " ")


def _span(ms: int) -> str:
    seconds = ms // 1000
    if seconds < 120:
        return f"{seconds} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"
