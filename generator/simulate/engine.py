"""Replay requests through token-limit counters, in time order, one pass.

Events are request arrivals (in workload order) and responses (a heap keyed by end time; a
response due at the same millisecond as an arrival is counted first). Each arrival is checked
against its slot's limits by the rules in `semantics`; tokens go into the counter when
`semantics` says they are counted. Each counter keeps a minute window and a quota period; a slot
is the set of limits a request is checked against (a budget, or per counter when `suggest`
tries candidate limits), so counters shared between slots behave as APIM's shared counters do.

`Counters` holds that state and makes every decision; `replay` drives it over a recorded
workload and `tokengate emulate` drives the same object with live requests and the wall clock,
so the emulator and the simulation cannot disagree about an outcome.
"""

from __future__ import annotations

from array import array
from collections import defaultdict, deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from heapq import heappop, heappush

from generator.simulate import semantics
from generator.simulate.semantics import (
    ALLOWED,
    MINUTE_MS,
    QUOTA_EXCEEDED,
    RATE_LIMITED,
    Assumptions,
)
from generator.simulate.workload import Workload


@dataclass(frozen=True)
class Slot:
    """The limits a request is checked against; None = not limited that way."""

    tokens_per_minute: int | None = None
    quota: int | None = None
    quota_period: str | None = None


@dataclass
class Routing:
    """Where each request goes: its slot and counter (and tally group)."""

    slot_of: Sequence[int]
    counter_of: Sequence[int]
    slots: Sequence[Slot]
    counters: int
    #: Per request, its tally group: the allowed requests' tokens are summed per group (the
    #: report folds the groups into dimension combinations and into cost rows). None: no sums.
    group_of: Sequence[int] | None = None
    groups: int = 0
    #: Per request, with per-model limits: the slot and counter of the per-model limit it is
    #: also checked against (counter -1: none). None: no request has one.
    model_slot_of: Sequence[int] | None = None
    model_counter_of: Sequence[int] | None = None


@dataclass
class Tally:
    """Per-counter totals, as columns indexed by counter id."""

    requests: list[int]
    allowed: list[int]
    rate_limited: list[int]
    quota_exceeded: list[int]
    prompt_tokens: list[int]
    completion_tokens: list[int]
    #: Most tokens counted in one minute window (sliding or calendar, as simulated).
    peak: list[int]
    #: Time of the first 429 or 403 (ms), -1 if none; the longest Retry-After given (s).
    first_throttle: list[int]
    max_retry_after: list[int]

    @classmethod
    def zeros(cls, size: int) -> Tally:
        def zeros() -> list[int]:
            return [0] * size

        return cls(
            zeros(), zeros(), zeros(), zeros(), zeros(), zeros(), zeros(), [-1] * size, zeros()
        )


@dataclass
class Result:
    #: Per request: ALLOWED, RATE_LIMITED or QUOTA_EXCEEDED, and the Retry-After (s, 0 allowed).
    status: bytearray
    retry_after: array[int]
    tally: Tally
    #: Per counter and UTC minute (with `minute_series`): tokens requested (refused requests too, at
    #: arrival), tokens counted, 429s and 403s.
    minute_demand: list[dict[int, int]] = field(default_factory=list)
    minute_tokens: list[dict[int, int]] = field(default_factory=list)
    minute_rate_limited: list[dict[int, int]] = field(default_factory=list)
    minute_quota_exceeded: list[dict[int, int]] = field(default_factory=list)
    #: Per tally group: requests, prompt and completion tokens of allowed requests.
    group_requests: list[int] = field(default_factory=list)
    group_prompt: list[int] = field(default_factory=list)
    group_completion: list[int] = field(default_factory=list)


class _SlidingMinute:
    """Tokens counted in the last 60 s: (time, tokens) entries leave the window 60 s later."""

    def __init__(self, counters: int) -> None:
        self.entries: list[deque[tuple[int, int]]] = [deque() for _ in range(counters)]
        self.sums = [0] * counters

    def grow(self) -> None:
        self.entries.append(deque())
        self.sums.append(0)

    def used(self, counter: int, t: int) -> int:
        entries, total, cutoff = self.entries[counter], self.sums[counter], t - MINUTE_MS
        while entries and entries[0][0] <= cutoff:
            total -= entries.popleft()[1]
        self.sums[counter] = total
        return total

    def add(self, counter: int, t: int, tokens: int) -> int:
        """Count `tokens` at `t`; returns the window's new total."""
        total = self.used(counter, t) + tokens
        self.entries[counter].append((t, tokens))
        self.sums[counter] = total
        return total

    def wait(self, counter: int, t: int, needed: int, limit: int) -> int:
        """Ms until `needed` tokens fit, as counted tokens leave the window."""
        return _sliding_wait(self.entries[counter], self.sums[counter], t, needed, limit)


class _FixedMinute:
    """Tokens counted in the current UTC calendar minute."""

    def __init__(self, counters: int) -> None:
        self.minute = [-1] * counters
        self.sums = [0] * counters

    def grow(self) -> None:
        self.minute.append(-1)
        self.sums.append(0)

    def used(self, counter: int, t: int) -> int:
        minute = t // MINUTE_MS
        if self.minute[counter] != minute:
            self.minute[counter] = minute
            self.sums[counter] = 0
        return self.sums[counter]

    def add(self, counter: int, t: int, tokens: int) -> int:
        total = self.used(counter, t) + tokens
        self.sums[counter] = total
        return total

    def wait(self, counter: int, t: int, needed: int, limit: int) -> int:
        return semantics.minute_bounds(t)[1] - t


class Counters:
    """Token-limit counters: a minute window and a quota period each, and the admission decision.

    Counter ids are dense integers; `grow` adds one (the emulator meets counter-key values as
    requests arrive). Times are ms since the Unix epoch, UTC.
    """

    def __init__(self, counters: int, assumptions: Assumptions) -> None:
        self.window: _SlidingMinute | _FixedMinute = (
            _SlidingMinute(counters)
            if assumptions.minute_window == "sliding"
            else _FixedMinute(counters)
        )
        self.week_start = assumptions.week_start
        self.admission = assumptions.admission
        self.quota_end = [-1] * counters
        self.quota_used = [0] * counters

    def grow(self) -> int:
        """Add a counter; returns its id."""
        self.window.grow()
        self.quota_end.append(-1)
        self.quota_used.append(0)
        return len(self.quota_end) - 1

    def quota_window(self, counter: int, period: str, t: int) -> int:
        """Tokens used in the quota period holding `t` (a new period starts from zero)."""
        if t >= self.quota_end[counter]:
            self.quota_end[counter] = semantics.period_bounds(period, t, self.week_start)[1]
            self.quota_used[counter] = 0
        return self.quota_used[counter]

    def decide(
        self,
        counter: int,
        tokens_per_minute: int | None,
        quota: int | None,
        period: str | None,
        t: int,
        needed: int,
    ) -> tuple[int, int]:
        """ALLOWED, RATE_LIMITED or QUOTA_EXCEEDED for an arrival at `t`, and the ms to wait.

        The quota is checked first: a request over both is refused for the longer reason.
        """
        if quota is not None:
            assert period is not None
            if not semantics.admits(self.quota_window(counter, period, t), quota, needed):
                return QUOTA_EXCEEDED, self.quota_end[counter] - t
        if tokens_per_minute is not None and not semantics.admits(
            self.window.used(counter, t), tokens_per_minute, needed
        ):
            return RATE_LIMITED, self.window.wait(counter, t, needed, tokens_per_minute)
        return ALLOWED, 0

    def count(self, counter: int, period: str | None, t: int, tokens: int) -> int:
        """Count `tokens` at `t` (in the quota too when `period` is set); returns the minute
        window's new total."""
        total = self.window.add(counter, t, tokens)
        if period is not None:
            self.quota_window(counter, period, t)
            self.quota_used[counter] += tokens
        return total

    def remaining(
        self,
        counter: int,
        tokens_per_minute: int | None,
        quota: int | None,
        period: str | None,
        t: int,
    ) -> tuple[int | None, int | None]:
        """Tokens left at `t` in the minute window and in the quota period (None: no limit)."""
        minute = (
            None
            if tokens_per_minute is None
            else max(0, tokens_per_minute - self.window.used(counter, t))
        )
        left = None
        if quota is not None:
            assert period is not None
            left = max(0, quota - self.quota_window(counter, period, t))
        return minute, left


def replay(
    workload: Workload,
    routing: Routing,
    *,
    estimate_prompt_tokens: bool,
    assumptions: Assumptions,
    minute_series: bool = True,
) -> Result:
    """Replay `workload`; `minute_series` adds the per-minute series (only the chart reads
    them: three dict updates per request that a report without a chart need not pay), and a
    routing with tally groups the groups' totals."""
    # The flattened path knows only the all-models limit; per-model limits take the general one.
    if assumptions.minute_window == "sliding" and routing.model_counter_of is None:
        return _replay_sliding(
            workload,
            routing,
            estimate_prompt_tokens=estimate_prompt_tokens,
            assumptions=assumptions,
            minute_series=minute_series,
        )
    n = len(workload)
    times, prompts, completions, streams = (
        workload.times,
        workload.prompt,
        workload.completion,
        workload.stream,
    )
    durations = workload.durations
    default_latency = assumptions.latency_ms
    slot_of, counter_of = routing.slot_of, routing.counter_of
    slot_tpm = [s.tokens_per_minute for s in routing.slots]
    slot_quota = [s.quota for s in routing.slots]
    slot_period = [s.quota_period for s in routing.slots]
    counters = routing.counters
    state = Counters(counters, assumptions)
    decide, add = state.decide, state.count
    admission = assumptions.admission
    tally = Tally.zeros(counters)
    requests, allowed, peak = tally.requests, tally.allowed, tally.peak
    prompt_total, completion_total = tally.prompt_tokens, tally.completion_tokens
    status = bytearray(n)
    retry_after = array("l", [0]) * n
    minute_demand: list[dict[int, int]] = [{} for _ in range(counters)] if minute_series else []
    minute_tokens: list[dict[int, int]] = [{} for _ in range(counters)] if minute_series else []
    minute_429: list[dict[int, int]] = [{} for _ in range(counters)] if minute_series else []
    minute_403: list[dict[int, int]] = [{} for _ in range(counters)] if minute_series else []
    group_of = routing.group_of
    groups = routing.groups if group_of is not None else 0
    group_requests, group_prompt, group_completion = [0] * groups, [0] * groups, [0] * groups
    tokens_needed = semantics.tokens_needed
    counted_on_arrival = semantics.prompt_counted_on_arrival
    pending: list[tuple[int, int, int, int, int]] = []

    def count(counter: int, slot: int, t: int, tokens: int) -> None:
        total = add(counter, slot_period[slot] if slot_quota[slot] is not None else None, t, tokens)
        if total > peak[counter]:
            peak[counter] = total
        if minute_series:
            series = minute_tokens[counter]
            minute = t // MINUTE_MS
            series[minute] = series.get(minute, 0) + tokens

    model_slot_of, model_counter_of = routing.model_slot_of, routing.model_counter_of
    model_slot = 0
    previous = times[0] if n else 0
    for i in range(n):
        t = times[i]
        if t < previous:
            raise ValueError(f"request {i} arrives before the one ahead of it: sort the workload")
        previous = t
        while pending and pending[0][0] <= t:
            end, _, counter, slot, tokens = heappop(pending)
            count(counter, slot, end, tokens)
        counter, slot = counter_of[i], slot_of[i]
        prompt = prompts[i]
        early = counted_on_arrival(estimate_prompt_tokens, bool(streams[i]))
        needed = tokens_needed(early, prompt, admission)
        requests[counter] += 1
        if minute_series:
            demand = minute_demand[counter]
            minute = t // MINUTE_MS
            demand[minute] = demand.get(minute, 0) + prompt + completions[i]
        outcome, wait_ms = decide(
            counter, slot_tpm[slot], slot_quota[slot], slot_period[slot], t, needed
        )
        # A per-model limit is the next element: reached only when the all-models one admits
        # (which has then counted the prompt, when counted on arrival, whatever comes next).
        model_counter = model_counter_of[i] if model_counter_of is not None else -1
        if model_counter >= 0 and outcome == ALLOWED:
            assert model_slot_of is not None
            model_slot = model_slot_of[i]
            if early:
                count(counter, slot, t, prompt)
            requests[model_counter] += 1
            if minute_series:
                demand = minute_demand[model_counter]
                demand[minute] = demand.get(minute, 0) + prompt + completions[i]
            outcome, wait_ms = decide(
                model_counter,
                slot_tpm[model_slot],
                slot_quota[model_slot],
                slot_period[model_slot],
                t,
                needed,
            )
        else:
            model_counter = -1
        if outcome != ALLOWED:
            status[i] = outcome
            seconds = semantics.retry_after_seconds(wait_ms)
            retry_after[i] = seconds
            # Tallied on the counter that refused: a request the per-model limit refuses is
            # not one of the all-models counter's (its early prompt tokens stay counted there).
            refused_on = counter
            if model_counter >= 0:
                refused_on = model_counter
                requests[counter] -= 1
            _refused(tally, refused_on, outcome, t, seconds)
            if minute_series:
                refusals = (minute_429 if outcome == RATE_LIMITED else minute_403)[refused_on]
                minute = t // MINUTE_MS
                refusals[minute] = refusals.get(minute, 0) + 1
            continue
        completion = completions[i]
        allowed[counter] += 1
        prompt_total[counter] += prompt
        completion_total[counter] += completion
        if model_counter >= 0:
            allowed[model_counter] += 1
            prompt_total[model_counter] += prompt
            completion_total[model_counter] += completion
        if group_of is not None:
            group = group_of[i]
            group_requests[group] += 1
            group_prompt[group] += prompt
            group_completion[group] += completion
        later = completion
        if early:
            if model_counter < 0:
                count(counter, slot, t, prompt)
            else:
                count(model_counter, model_slot, t, prompt)
        else:
            later += prompt
        duration = durations[i] if durations is not None else -1
        if duration < 0:
            duration = default_latency
        if duration == 0:
            count(counter, slot, t, later)
            if model_counter >= 0:
                count(model_counter, model_slot, t, later)
        else:
            heappush(pending, (t + duration, i, counter, slot, later))
            if model_counter >= 0:
                heappush(pending, (t + duration, i, model_counter, model_slot, later))
    while pending:  # responses after the last arrival still count (peaks, minute series)
        end, _, counter, slot, tokens = heappop(pending)
        count(counter, slot, end, tokens)
    return Result(
        status,
        retry_after,
        tally,
        minute_demand,
        minute_tokens,
        minute_429,
        minute_403,
        group_requests,
        group_prompt,
        group_completion,
    )


def _replay_sliding(
    workload: Workload,
    routing: Routing,
    *,
    estimate_prompt_tokens: bool,
    assumptions: Assumptions,
    minute_series: bool,
) -> Result:
    """`replay` with the sliding minute window (the default), its hot loop flattened.

    The same steps as `Counters.decide` and `Counters.count` over `_SlidingMinute`, in the same
    order, on the same state, with the state in local lists and the per-count method chain
    (count → Counters.count → add → used) written out once: a million-row trace makes about
    three million of those calls, which were a third of the replay's time. The decisions stay
    in `semantics` (admission, tokens needed, when the prompt is counted, Retry-After, quota
    periods). tests/test_simulate_fast_paths.py replays generated workloads against the engine
    as it was (`tests/engine_before.py`) and tests/test_emulate_gate.py against `Counters`,
    request by request, so this path cannot drift from either.
    """
    n = len(workload)
    times, prompts, completions, streams = (
        workload.times,
        workload.prompt,
        workload.completion,
        workload.stream,
    )
    durations = workload.durations
    default_latency = assumptions.latency_ms
    week_start = assumptions.week_start
    admission = assumptions.admission
    slot_of, counter_of = routing.slot_of, routing.counter_of
    slot_tpm = [s.tokens_per_minute for s in routing.slots]
    slot_quota = [s.quota for s in routing.slots]
    slot_period = [s.quota_period for s in routing.slots]
    #: The period tokens are counted against in each slot (None: the slot has no quota).
    slot_counted = [
        p if q is not None else None for p, q in zip(slot_period, slot_quota, strict=True)
    ]
    counters = routing.counters
    entries: list[deque[tuple[int, int]]] = [deque() for _ in range(counters)]
    in_window = [0] * counters
    quota_end = [-1] * counters
    quota_used = [0] * counters
    tally = Tally.zeros(counters)
    requests, allowed, peak = tally.requests, tally.allowed, tally.peak
    prompt_total, completion_total = tally.prompt_tokens, tally.completion_tokens
    rate_limited, quota_exceeded = tally.rate_limited, tally.quota_exceeded
    first_throttle, max_retry_after = tally.first_throttle, tally.max_retry_after
    retry_after_seconds = semantics.retry_after_seconds
    status = bytearray(n)
    retry_after = array("l", [0]) * n
    # Per-minute series fill in with `+=` (plain dicts again in the result, same key order).
    series_count = counters if minute_series else 0
    minute_demand = [defaultdict[int, int](int) for _ in range(series_count)]
    minute_tokens = [defaultdict[int, int](int) for _ in range(series_count)]
    minute_429 = [defaultdict[int, int](int) for _ in range(series_count)]
    minute_403 = [defaultdict[int, int](int) for _ in range(series_count)]
    group_of = routing.group_of
    groups = routing.groups if group_of is not None else 0
    group_requests, group_prompt, group_completion = [0] * groups, [0] * groups, [0] * groups
    tokens_needed = semantics.tokens_needed
    period_bounds = semantics.period_bounds
    admits = semantics.admits
    early_streamed = semantics.prompt_counted_on_arrival(estimate_prompt_tokens, True)
    early_unstreamed = semantics.prompt_counted_on_arrival(estimate_prompt_tokens, False)
    #: Without the prompt counted on arrival, what must be left does not depend on the prompt.
    needed_late = tokens_needed(False, 0, admission)
    #: With it, by prompt size (prompt sizes repeat; a dict lookup costs less than the call).
    needed_early = _Memo(lambda prompt: tokens_needed(True, prompt, admission))
    pending: list[tuple[int, int, int, int, int]] = []

    def count(counter: int, slot: int, t: int, tokens: int) -> None:
        window, cutoff = entries[counter], t - MINUTE_MS
        total = in_window[counter]
        while window and window[0][0] <= cutoff:
            total -= window.popleft()[1]
        total += tokens
        window.append((t, tokens))
        in_window[counter] = total
        period = slot_counted[slot]
        if period is not None:
            if t >= quota_end[counter]:
                quota_end[counter] = period_bounds(period, t, week_start)[1]
                quota_used[counter] = 0
            quota_used[counter] += tokens
        if total > peak[counter]:
            peak[counter] = total
        if minute_series:
            minute_tokens[counter][t // MINUTE_MS] += tokens

    previous = times[0] if n else 0
    for i in range(n):
        t = times[i]
        if t < previous:
            raise ValueError(f"request {i} arrives before the one ahead of it: sort the workload")
        previous = t
        while pending and pending[0][0] <= t:
            end, _, counter, slot, tokens = heappop(pending)
            count(counter, slot, end, tokens)
        counter, slot = counter_of[i], slot_of[i]
        prompt = prompts[i]
        early = early_streamed if streams[i] else early_unstreamed
        needed = needed_early[prompt] if early else needed_late
        requests[counter] += 1
        if minute_series:
            minute = t // MINUTE_MS
            minute_demand[counter][minute] += prompt + completions[i]
        # Counters.decide: the quota first, then the minute window.
        outcome = ALLOWED
        quota = slot_quota[slot]
        if quota is not None:
            if t >= quota_end[counter]:
                period = slot_period[slot]
                assert period is not None
                quota_end[counter] = period_bounds(period, t, week_start)[1]
                quota_used[counter] = 0
            if not admits(quota_used[counter], quota, needed):
                outcome, wait_ms = QUOTA_EXCEEDED, quota_end[counter] - t
        if outcome == ALLOWED:
            limit = slot_tpm[slot]
            if limit is not None:
                window, cutoff = entries[counter], t - MINUTE_MS
                used = in_window[counter]
                while window and window[0][0] <= cutoff:
                    used -= window.popleft()[1]
                in_window[counter] = used
                if not admits(used, limit, needed):
                    outcome = RATE_LIMITED
                    wait_ms = _sliding_wait(window, used, t, needed, limit)
        if outcome != ALLOWED:
            status[i] = outcome
            seconds = retry_after_seconds(wait_ms)
            retry_after[i] = seconds
            # _refused, written out
            if outcome == RATE_LIMITED:
                rate_limited[counter] += 1
            else:
                quota_exceeded[counter] += 1
            if first_throttle[counter] < 0:
                first_throttle[counter] = t
            if seconds > max_retry_after[counter]:
                max_retry_after[counter] = seconds
            if minute_series:
                (minute_429 if outcome == RATE_LIMITED else minute_403)[counter][minute] += 1
            continue
        completion = completions[i]
        allowed[counter] += 1
        prompt_total[counter] += prompt
        completion_total[counter] += completion
        if group_of is not None:
            group = group_of[i]
            group_requests[group] += 1
            group_prompt[group] += prompt
            group_completion[group] += completion
        later = completion
        if early:
            count(counter, slot, t, prompt)
        else:
            later += prompt
        duration = durations[i] if durations is not None else -1
        if duration < 0:
            duration = default_latency
        if duration == 0:
            count(counter, slot, t, later)
        else:
            heappush(pending, (t + duration, i, counter, slot, later))
    while pending:  # responses after the last arrival still count (peaks, minute series)
        end, _, counter, slot, tokens = heappop(pending)
        count(counter, slot, end, tokens)
    return Result(
        status,
        retry_after,
        tally,
        [dict(series) for series in minute_demand],
        [dict(series) for series in minute_tokens],
        [dict(series) for series in minute_429],
        [dict(series) for series in minute_403],
        group_requests,
        group_prompt,
        group_completion,
    )


def _sliding_wait(
    window: deque[tuple[int, int]], total: int, t: int, needed: int, limit: int
) -> int:
    """Ms until `needed` tokens fit under `limit`, as the counted tokens of `window` (whose
    tokens add up to `total`) leave it."""
    if needed > limit:
        return MINUTE_MS
    for counted_at, tokens in window:
        total -= tokens
        if total + needed <= limit:
            return counted_at + MINUTE_MS - t
    return MINUTE_MS


_MEMO_SIZE = 65_536


class _Memo(dict[int, int]):
    """Values of a function of one int, each computed once (at most `_MEMO_SIZE` kept)."""

    def __init__(self, compute: Callable[[int], int]) -> None:
        super().__init__()
        self.compute = compute

    def __missing__(self, key: int) -> int:
        if len(self) >= _MEMO_SIZE:  # ever new keys: keep memory bounded
            self.clear()
        value = self[key] = self.compute(key)
        return value


def _refused(tally: Tally, counter: int, outcome: int, t: int, seconds: int) -> None:
    if outcome == RATE_LIMITED:
        tally.rate_limited[counter] += 1
    else:
        tally.quota_exceeded[counter] += 1
    if tally.first_throttle[counter] < 0:
        tally.first_throttle[counter] = t
    if seconds > tally.max_retry_after[counter]:
        tally.max_retry_after[counter] = seconds
