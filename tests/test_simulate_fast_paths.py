"""The fast paths give exactly what the general paths give.

The columnar CSV reader (`columnar_csv`) against the row-by-row reader, and the replay loop
against the engine as it was before it was made fast (`engine_before.py`, kept here as the
oracle), on every fixture trace and on hypothesis-generated traces and workloads. The readers are
compared on everything they produce: the workload's columns and description, or the exact
problem messages.
"""

from __future__ import annotations

import io
from array import array
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from unittest import mock

import engine_before
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from support import FIXTURES

from generator.pipeline import compile_path
from generator.simulate import columnar_csv, engine, simulation, traces
from generator.simulate import plan as plans
from generator.simulate.engine import Result, Routing, Slot
from generator.simulate.semantics import Assumptions, MinuteWindow
from generator.simulate.workload import Workload, to_ms

TRACES = FIXTURES / "simulate" / "traces"
CSV_TRACES = sorted(TRACES.glob("*.csv")) + sorted((TRACES / "bad").glob("*.csv"))
#: The spec a fixture trace is for (the rest are for the lab spec).
SPECS = {
    "shared-ip.csv": FIXTURES / "simulate" / "specs" / "shared-ip.yaml",
    "products.jsonl": FIXTURES / "specs" / "good" / "products.yaml",
}


def lab_needs() -> plans.Needs:
    return plans.build(compile_path(None).gateway).needs()


def as_data(workload: Workload) -> dict[str, object]:
    return {
        "source": workload.source,
        "times": list(workload.times),
        "prompt": list(workload.prompt),
        "completion": list(workload.completion),
        "stream": list(workload.stream),
        "durations": None if workload.durations is None else list(workload.durations),
        "text": workload.text,
        "description": workload.description,
    }


def outcome(read: Callable[[], Workload]) -> object:
    """What a reader gives: the workload's data, or the problem message it raised."""
    try:
        return as_data(read())
    except traces.TraceInvalid as error:
        return f"invalid: {error}"


def row_by_row(path: Path, needs: plans.Needs) -> Workload:
    with path.open(encoding="utf-8-sig", newline="") as handle:
        return traces._Reader(str(path), needs).read(traces._csv_rows(handle))


def columnar(path: Path, needs: plans.Needs) -> Workload | None:
    with path.open(encoding="utf-8-sig", newline="") as handle:
        return traces._Reader(str(path), needs).read_columnar(handle)


def needs_for(path: Path) -> plans.Needs:
    spec = SPECS.get(path.name)
    return plans.build(compile_path(spec).gateway).needs()


@pytest.mark.parametrize("path", CSV_TRACES, ids=lambda p: p.name)
def test_every_fixture_trace_reads_the_same_both_ways(path: Path) -> None:
    needs = needs_for(path)
    assert outcome(lambda: traces.read_trace(path, needs)) == outcome(
        lambda: row_by_row(path, needs)
    )


@pytest.mark.parametrize("name", ["lab.csv", "la-export.csv", "shared-ip.csv"])
def test_the_good_fixture_traces_take_the_fast_path(name: str) -> None:
    """Otherwise the comparison above would only compare the row reader with itself."""
    path = TRACES / name
    found = columnar(path, needs_for(path))
    assert found is not None
    assert as_data(found) == as_data(row_by_row(path, needs_for(path)))


HEADER = "timestamp,consumer,client_ip,prompt_tokens,completion_tokens,stream,duration_ms"
BASE = datetime(2025, 1, 6, 9, tzinfo=UTC)


@st.composite
def timestamps(draw: st.DrawFn, at: datetime, clean: bool, spec: str) -> str:
    """The forms traces use (Z, offsets, 0 to 7 fraction digits, a space for the T); unless
    `clean`, sometimes a wrong one."""
    offset = draw(st.sampled_from([timedelta(0), timedelta(hours=1), timedelta(hours=-5)]))
    local = at.astimezone(timezone(offset))
    text = local.isoformat(timespec=spec)
    if offset == timedelta(0) and draw(st.booleans()):
        text = text.removesuffix("+00:00") + ("4Z" if spec == "microseconds" else "Z")
    if draw(st.integers(0, 8)) == 0:
        text = text.replace("T", " ")
    if clean or draw(st.integers(0, 3)):
        return text
    return draw(
        st.sampled_from([text[: text.index("+")] if "+" in text else text, f" {text}", "x"])
    )


@st.composite
def csv_traces(draw: st.DrawFn, clean: bool) -> str:
    """A native trace for the lab spec; unless `clean`, with problems to report."""
    n = draw(st.integers(1, 30))
    steps = draw(st.lists(st.integers(0 if clean else -2000, 90_000), min_size=n, max_size=n))
    lines = [HEADER]
    at = BASE
    # One precision per trace: truncating mixed precisions could unsort a clean trace.
    spec = draw(st.sampled_from(["seconds", "milliseconds", "microseconds", "auto"]))
    numbers = ["7", "0", "1200", "2999", " 12", "1_0", "+7"]
    streams = ["true", "false", "False", "TRUE", "1", "0", "", "yes", "no"]
    durations = ["", "0", "250", "3000"]
    if not clean:
        numbers += ["-5", "x", ""]
        streams += ["maybe"]
        durations += ["-1", "x"]
    for step in steps:
        at += timedelta(milliseconds=step)
        cells = [
            draw(timestamps(at, clean, spec)),
            draw(st.sampled_from(["team-a", "team-b", "team-b", *([] if clean else ["team-c"])])),
            draw(st.sampled_from(["10.0.0.1", "10.0.0.2"])),
            draw(st.sampled_from(numbers)),
            draw(st.sampled_from(numbers)),
            draw(st.sampled_from(streams)),
            draw(st.sampled_from(durations)),
        ]
        if not clean and draw(st.integers(0, 40)) == 0:
            cells = cells[:-1]  # a ragged row
        if draw(st.integers(0, 30)) == 0:
            cells[1] = f'"{cells[1]}"'  # quoted: the csv module's turn
        lines.append(",".join(cells))
        if draw(st.integers(0, 40)) == 0:
            lines.append("")
    ending = draw(st.sampled_from(["\n", "\n", "\r\n"]))
    return ending.join(lines) + draw(st.sampled_from([ending, ""]))


def read_both_ways(text: str) -> tuple[Workload | None, object, object]:
    """The columnar reading (None: it gave up), and what read_trace and the row reader give."""
    needs = lab_needs()

    def handle() -> io.StringIO:
        return io.StringIO(text, newline="")

    def fast() -> Workload:
        return found or traces._Reader("t.csv", needs).read(traces._csv_rows(handle()))

    found = traces._Reader("t.csv", needs).read_columnar(handle())
    slow = outcome(lambda: traces._Reader("t.csv", needs).read(traces._csv_rows(handle())))
    return found, outcome(fast), slow


SIZES = (st.integers(1, 4), st.integers(1, 400))


@settings(max_examples=300, deadline=None)
@given(csv_traces(clean=False), *SIZES)
def test_traces_with_problems_read_the_same_both_ways(text: str, rows: int, chars: int) -> None:
    with (
        mock.patch.object(columnar_csv, "CHUNK_ROWS", rows),
        mock.patch.object(columnar_csv, "BLOCK_CHARS", chars),
    ):
        _, fast, slow = read_both_ways(text)
    assert fast == slow


@settings(max_examples=300, deadline=None)
@given(csv_traces(clean=True), *SIZES)
def test_clean_traces_take_the_fast_path_and_read_the_same(
    text: str, rows: int, chars: int
) -> None:
    with (
        mock.patch.object(columnar_csv, "CHUNK_ROWS", rows),
        mock.patch.object(columnar_csv, "BLOCK_CHARS", chars),
    ):
        found, fast, slow = read_both_ways(text)
    assert found is not None
    assert fast == slow


@settings(max_examples=300, deadline=None)
@given(st.lists(st.datetimes(min_value=datetime(1971, 1, 1), max_value=datetime(2100, 1, 1))))
def test_column_timestamps_are_the_general_parsers(moments: list[datetime]) -> None:
    texts = [m.replace(tzinfo=UTC).isoformat().replace("+00:00", "Z") for m in moments]
    converter = columnar_csv._Converter(
        columnar_csv.Layout(1, 0, 0, 0, None, None, ()),
        columnar_csv.Rules(lambda t: traces.timestamp_ms(t, False), traces.flag_value, frozenset()),
        Workload("t"),
    )
    assert converter.times(texts) == [traces.timestamp_ms(t, False) for t in texts]
    assert converter.times(texts) == [to_ms(m.replace(tzinfo=UTC)) for m in moments]


# The engine: the loop against the engine it replaced.


@st.composite
def replays(draw: st.DrawFn) -> tuple[Workload, Routing, bool, Assumptions, bool]:
    n = draw(st.integers(0, 60))
    span = draw(st.sampled_from([4 * 60_000, 3 * 3_600_000, 40 * 86_400_000]))
    moment = st.integers(0, span) | st.integers(0, span // 5000).map(lambda k: k * 5000)
    workload = Workload("generated")
    workload.times.extend(
        1_736_121_600_000 + t for t in sorted(draw(st.lists(moment, min_size=n, max_size=n)))
    )
    tokens = st.lists(st.integers(0, 1500), min_size=n, max_size=n)
    workload.prompt.extend(draw(tokens))
    workload.completion.extend(draw(tokens))
    workload.stream.extend(draw(st.lists(st.booleans(), min_size=n, max_size=n)))
    if draw(st.booleans()):
        duration = st.integers(-1, 20_000) | st.sampled_from([-1, 0, 5000, 60_000])
        workload.durations = array("q", draw(st.lists(duration, min_size=n, max_size=n)))
    slot = st.builds(
        Slot,
        st.none() | st.integers(1, 4000),
        st.none() | st.integers(1, 20_000),
        st.sampled_from(["Hourly", "Daily", "Weekly", "Monthly", "Yearly"]),
    )
    slots = draw(st.lists(slot, min_size=1, max_size=3))
    pick = st.lists(st.integers(0, len(slots) - 1), min_size=n, max_size=n)
    routing = Routing(
        array("l", draw(pick)),
        array("l", draw(st.lists(st.integers(0, 3), min_size=n, max_size=n))),
        slots,
        4,
        array("l", draw(st.lists(st.integers(0, 2), min_size=n, max_size=n))),
        3,
    )
    assumptions = Assumptions(
        minute_window=draw(st.sampled_from(["sliding", "fixed"])),
        admission=draw(st.sampled_from(["strict", "lenient"])),
        week_start=draw(st.sampled_from(["monday", "sunday"])),
        latency_ms=draw(st.sampled_from([0, 0, 1500, 70_000])),
    )
    return workload, routing, draw(st.booleans()), assumptions, draw(st.booleans())


def result_data(result: Result | engine_before.Result) -> dict[str, object]:
    return {
        "status": bytes(result.status),
        "retry_after": list(result.retry_after),
        "tally": vars(result.tally),
        "series": (
            result.minute_demand,
            result.minute_tokens,
            result.minute_rate_limited,
            result.minute_quota_exceeded,
        ),
        "groups": (
            (result.group_requests, result.group_prompt, result.group_completion)
            if isinstance(result, Result)
            else (result.combo_requests, result.combo_prompt, result.combo_completion)
        ),
    }


def _as_before(routing: Routing) -> engine_before.Routing:
    """The same routing in the frozen engine's own (field-for-field identical) classes."""
    return engine_before.Routing(
        slot_of=routing.slot_of,
        counter_of=routing.counter_of,
        slots=[engine_before.Slot(**vars(slot)) for slot in routing.slots],
        counters=routing.counters,
        combo_of=routing.group_of,  # the frozen engine's name for a tally group
        combos=routing.groups,
    )


def both_engines(
    workload: Workload, routing: Routing, estimate: bool, assumptions: Assumptions, detail: bool
) -> tuple[dict[str, object], dict[str, object]]:
    # The frozen engine's `detail` was the minute series and the group totals in one flag.
    grouped = routing if detail else replace(routing, group_of=None, groups=0)
    fast = engine.replay(
        workload,
        grouped,
        estimate_prompt_tokens=estimate,
        assumptions=assumptions,
        minute_series=detail,
    )
    before = engine_before.replay(
        workload,
        _as_before(routing),
        estimate_prompt_tokens=estimate,
        assumptions=assumptions,
        detail=detail,
    )
    return result_data(fast), result_data(before)


@settings(max_examples=400, deadline=None)
@given(replays())
def test_generated_workloads_replay_as_before(
    case: tuple[Workload, Routing, bool, Assumptions, bool],
) -> None:
    fast, before = both_engines(*case)
    assert fast == before


@pytest.mark.parametrize("window", ["sliding", "fixed"])
@pytest.mark.parametrize("estimate", [True, False])
@pytest.mark.parametrize(
    "name", ["lab.csv", "la-export.csv", "lab.jsonl", "products.jsonl", "shared-ip.csv"]
)
def test_fixture_traces_replay_as_before(name: str, estimate: bool, window: MinuteWindow) -> None:
    path = TRACES / name
    plan = plans.build(compile_path(SPECS.get(name)).gateway)
    workload = traces.read_trace(path, plan.needs())
    routing = simulation.routing(plan.resolve(workload), simulation.budget_slots(plan))
    assumptions = Assumptions(minute_window=window)
    fast, before = both_engines(workload, routing, estimate, assumptions, True)
    assert fast == before
