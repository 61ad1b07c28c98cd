"""A plain, independent replay of a native CSV trace through a spec's token limits: the floor.

    python benchmarks/reference_simulate.py SPEC.yaml TRACE.csv

Written from the documented rules (semantics.py lists them with their Microsoft Learn sources),
not from generator/simulate: one counter per consumer subscription, a sliding 60-second
tokens-per-minute window, a quota per UTC period (Hourly, Daily, Monthly, ...), strict admission
(with estimate-prompt-tokens or streaming, the prompt must fit in what is left), completion
tokens counted when the response ends. It supports what the benchmark traces use: a
`tokenLimit` keyed by subscription with per-consumer overrides. It prints one line per counter,
which benchmarks/simulate.py compares with tokengate's JSON report, so the floor is checked to
compute the same answer before its time is compared.
"""

from __future__ import annotations

import csv
import heapq
import math
import sys
from collections import deque
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import yaml

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MINUTE = 60_000


def to_ms(moment: datetime) -> int:
    return (moment - EPOCH) // timedelta(milliseconds=1)


def period_end(period: str, t: int) -> int:
    """End (ms) of the quota period holding t: UTC time truncated to the unit, plus one unit."""
    hour, day = 3_600_000, 86_400_000
    if period == "Hourly":
        return t - t % hour + hour
    if period == "Daily":
        return t - t % day + day
    if period == "Weekly":  # weeks start on Monday; 1970-01-01 was a Thursday
        days = t // day
        return (days - (days + 3) % 7 + 7) * day
    moment = EPOCH + timedelta(milliseconds=t)
    if period == "Monthly":
        year, month = (
            (moment.year + 1, 1) if moment.month == 12 else (moment.year, moment.month + 1)
        )
        return to_ms(datetime(year, month, 1, tzinfo=UTC))
    return to_ms(datetime(moment.year + 1, 1, 1, tzinfo=UTC))


class Counter:
    """One token-limit counter: its limits, its sliding minute and its quota period."""

    def __init__(self, limits: dict[str, Any]) -> None:
        self.tpm: int | None = limits.get("tokensPerMinute")
        self.quota: int | None = limits.get("quota")
        self.period: str = limits.get("quotaPeriod", "Monthly")
        self.window: deque[tuple[int, int]] = deque()
        self.in_window = 0
        self.quota_until = -1
        self.quota_used = 0
        self.requests = self.allowed = self.rate_limited = self.quota_exceeded = 0
        self.prompt = self.completion = self.peak = self.max_retry = 0

    def minute_used(self, t: int) -> int:
        while self.window and self.window[0][0] <= t - MINUTE:
            self.in_window -= self.window.popleft()[1]
        return self.in_window

    def period_used(self, t: int) -> int:
        if t >= self.quota_until:
            self.quota_until = period_end(self.period, t)
            self.quota_used = 0
        return self.quota_used

    def count(self, t: int, tokens: int) -> None:
        self.minute_used(t)
        self.window.append((t, tokens))
        self.in_window += tokens
        self.peak = max(self.peak, self.in_window)
        if self.quota is not None:
            self.period_used(t)
            self.quota_used += tokens

    def wait_ms(self, t: int, needed: int) -> int:
        assert self.tpm is not None
        left = self.in_window
        if needed <= self.tpm:
            for counted_at, tokens in self.window:
                left -= tokens
                if left + needed <= self.tpm:
                    return counted_at + MINUTE - t
        return MINUTE


def main() -> None:
    spec_path, trace_path = sys.argv[1], sys.argv[2]
    with Path(spec_path).open(encoding="utf-8") as handle:
        spec = yaml.safe_load(handle)
    default = spec["tokenLimit"]
    estimate = default.get("estimatePromptTokens", True)
    fields = ("tokensPerMinute", "quota", "quotaPeriod")
    limits_of = {}
    for consumer in spec.get("consumers", []):
        own = {k: consumer[k] for k in fields if k in consumer}
        limits_of[consumer["name"]] = {**{k: default[k] for k in fields if k in default}, **own}
    counters: dict[str, Counter] = {}
    responses: list[tuple[int, int, str, int]] = []
    with Path(trace_path).open(encoding="utf-8-sig", newline="") as handle:
        rows = csv.reader(handle)
        header = next(rows)
        at = {name: header.index(name) for name in header}
        for number, row in enumerate(rows):
            t = to_ms(datetime.fromisoformat(row[at["timestamp"]]))
            while responses and responses[0][0] <= t:
                end, _, key, tokens = heapq.heappop(responses)
                counters[key].count(end, tokens)
            key = row[at["consumer"]]
            counter = counters.get(key)
            if counter is None:
                counter = counters[key] = Counter(limits_of[key])
            prompt = int(row[at["prompt_tokens"]])
            completion = int(row[at["completion_tokens"]])
            stream = row[at["stream"]].strip().lower() in ("true", "1", "yes")
            duration = int(row[at["duration_ms"]] or 0)
            early = estimate or stream
            needed = max(prompt, 1) if early else 1
            counter.requests += 1
            wait = 0
            if counter.quota is not None and counter.period_used(t) + needed > counter.quota:
                counter.quota_exceeded += 1
                wait = counter.quota_until - t
            elif counter.tpm is not None and counter.minute_used(t) + needed > counter.tpm:
                counter.rate_limited += 1
                wait = counter.wait_ms(t, needed)
            if wait:
                counter.max_retry = max(counter.max_retry, max(1, math.ceil(wait / 1000)))
                continue
            counter.allowed += 1
            counter.prompt += prompt
            counter.completion += completion
            later = completion
            if early:
                counter.count(t, prompt)
            else:
                later += prompt
            if duration:
                heapq.heappush(responses, (t + duration, number, key, later))
            else:
                counter.count(t, later)
    while responses:
        end, _, key, tokens = heapq.heappop(responses)
        counters[key].count(end, tokens)
    for key in sorted(counters):
        c = counters[key]
        print(
            key, c.requests, c.allowed, c.rate_limited, c.quota_exceeded, c.prompt, c.completion,
            c.peak, c.max_retry,
        )  # fmt: skip


if __name__ == "__main__":
    main()
