"""The chart says what it draws: cut bars are marked with their true value, quotas are drawn
where they apply, and the time axis names the workload's real first and last request (UTC)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from generator.model import Limit
from generator.pipeline import compile_path
from generator.simulate import plan as plans
from generator.simulate import simulation, synthetic
from generator.simulate.chart import chart_figure
from generator.simulate.report import counter_rows
from generator.simulate.semantics import MINUTE_MS, Assumptions
from generator.simulate.workload import iso


def lab_simulation(duration_ms: int, rate: float = 2.0) -> simulation.Simulation:
    gateway_plan = plans.build(compile_path(None).gateway)
    profile = synthetic.Profile(duration_ms=duration_ms, requests_per_minute=rate)
    workload = synthetic.generate(gateway_plan, profile)
    return simulation.simulate(gateway_plan, workload, Assumptions(), minute_series=True)


def panels(figure: Any) -> list[Any]:
    """The token panels (the quota scales are twins drawn on top of them)."""
    return [a for a in figure.axes if not getattr(a, "tokengate_quota", False)]


def test_the_time_axis_names_the_first_and_last_request_in_utc() -> None:
    """A two-day workload ends on 2025-01-07; matplotlib's date offset named the last tick's
    day, 2025-01-08. The label comes from the workload's own first and last times."""
    sim = lab_simulation(2 * 24 * 60 * MINUTE_MS, rate=1)
    figure = chart_figure(sim)
    figure.canvas.draw()
    bottom = panels(figure)[-1]
    first, last = iso(sim.workload.times[0]), iso(sim.workload.times[-1])
    expected = (
        f"time (UTC): first request {first[:10]} {first[11:19]}, last {last[:10]} {last[11:19]}"
    )
    assert bottom.get_xlabel() == expected
    assert bottom.xaxis.get_offset_text().get_text() == ""
    assert last.startswith("2025-01-07")


def test_bars_cut_at_the_top_are_marked_with_their_true_value() -> None:
    sim = lab_simulation(60 * MINUTE_MS)
    figure = chart_figure(sim)
    cut_panels = 0
    rows = [r for r in counter_rows(sim) if r.requests]
    for axes, row in zip(panels(figure), rows, strict=True):
        demand = sim.result.minute_demand[row.counter]
        tallest = max(demand.values())
        texts = [t.get_text() for t in axes.texts]
        labels = axes.get_legend_handles_labels()[1]
        cut_at = axes.get_ylim()[1] / 1.14  # the panel's headroom above the cut
        if tallest > cut_at * (1 + 1e-9):
            cut_panels += 1
            assert f"{tallest:,}" in texts
            assert "requested tokens cut at the top (tallest labelled)" in labels
        else:
            assert texts == []
    assert cut_panels, "the lab's team-b asks for more than three times what is counted"


def test_a_quota_is_drawn_as_its_share_used_in_the_period() -> None:
    """The lab's consumers both have quotas (Daily 100,000, Monthly 200,000); in one hour inside
    one period, the share used at the end is every counted token over the quota."""
    sim = lab_simulation(60 * MINUTE_MS)
    figure = chart_figure(sim)
    twins = [a for a in figure.axes if getattr(a, "tokengate_quota", False)]
    rows = [r for r in counter_rows(sim) if r.requests]
    assert len(twins) == len([r for r in rows if r.quota is not None]) == 2
    tally = sim.result.tally
    for twin, row in zip(twins, rows, strict=True):
        assert row.quota is not None
        used, quota_line = twin.get_lines()
        counted = tally.prompt_tokens[row.counter] + tally.completion_tokens[row.counter]
        assert used.get_ydata()[-1] == pytest.approx(counted / row.quota)
        assert list(quota_line.get_ydata()) == [1, 1]
        assert twin.get_ylabel() == f"of {row.quota:,}/{row.quota_period}"


def test_no_quota_no_quota_scale() -> None:
    gateway_plan = plans.build(compile_path(None).gateway)
    limits = tuple(replace(b, limit=Limit(b.limit.tokens_per_minute)) for b in gateway_plan.budgets)
    no_quota = replace(gateway_plan, budgets=limits)
    workload = synthetic.generate(no_quota, synthetic.Profile(duration_ms=20 * MINUTE_MS))
    figure = chart_figure(
        simulation.simulate(no_quota, workload, Assumptions(), minute_series=True)
    )
    assert not [a for a in figure.axes if getattr(a, "tokengate_quota", False)]
