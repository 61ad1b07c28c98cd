"""A seeded synthetic workload for a gateway: its consumers, a request rate, token sizes, bursts.

The same profile and seed give the same requests on every machine (only `random.Random` draws).
Arrivals are a Poisson process per caller; bursts multiply one caller's rate for a while. Token
counts are log-normal around the given means. Response time grows with completion tokens, so
requests overlap the way streamed and long answers do. Callers are the spec's consumers, or
`caller-1..3` for a spec without consumers; each caller sends from a few counter-key values (IP
addresses, header values, token claims) when the counter key is not the subscription.
"""

from __future__ import annotations

import math
import random
from array import array
from bisect import bisect_right
from dataclasses import dataclass
from datetime import UTC, datetime
from itertools import pairwise

from generator.simulate.plan import Plan
from generator.simulate.workload import (
    CLAIM_PREFIX,
    CLIENT_IP,
    CONSUMER,
    COUNTER_KEY,
    DEPLOYMENT,
    HEADER_PREFIX,
    Workload,
    to_ms,
)

#: A Monday, so daily and weekly quota periods start with the workload.
DEFAULT_START = to_ms(datetime(2025, 1, 6, tzinfo=UTC))
CALLERS_WITHOUT_CONSUMERS = ("caller-1", "caller-2", "caller-3")


@dataclass(frozen=True)
class Profile:
    """What to generate. Rates are per caller; token counts are means."""

    seed: int = 1
    start_ms: int = DEFAULT_START
    duration_ms: int = 3_600_000
    requests_per_minute: float = 2.0
    prompt_tokens: int = 600
    completion_tokens: int = 200
    #: Spread of the log-normal token counts (sigma of the underlying normal).
    spread: float = 0.6
    stream_share: float = 0.25
    bursts: int = 2
    burst_factor: float = 10.0
    burst_ms: int = 60_000
    #: Distinct counter-key values (IPs, header values) per caller when the key is not the
    #: subscription.
    keys_per_caller: int = 3
    latency_ms: int = 250
    latency_ms_per_token: int = 20

    def describe(self) -> str:
        bursts = (
            f", {self.bursts} burst(s) of x{self.burst_factor:g} for {self.burst_ms // 1000} s"
            if self.bursts
            else ""
        )
        return (
            f"{self.requests_per_minute:g} requests/min per consumer for "
            f"{self.duration_ms // 1000:,} s, prompt ~{self.prompt_tokens} and completion "
            f"~{self.completion_tokens} tokens, {self.stream_share:.0%} streamed{bursts}"
        )


def generate(plan: Plan, profile: Profile) -> Workload:
    """Requests for `plan`'s consumers following `profile`."""
    rng = random.Random(profile.seed)  # noqa: S311 - reproducible traffic, not secrets
    callers = [c.name for c in plan.gateway.consumers] or list(CALLERS_WITHOUT_CONSUMERS)
    needs = plan.needs()
    wanted = set(needs.required) | needs.optional
    varies = any(f in wanted for f in (CLIENT_IP, COUNTER_KEY)) or any(
        f.startswith((HEADER_PREFIX, CLAIM_PREFIX)) for f in wanted
    )
    keys = max(1, profile.keys_per_caller) if varies else 1
    segments = _segments(profile, len(callers), rng)

    workload = Workload(f"synthetic workload (seed {profile.seed})")
    workload.description = profile.describe()
    times, prompts, completions = workload.times, workload.prompt, workload.completion
    streams = workload.stream
    durations = array("q")
    identities = array("l")
    sigma = profile.spread
    mu_prompt = math.log(max(profile.prompt_tokens, 1)) - sigma * sigma / 2
    mu_completion = math.log(max(profile.completion_tokens, 1)) - sigma * sigma / 2
    no_completion = profile.completion_tokens <= 0
    expovariate, uniform, lognormal = rng.expovariate, rng.random, rng.lognormvariate
    randrange = rng.randrange
    share, base, per_token = profile.stream_share, profile.latency_ms, profile.latency_ms_per_token
    for start, end, weights in segments:
        rate, t = weights[-1], float(start)
        while True:
            t += expovariate(rate)
            if t >= end:
                break
            caller = bisect_right(weights, uniform() * rate)
            prompt = max(1, int(lognormal(mu_prompt, sigma)))
            completion = 0 if no_completion else int(lognormal(mu_completion, sigma))
            times.append(int(t))
            prompts.append(prompt)
            completions.append(completion)
            streams.append(uniform() < share)
            durations.append(base + per_token * completion)
            identities.append(caller * keys + (randrange(keys) if keys > 1 else 0))
    workload.durations = durations
    workload.text = _attributes(plan, callers, keys, wanted, identities, profile.seed)
    return workload


def _segments(
    profile: Profile, callers: int, rng: random.Random
) -> list[tuple[int, int, list[float]]]:
    """Time slices with constant rates: (start, end, cumulative per-ms rate by caller)."""
    base = profile.requests_per_minute / 60_000
    start, end = profile.start_ms, profile.start_ms + profile.duration_ms
    bursts = []
    for _ in range(profile.bursts):
        at = start + rng.randrange(max(1, profile.duration_ms - profile.burst_ms))
        bursts.append((at, min(end, at + profile.burst_ms), rng.randrange(callers)))
    edges = sorted({start, end, *(b[0] for b in bursts), *(b[1] for b in bursts)})
    segments = []
    for left, right in pairwise(edges):
        rates = [base] * callers
        for at, until, caller in bursts:
            if at <= left < until:
                rates[caller] += base * (profile.burst_factor - 1)
        cumulative, total = [], 0.0
        for rate in rates:
            total += rate
            cumulative.append(total)
        if total > 0:
            segments.append((left, right, cumulative))
    return segments


def _attributes(
    plan: Plan,
    callers: list[str],
    keys: int,
    wanted: set[str],
    identities: array[int],
    seed: int,
) -> dict[str, list[str]]:
    """Text columns: each (caller, key number) identity has one value per field; the deployment
    is drawn per request."""
    deployments = [d.name for a in plan.gateway.accounts for d in a.deployments]
    values: dict[str, list[str]] = {CONSUMER: [c for c in callers for _ in range(keys)]}
    if CLIENT_IP in wanted:
        values[CLIENT_IP] = [
            f"10.{c // 250}.{c % 250}.{k + 1}" for c in range(len(callers)) for k in range(keys)
        ]
    if COUNTER_KEY in wanted:
        values[COUNTER_KEY] = [f"{c}-key-{k + 1}" for c in callers for k in range(keys)]
    if DEPLOYMENT in wanted and deployments:
        values[DEPLOYMENT] = [
            deployments[(c + k) % len(deployments)]
            for c in range(len(callers))
            for k in range(keys)
        ]
    for name in sorted(f for f in wanted if f.startswith((HEADER_PREFIX, CLAIM_PREFIX))):
        values[name] = [f"{c}-{k + 1}" for c in callers for k in range(keys)]
    columns = {name: [table[i] for i in identities] for name, table in values.items()}
    if DEPLOYMENT in wanted and deployments:
        choose = random.Random(seed).randrange  # noqa: S311 - reproducible traffic, not secrets
        columns[DEPLOYMENT] = [deployments[choose(len(deployments))] for _ in identities]
    return columns
