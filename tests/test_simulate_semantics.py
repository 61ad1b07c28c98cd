"""Hand-computed scenarios: the expected allowed/429/403 sequence and Retry-After of each request,
worked out on paper from the rules in `generator.simulate.semantics`."""

from __future__ import annotations

from array import array
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import pytest

from generator.simulate import engine
from generator.simulate.engine import Result, Routing, Slot
from generator.simulate.semantics import (
    HTTP_STATUS,
    Assumptions,
    WeekStart,
    period_bounds,
    retry_after_seconds,
)
from generator.simulate.workload import Workload, to_ms

#: 2025-01-06 00:00:00 UTC, a Monday.
BASE_MS = to_ms(datetime(2025, 1, 6, tzinfo=UTC))


@dataclass(frozen=True)
class Req:
    """One request: arrival in seconds after BASE_MS, its tokens, where it is counted."""

    at: float
    prompt: int
    completion: int = 0
    counter: int = 0
    slot: int = 0
    stream: bool = False
    duration: float = 0.0


def workload(requests: Sequence[Req]) -> Workload:
    built = Workload("hand-made")
    built.durations = array("q")
    for request in requests:
        built.times.append(BASE_MS + round(request.at * 1000))
        built.prompt.append(request.prompt)
        built.completion.append(request.completion)
        built.stream.append(request.stream)
        built.durations.append(round(request.duration * 1000))
    return built


def replay(
    requests: Sequence[Req],
    slots: Sequence[Slot],
    *,
    estimate: bool = True,
    assumptions: Assumptions | None = None,
) -> Result:
    counters = max(r.counter for r in requests) + 1
    routing = Routing(
        array("l", [r.slot for r in requests]),
        array("l", [r.counter for r in requests]),
        list(slots),
        counters,
    )
    return engine.replay(
        workload(requests),
        routing,
        estimate_prompt_tokens=estimate,
        assumptions=assumptions or Assumptions(),
    )


def statuses(result: Result) -> list[int]:
    return [HTTP_STATUS[s] for s in result.status]


def retry_after(result: Result) -> list[int]:
    return list(result.retry_after)


TPM_1000 = Slot(tokens_per_minute=1000)


def test_three_400_token_requests_in_a_minute_of_1000() -> None:
    # 300 prompt + 100 completion each, instant responses: 400, 800, then 800 + 300 > 1000.
    # The first request's tokens leave the window at 60 s: 800 - 400 + 300 fits, so wait 40 s.
    requests = [Req(0, 300, 100), Req(10, 300, 100), Req(20, 300, 100), Req(61, 300, 100)]
    result = replay(requests, [TPM_1000])
    assert statuses(result) == [200, 200, 429, 200]
    assert retry_after(result) == [0, 0, 40, 0]
    assert result.tally.peak == [800]  # the refused request counted nothing


def test_without_estimation_the_third_request_overshoots_then_blocks() -> None:
    # Nothing is counted before the response, and 800 < 1000 admits the third: 1200 counted.
    # At 30 s the limit is used up; one token frees when the first 400 leave at 60 s.
    requests = [Req(0, 300, 100), Req(10, 300, 100), Req(20, 300, 100), Req(30, 300, 100)]
    result = replay(requests, [TPM_1000], estimate=False)
    assert statuses(result) == [200, 200, 200, 429]
    assert retry_after(result) == [0, 0, 0, 30]
    assert result.tally.peak == [1200]


def test_tokens_leave_the_sliding_window_exactly_60_seconds_later() -> None:
    # The window at t holds what was counted in (t - 60 s, t].
    assert statuses(replay([Req(0, 1000), Req(59.999, 1)], [TPM_1000])) == [200, 429]
    assert statuses(replay([Req(0, 1000), Req(60, 1000)], [TPM_1000])) == [200, 200]


def test_a_response_due_at_an_arrival_is_counted_first() -> None:
    # The first response (900 completion tokens) ends at 10 s, when the second request arrives.
    requests = [Req(0, 100, 900, duration=10), Req(10, 100, 0)]
    assert statuses(replay(requests, [TPM_1000])) == [200, 429]


def test_quota_crossing_a_utc_day_boundary() -> None:
    daily = Slot(quota=1000, quota_period="Daily")
    day = 86_400
    requests = [
        Req(day - 60, 500, 100),  # 23:59:00 → 600 used today
        Req(day - 30, 500, 100),  # 23:59:30 → 600 + 500 > 1000: 403 until midnight (30 s)
        Req(day, 500, 100),  # 00:00:00 the next day: a new period
        Req(day + 10, 500, 100),  # 600 + 500 > 1000 again: 403 for the rest of the day
    ]
    result = replay(requests, [daily])
    assert statuses(result) == [200, 403, 200, 403]
    assert retry_after(result) == [0, 30, 0, day - 10]


def test_two_scopes_sharing_a_key_share_one_counter() -> None:
    # Two token-limit elements (slots) whose counter keys evaluate to the same value use one
    # counter: 600 from the first, then 600 from the second does not fit.
    shared = [Req(0, 600, 0, counter=0, slot=0), Req(1, 600, 0, counter=0, slot=1)]
    assert statuses(replay(shared, [TPM_1000, TPM_1000])) == [200, 429]
    separate = [Req(0, 600, 0, counter=0, slot=0), Req(1, 600, 0, counter=1, slot=1)]
    assert statuses(replay(separate, [TPM_1000, TPM_1000])) == [200, 200]


def test_shared_counter_checked_against_each_scopes_own_limit() -> None:
    # The counter holds 600; the 1000 scope refuses 600 more, the 2000 scope admits it.
    requests = [
        Req(0, 600, 0, slot=0),
        Req(1, 600, 0, slot=0),
        Req(2, 600, 0, slot=1),
    ]
    result = replay(requests, [TPM_1000, Slot(tokens_per_minute=2000)])
    assert statuses(result) == [200, 429, 200]


CONCURRENT = [Req(second, 300, 300, duration=10) for second in (0, 1, 2, 3)] + [
    Req(20, 300, 300, duration=10)
]


def test_estimation_on_with_concurrent_requests() -> None:
    # Prompts count on arrival: 300, 600, 900, then 900 + 300 > 1000. The three completions
    # (300 each) arrive at 10-12 s: 1800. The fourth fits once the prompt at 0 s leaves: 57 s.
    # At 20 s, 300 more fit only once the prompts at 0-2 s and the completion at 10 s have left
    # the window: 10 + 60 - 20 = 50 s.
    result = replay(CONCURRENT, [TPM_1000], estimate=True)
    assert statuses(result) == [200, 200, 200, 429, 429]
    assert retry_after(result) == [0, 0, 0, 57, 50]
    assert result.tally.peak == [1800]


def test_estimation_off_with_concurrent_requests() -> None:
    # Nothing is counted until the responses at 10-13 s, so all four go through and the counter
    # reaches 2400 (overshoot bounded by the four in flight). At 20 s it is used up; one token
    # is left once three responses (600 each) have left the window: 12 + 60 - 20 = 52 s.
    result = replay(CONCURRENT, [TPM_1000], estimate=False)
    assert statuses(result) == [200, 200, 200, 200, 429]
    assert retry_after(result) == [0, 0, 0, 0, 52]
    assert result.tally.peak == [2400]


def test_streamed_requests_estimate_prompts_whatever_the_setting() -> None:
    streamed = [
        Req(r.at, r.prompt, r.completion, stream=True, duration=r.duration) for r in CONCURRENT
    ]
    assert statuses(replay(streamed, [TPM_1000], estimate=False)) == [200, 200, 200, 429, 429]


def test_completion_tokens_count_when_the_response_ends() -> None:
    # 100 prompt now, 900 completion at 30 s: at 10 s only 100 is counted, so 800 fits; at
    # 40 s 100 + 900 + 800 is counted and 50 does not fit.
    requests = [Req(0, 100, 900, duration=30), Req(10, 800, 0), Req(40, 50, 0)]
    assert statuses(replay(requests, [TPM_1000])) == [200, 200, 429]


def test_sliding_and_fixed_minute_windows() -> None:
    # 600 at 00:00:50 and 600 at 00:01:10: within 60 s of each other, but in two calendar minutes.
    requests = [Req(50, 600, 0), Req(70, 600, 0), Req(80, 600, 0)]
    sliding = replay(requests, [TPM_1000])
    assert statuses(sliding) == [200, 429, 429]
    assert retry_after(sliding) == [0, 40, 30]
    fixed = replay(requests, [TPM_1000], assumptions=Assumptions(minute_window="fixed"))
    assert statuses(fixed) == [200, 200, 429]
    assert retry_after(fixed) == [0, 0, 40]  # until 00:02:00


def test_strict_and_lenient_admission() -> None:
    requests = [Req(0, 700, 0), Req(10, 400, 0), Req(20, 1, 0)]
    strict = replay(requests, [TPM_1000])
    assert statuses(strict) == [200, 429, 200]
    lenient = replay(requests, [TPM_1000], assumptions=Assumptions(admission="lenient"))
    assert statuses(lenient) == [200, 200, 429]  # 700 < 1000 admits 400 more: 1100


def test_quota_is_checked_before_the_rate() -> None:
    both = Slot(tokens_per_minute=500, quota=1000, quota_period="Daily")
    result = replay([Req(0, 500, 0), Req(1, 600, 0)], [both])
    assert statuses(result) == [200, 403]


def test_a_prompt_larger_than_the_limit_never_fits() -> None:
    result = replay([Req(0, 1500, 0), Req(120, 1500, 0)], [TPM_1000])
    assert statuses(result) == [429, 429]
    assert retry_after(result) == [60, 60]


def test_requests_without_a_limit_are_always_allowed() -> None:
    result = replay([Req(0, 10**9, 10**9), Req(0.001, 10**9, 0)], [Slot()])
    assert statuses(result) == [200, 200]


def test_rate_and_quota_refusals_are_tallied_per_counter() -> None:
    slot = Slot(tokens_per_minute=1000, quota=1500, quota_period="Hourly")
    requests = [
        Req(0, 800, 0, counter=0),
        Req(0, 10, 5, counter=1),
        Req(1, 500, 0, counter=0),  # quota 1300 fits, the minute's 800 + 500 does not: 429
        Req(61, 600, 0, counter=0),  # quota 800 + 600 = 1400 ≤ 1500
        Req(122, 200, 0, counter=0),  # quota 1400 + 200 > 1500: 403
    ]
    result = replay(requests, [slot])
    assert statuses(result) == [200, 200, 429, 200, 403]
    tally = result.tally
    assert tally.requests == [4, 1]
    assert (tally.allowed, tally.rate_limited, tally.quota_exceeded) == ([2, 1], [1, 0], [1, 0])
    assert tally.prompt_tokens == [1400, 10] and tally.completion_tokens == [0, 5]
    assert tally.first_throttle == [BASE_MS + 1000, -1]
    assert tally.max_retry_after == [3600 - 122, 0]


def _ms(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> int:
    return to_ms(datetime(year, month, day, hour, minute, tzinfo=UTC))


@pytest.mark.parametrize(
    ("period", "moment", "start", "end", "week_start"),
    [
        ("Hourly", (2025, 3, 9, 13, 59), (2025, 3, 9, 13), (2025, 3, 9, 14), "monday"),
        ("Daily", (2025, 12, 31, 23, 59), (2025, 12, 31), (2026, 1, 1), "monday"),
        ("Weekly", (2025, 1, 8, 12), (2025, 1, 6), (2025, 1, 13), "monday"),
        ("Weekly", (2025, 1, 8, 12), (2025, 1, 5), (2025, 1, 12), "sunday"),
        ("Weekly", (2025, 1, 5, 12), (2024, 12, 30), (2025, 1, 6), "monday"),
        ("Monthly", (2024, 2, 29, 8), (2024, 2, 1), (2024, 3, 1), "monday"),
        ("Monthly", (2024, 12, 31, 8), (2024, 12, 1), (2025, 1, 1), "monday"),
        ("Yearly", (2024, 7, 1), (2024, 1, 1), (2025, 1, 1), "monday"),
    ],
)
def test_quota_periods_are_utc_truncations(
    period: str,
    moment: tuple[int, ...],
    start: tuple[int, ...],
    end: tuple[int, ...],
    week_start: WeekStart,
) -> None:
    assert period_bounds(period, _ms(*moment), week_start) == (_ms(*start), _ms(*end))


def test_the_first_instant_of_a_period_belongs_to_it() -> None:
    midnight = _ms(2025, 1, 7)
    assert period_bounds("Daily", midnight) == (midnight, midnight + 86_400_000)
    assert period_bounds("Daily", midnight - 1)[1] == midnight


@pytest.mark.parametrize(
    ("wait_ms", "seconds"),
    [
        (0, 1),
        (1, 1),
        (999, 1),
        (1000, 1),
        (1001, 2),
        (59_999, 60),
        (60_000, 60),
        (86_399_990, 86_400),
    ],
)
def test_retry_after_is_whole_seconds_rounded_up_at_least_one(wait_ms: int, seconds: int) -> None:
    """LEARN_AOAI_LIMIT: Retry-After is "the recommended retry interval in seconds"; a client
    that waits the value it is given must find room, so a part second rounds up, and a wait
    under a second is still 1 (0 would invite an immediate retry)."""
    assert retry_after_seconds(wait_ms) == seconds
