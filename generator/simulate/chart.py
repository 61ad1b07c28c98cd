"""A PNG of tokens per minute per counter, with its limit and the minutes that saw refusals.

One panel per counter (the busiest few), sharing the time axis: tokens requested per UTC minute
(a light area, refused requests included), tokens counted (a line), the tokens-per-minute limit
(dashed) and markers on minutes with 429s or 403s.
matplotlib is optional (`pip install tokengate[chart]`) and imported only here, only when a
chart is asked for.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from generator.errors import TokengateError
from generator.simulate.report import CounterRow, counter_rows
from generator.simulate.semantics import MINUTE_MS
from generator.simulate.simulation import Simulation

#: Panels drawn at most; the busiest counters (most refusals, then most tokens) are chosen.
MAX_PANELS = 6
#: Requested tokens above this multiple of the limit (or counted peak) run off the panel.
CLIP_ABOVE = 3
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_TOKENS, _DEMAND, _LIMIT = "#1f5fa8", "#c9d7e8", "#555555"
_RATE, _QUOTA = "#d62728", "#7b2d8e"


def require_matplotlib() -> None:
    """Fail before any work is done when the chart cannot be drawn."""
    try:
        import matplotlib  # noqa: F401
    except ImportError as error:
        raise TokengateError("the chart needs matplotlib: pip install tokengate[chart]") from error


def write_chart(simulation: Simulation, path: Path) -> None:
    """Draw the chart into `path` (PNG). Raises TokengateError without matplotlib."""
    require_matplotlib()
    from matplotlib import dates
    from matplotlib.figure import Figure

    rows = _busiest(simulation)
    figure = Figure(figsize=(10, 1.2 + 2.1 * max(1, len(rows))), dpi=110, layout="constrained")
    axes_list = figure.subplots(max(1, len(rows)), 1, sharex=True, squeeze=False)[:, 0]
    for axes, row in zip(axes_list, rows, strict=False):
        _panel(axes, row, simulation)
    locator = dates.AutoDateLocator()  # type: ignore[no-untyped-call]
    formatter = dates.ConciseDateFormatter(locator)  # type: ignore[no-untyped-call]
    axes_list[-1].xaxis.set_major_locator(locator)
    axes_list[-1].xaxis.set_major_formatter(formatter)
    axes_list[-1].set_xlabel("time (UTC)")
    title = f"{simulation.plan.gateway.source}: tokens per minute per counter"
    hidden = simulation.counters - len(rows)
    if hidden > 0:
        title += f" (busiest {len(rows)}; {hidden} more in the report)"
    figure.suptitle(title, fontsize=11)
    legend: dict[str, Any] = {}
    for axes in axes_list:
        for handle, label in zip(*axes.get_legend_handles_labels(), strict=True):
            legend.setdefault(label, handle)
    handles, labels = list(legend.values()), list(legend)
    if handles:
        figure.legend(
            handles, labels, loc="outside lower center", ncols=4, fontsize=8, frameon=False
        )
    try:
        figure.savefig(path, format="png", metadata={"Software": None})
    except OSError as error:
        raise TokengateError(f"{path}: cannot write the chart: {error.strerror}") from error


def _busiest(simulation: Simulation) -> list[CounterRow]:
    rows = [r for r in counter_rows(simulation) if r.requests]
    chosen = sorted(rows, key=lambda r: (-r.refused, -r.tokens, r.consumer, r.key_value))
    keep = {id(r) for r in chosen[:MAX_PANELS]}
    return [r for r in rows if id(r) in keep]


def _panel(axes: Any, row: CounterRow, simulation: Simulation) -> None:
    from matplotlib.ticker import StrMethodFormatter

    result = simulation.result
    tokens = result.minute_tokens[row.counter]
    times = simulation.workload.times
    first, last = times[0] // MINUTE_MS, max(times[-1] // MINUTE_MS, max(tokens, default=0))
    minutes = range(first, last + 1)
    # One more step so the last minute has a width.
    x = [_moment(m) for m in range(first, last + 2)]
    y = [tokens.get(m, 0) for m in minutes]
    y.append(y[-1])
    demand = [result.minute_demand[row.counter].get(m, 0) for m in minutes]
    demand.append(demand[-1])
    axes.fill_between(
        x, demand, step="post", color=_DEMAND, linewidth=0, label="tokens requested (refused too)"
    )
    axes.step(x, y, where="post", color=_TOKENS, linewidth=1.1, label="tokens counted")
    if row.tokens_per_minute is not None:
        axes.axhline(
            row.tokens_per_minute,
            color=_LIMIT,
            linestyle="--",
            linewidth=1,
            label=f"tokens-per-minute limit ({simulation.assumptions.minute_window})",
        )
    # Keep the limit and the counted tokens readable when demand is far above them: the
    # requested area is then cut at the top of the panel.
    counted_top = max([*y, row.tokens_per_minute or 0, 1])
    top = min(max([*demand, counted_top]), counted_top * CLIP_ABOVE)
    marks = (
        (result.minute_rate_limited[row.counter], "v", _RATE, "minute with 429s (rate)", 1.03),
        (result.minute_quota_exceeded[row.counter], "x", _QUOTA, "minute with 403s (quota)", 1.08),
    )
    for refused, marker, color, label, height in marks:
        when = [_moment(m) for m in sorted(refused)]
        if when:
            axes.scatter(
                when,
                [top * height] * len(when),
                marker=marker,
                s=16,
                color=color,
                label=label,
                zorder=3,
                linewidths=1,
            )
    axes.set_ylim(0, top * 1.14)
    axes.yaxis.set_major_formatter(StrMethodFormatter("{x:,.0f}"))
    name = row.consumer or "(no subscription)"
    if row.key_value and row.key_value != row.consumer:
        name += f" @ {row.key_value}"
    axes.set_title(
        f"{name}  [{row.budget}]  {row.allowed:,} allowed, {row.rate_limited:,} x 429, "
        f"{row.quota_exceeded:,} x 403",
        fontsize=9,
        loc="left",
    )
    axes.set_ylabel("tokens/min", fontsize=8)
    axes.tick_params(labelsize=8)
    axes.grid(axis="y", alpha=0.3)


def _moment(minute: int) -> datetime:
    return _EPOCH + timedelta(milliseconds=minute * MINUTE_MS)
