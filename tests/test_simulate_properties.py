"""Property tests of the replay engine against a brute-force reading of the rules.

For random workloads, every decision is recomputed from scratch: the tokens counted before the
request (by every earlier admitted request, at the moments the rules say) decide 200, 429 or
403, and the Retry-After. Then the bounds the documentation implies: with estimation on, the
prompts never take a window past the limit (and nothing does when completions are empty); with
it off, a window's overshoot is bounded by the requests in flight.
"""

from __future__ import annotations

import math
from array import array
from dataclasses import dataclass

from hypothesis import given, settings
from hypothesis import strategies as st

from generator.simulate import engine
from generator.simulate.engine import Result, Routing, Slot
from generator.simulate.semantics import (
    ALLOWED,
    MINUTE_MS,
    QUOTA_EXCEEDED,
    RATE_LIMITED,
    Assumptions,
    period_bounds,
)
from generator.simulate.workload import Workload

BASE = 1_736_121_600_000  # 2025-01-06T00:00:00Z


@dataclass(frozen=True)
class Case:
    times: list[int]
    prompts: list[int]
    completions: list[int]
    durations: list[int]
    streams: list[bool]
    counters: list[int]
    slot: Slot
    estimate: bool
    assumptions: Assumptions


@st.composite
def cases(draw: st.DrawFn, *, quota: bool = False, completions: bool = True) -> Case:
    n = draw(st.integers(1, 40))
    span = 3 * 3_600_000 if quota else 4 * MINUTE_MS
    # Whole 5-second steps often, so windows and responses meet exactly at their boundaries.
    moment = st.integers(0, span) | st.integers(0, span // 5000).map(lambda k: k * 5000)
    times = sorted(draw(st.lists(moment, min_size=n, max_size=n)))
    duration = st.integers(0, 20_000) | st.integers(0, 4).map(lambda k: k * 5000)
    tokens = st.integers(0, 1200)
    slot = (
        Slot(draw(st.none() | st.integers(100, 3000)), draw(st.integers(100, 6000)), "Hourly")
        if quota
        else Slot(draw(st.integers(1, 3000)))
    )
    return Case(
        times=[BASE + t for t in times],
        prompts=draw(st.lists(tokens, min_size=n, max_size=n)),
        completions=draw(st.lists(tokens if completions else st.just(0), min_size=n, max_size=n)),
        durations=draw(st.lists(duration, min_size=n, max_size=n)),
        streams=draw(st.lists(st.booleans(), min_size=n, max_size=n)),
        counters=draw(st.lists(st.integers(0, 2), min_size=n, max_size=n)),
        slot=slot,
        estimate=draw(st.booleans()),
        assumptions=Assumptions(
            minute_window=draw(st.sampled_from(["sliding", "fixed"])),
            admission=draw(st.sampled_from(["strict", "lenient"])),
        ),
    )


def run(case: Case) -> Result:
    workload = Workload("property")
    workload.times.extend(case.times)
    workload.prompt.extend(case.prompts)
    workload.completion.extend(case.completions)
    workload.stream.extend(case.streams)
    workload.durations = array("q", case.durations)
    n = len(case.times)
    routing = Routing(array("l", [0] * n), array("l", case.counters), [case.slot], 3)
    return engine.replay(
        workload, routing, estimate_prompt_tokens=case.estimate, assumptions=case.assumptions
    )


def early(case: Case, i: int) -> bool:
    return case.estimate or case.streams[i]


def events(case: Case, status: bytearray) -> list[tuple[int, int, int, int]]:
    """(time, order, counter, tokens) of everything counted, order = position of the request."""
    found = []
    for i, t in enumerate(case.times):
        if status[i] != ALLOWED:
            continue
        later = case.completions[i]
        if early(case, i):
            found.append((t, i, case.counters[i], case.prompts[i]))
        else:
            later += case.prompts[i]
        found.append((t + case.durations[i], i, case.counters[i], later))
    return found


def in_window(case: Case, at: int, counted_at: int) -> bool:
    if case.assumptions.minute_window == "sliding":
        return at - MINUTE_MS < counted_at <= at
    return counted_at // MINUTE_MS == at // MINUTE_MS and counted_at <= at


def needed(case: Case, i: int) -> int:
    if early(case, i) and case.assumptions.admission == "strict":
        return max(case.prompts[i], 1)
    return 1


def before(case: Case, counted: list[tuple[int, int, int, int]], i: int) -> list[tuple[int, int]]:
    """(time, tokens) counted on request i's counter before it was decided: by earlier requests,
    at or before its arrival."""
    at, counter = case.times[i], case.counters[i]
    return [(t, n) for t, j, c, n in counted if c == counter and j < i and t <= at]


@settings(max_examples=300, deadline=None)
@given(cases())
def test_every_rate_decision_and_retry_after_follows_the_rules(case: Case) -> None:
    result = run(case)
    counted = events(case, result.status)
    limit = case.slot.tokens_per_minute
    assert limit is not None
    for i, at in enumerate(case.times):
        window = [(t, n) for t, n in before(case, counted, i) if in_window(case, at, t)]
        used, need = sum(n for _, n in window), needed(case, i)
        expected = ALLOWED if used + need <= limit else RATE_LIMITED
        assert result.status[i] == expected, (i, used, need, limit)
        if expected == RATE_LIMITED:
            assert result.retry_after[i] == expected_retry_after(case, window, at, need, limit)


def expected_retry_after(
    case: Case, window: list[tuple[int, int]], at: int, need: int, limit: int
) -> int:
    if case.assumptions.minute_window == "fixed":
        wait = (at // MINUTE_MS + 1) * MINUTE_MS - at
    elif need > limit:
        wait = MINUTE_MS
    else:
        wait = min(
            t + MINUTE_MS - at
            for t in sorted({t for t, _ in window})
            if sum(n for u, n in window if u > t) + need <= limit
        )
    return max(1, math.ceil(wait / 1000))


@settings(max_examples=200, deadline=None)
@given(cases(quota=True))
def test_every_quota_decision_follows_the_rules(case: Case) -> None:
    result = run(case)
    counted = events(case, result.status)
    quota, limit = case.slot.quota, case.slot.tokens_per_minute
    assert quota is not None
    for i, at in enumerate(case.times):
        start, end = period_bounds("Hourly", at)
        earlier = before(case, counted, i)
        used_quota = sum(n for t, n in earlier if start <= t)
        need = needed(case, i)
        if used_quota + need > quota:
            assert result.status[i] == QUOTA_EXCEEDED
            assert result.retry_after[i] == max(1, math.ceil((end - at) / 1000))
            continue
        used = sum(n for t, n in earlier if in_window(case, at, t))
        refused = limit is not None and used + need > limit
        assert result.status[i] == (RATE_LIMITED if refused else ALLOWED)


def window_peaks(
    case: Case, counted: list[tuple[int, int, int, int]]
) -> list[tuple[int, int, int]]:
    """(counter, time, tokens in the window ending then) at every moment tokens were counted."""
    found = []
    for t, _, counter, _ in counted:
        total = sum(n for u, _, c, n in counted if c == counter and in_window(case, t, u))
        found.append((counter, t, total))
    return found


def in_flight(case: Case, status: bytearray, counter: int, t: int) -> int:
    """What a window can hold beyond the limit at `t`: at the last admission on `counter` up to
    `t`, that request's tokens plus those still to come from requests admitted before it and not
    yet answered (the docs: concurrent requests can take a counter past its limit)."""
    admitted = [
        i
        for i, at in enumerate(case.times)
        if status[i] == ALLOWED and case.counters[i] == counter and at <= t
    ]
    if not admitted:
        return 0
    last = admitted[-1]
    arrival = case.times[last]
    pending = case.prompts[last] + case.completions[last]
    for i in admitted[:-1]:
        if case.times[i] + case.durations[i] > arrival:
            pending += case.completions[i] + (0 if early(case, i) else case.prompts[i])
    return pending


@settings(max_examples=200, deadline=None)
@given(cases())
def test_overshoot_is_bounded_by_the_requests_in_flight(case: Case) -> None:
    result = run(case)
    limit = case.slot.tokens_per_minute
    assert limit is not None
    for counter, t, total in window_peaks(case, events(case, result.status)):
        assert total <= limit + in_flight(case, result.status, counter, t)


@settings(max_examples=200, deadline=None)
@given(cases(completions=False))
def test_with_estimation_and_no_completions_no_window_exceeds_the_limit(case: Case) -> None:
    """Prompts counted on arrival with strict admission: tokens allowed per window never exceed
    the limit (embeddings have no completion tokens)."""
    case = Case(
        **{
            **case.__dict__,
            "estimate": True,
            "assumptions": Assumptions(case.assumptions.minute_window, "strict"),
        }
    )
    result = run(case)
    limit = case.slot.tokens_per_minute
    assert limit is not None
    for _, _, total in window_peaks(case, events(case, result.status)):
        assert total <= limit
    assert max(result.tally.peak) <= limit


@settings(max_examples=50, deadline=None)
@given(cases(quota=True))
def test_replay_is_deterministic(case: Case) -> None:
    first, second = run(case), run(case)
    assert first.status == second.status
    assert first.retry_after == second.retry_after
    assert first.tally == second.tally
