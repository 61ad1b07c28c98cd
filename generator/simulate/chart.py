"""A PNG of tokens per minute per counter, with its limit and the minutes that saw refusals.

One panel per counter (the busiest few), sharing the time axis: tokens requested per UTC minute
(a light area, refused requests included), tokens counted (a line), the tokens-per-minute limit
(dashed) and markers on minutes with 429s or 403s. Where a quota applies, a second scale on the
right shows the share of the quota used so far in each period (it restarts with every period),
against a line at 100%. Requested tokens far above the limit are cut at the top of the panel,
never silently: each cut minute gets a mark and the tallest one its true value. The time axis
says the first and last request's UTC times; matplotlib's own date "offset" is off, since it
names the last tick's date, which can be the day after the workload ends.
matplotlib is optional (the `chart` extra, see `generator.install`) and imported only here,
only when a chart is asked for.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from generator.errors import TokengateError
from generator.simulate import semantics
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
_CLIPPED = "#e08a00"


def require_matplotlib() -> None:
    """Fail before any work is done when the chart cannot be drawn."""
    try:
        import matplotlib  # noqa: F401
    except ImportError as error:
        from generator.install import extra_hint

        raise TokengateError(f"the chart needs matplotlib: {extra_hint('chart')}") from error


def write_chart(simulation: Simulation, path: Path) -> None:
    """Draw the chart into `path` (PNG). Raises TokengateError without matplotlib."""
    figure = chart_figure(simulation)
    try:
        figure.savefig(path, format="png", metadata={"Software": None})
    except OSError as error:
        raise TokengateError(f"{path}: cannot write the chart: {error.strerror}") from error


def time_range_label(simulation: Simulation) -> str:
    """The first and last request's times (UTC, both included), as the x axis says them."""
    times = simulation.workload.times
    first, last = _moment_ms(times[0]), _moment_ms(times[-1])
    same_day = first.date() == last.date()
    end = last.strftime("%H:%M:%S" if same_day else "%Y-%m-%d %H:%M:%S")
    return f"time (UTC): first request {first:%Y-%m-%d %H:%M:%S}, last {end}"


def quota_used(row: CounterRow, simulation: Simulation) -> dict[int, float]:
    """Per UTC minute: tokens counted so far in the quota period holding it, as a share of the
    quota (the engine counts a quota per counter and period, as APIM does)."""
    if row.quota is None or row.quota_period is None:
        return {}
    tokens = simulation.result.minute_tokens[row.counter]
    times = simulation.workload.times
    first, last = times[0] // MINUTE_MS, max(times[-1] // MINUTE_MS, max(tokens, default=0))
    used: dict[int, float] = {}
    period_end, total = -1, 0
    week_start = simulation.assumptions.week_start
    for minute in range(first, last + 1):
        start_ms = minute * MINUTE_MS
        if start_ms >= period_end:
            period_end = semantics.period_bounds(row.quota_period, start_ms, week_start)[1]
            total = 0
        total += tokens.get(minute, 0)
        used[minute] = total / row.quota
    return used


def chart_figure(simulation: Simulation) -> Any:
    """The chart as a matplotlib Figure (tests read its artists; write_chart saves it)."""
    require_matplotlib()
    if len(simulation.result.minute_tokens) != simulation.counters:
        raise ValueError("the chart needs a simulation run with minute_series=True")
    from matplotlib import dates
    from matplotlib.figure import Figure

    rows = _busiest(simulation)
    figure = Figure(figsize=(10, 1.2 + 2.1 * max(1, len(rows))), dpi=110, layout="constrained")
    axes_list = figure.subplots(max(1, len(rows)), 1, sharex=True, squeeze=False)[:, 0]
    for axes, row in zip(axes_list, rows, strict=False):
        _panel(axes, row, simulation)
    locator = dates.AutoDateLocator()  # type: ignore[no-untyped-call]
    formatter = dates.ConciseDateFormatter(locator, show_offset=False)  # type: ignore[no-untyped-call]
    axes_list[-1].xaxis.set_major_locator(locator)
    axes_list[-1].xaxis.set_major_formatter(formatter)
    axes_list[-1].set_xlabel(time_range_label(simulation))
    title = f"{simulation.plan.gateway.source}: tokens per minute per counter"
    hidden = simulation.counters - len(rows)
    if hidden > 0:
        title += f" (busiest {len(rows)}; {hidden} more in the report)"
    figure.suptitle(title, fontsize=11)
    legend: dict[str, Any] = {}
    for axes in [*axes_list, *(twin for a in axes_list for twin in _twins(a))]:
        for handle, label in zip(*axes.get_legend_handles_labels(), strict=True):
            legend.setdefault(label, handle)
    handles, labels = list(legend.values()), list(legend)
    if handles:
        figure.legend(
            handles, labels, loc="outside lower center", ncols=3, fontsize=8, frameon=False
        )
    return figure


def _twins(axes: Any) -> list[Any]:
    """The quota scale drawn over a panel (matplotlib keeps twins as siblings)."""
    return [
        other
        for other in axes.get_shared_x_axes().get_siblings(axes)
        if other is not axes and getattr(other, "tokengate_quota", False)
    ]


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
    _clip_marks(axes, x, demand, top)
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
    axes.set_xlim(x[0], x[-1])
    _quota_scale(axes, row, simulation, x)
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


def _clip_marks(axes: Any, x: list[datetime], demand: list[int], top: float) -> None:
    """The requested area, cut at `top`: each cut minute gets a mark at the cut, the tallest
    its true value, so a cut bar never reads as a short one."""
    shown = [min(value, top) for value in demand]
    axes.fill_between(
        x, shown, step="post", color=_DEMAND, linewidth=0, label="tokens requested (refused too)"
    )
    cut = [i for i, value in enumerate(demand[:-1]) if value > top]
    if not cut:
        return
    middle = [x[i] + (x[i + 1] - x[i]) / 2 for i in cut]
    axes.scatter(
        middle,
        [top] * len(cut),
        marker="^",
        s=18,
        color=_CLIPPED,
        zorder=3,
        label="requested tokens cut at the top (tallest labelled)",
    )
    tallest = max(cut, key=lambda i: (demand[i], -i))
    axes.annotate(
        f"{demand[tallest]:,}",
        (x[tallest] + (x[tallest + 1] - x[tallest]) / 2, top),
        xytext=(4, -10),
        textcoords="offset points",
        fontsize=7,
        color=_CLIPPED,
    )


def _quota_scale(axes: Any, row: CounterRow, simulation: Simulation, x: list[datetime]) -> None:
    used = quota_used(row, simulation)
    if not used:
        return
    from matplotlib.ticker import PercentFormatter

    twin = axes.twinx()
    twin.tokengate_quota = True
    minutes = sorted(used)
    shares = [used[m] for m in minutes]
    twin.step(
        [_moment(m) for m in minutes] + [x[-1]],
        [*shares, shares[-1]],
        where="post",
        color=_QUOTA,
        linewidth=1,
        label="quota used in its period (right scale)",
    )
    twin.axhline(1, color=_QUOTA, linestyle=":", linewidth=1, label="quota (100%, right scale)")
    # Headroom above the token scale's, so the 100% line never sits on the cut marks.
    twin.set_ylim(0, max(1.0, *shares) * 1.3)
    twin.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
    twin.set_ylabel(f"of {row.quota:,}/{row.quota_period}", fontsize=8, color=_QUOTA)
    twin.tick_params(labelsize=8, colors=_QUOTA, axis="y")


def _moment_ms(ms: int) -> datetime:
    return _EPOCH + timedelta(milliseconds=ms)


def _moment(minute: int) -> datetime:
    return _EPOCH + timedelta(milliseconds=minute * MINUTE_MS)
