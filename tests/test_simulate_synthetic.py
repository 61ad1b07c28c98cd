"""The synthetic workload: reproducible from its seed, with the rates, token sizes, bursts and
counter-key values its profile asks for."""

from __future__ import annotations

import math
from collections import Counter
from statistics import mean

from support import GOOD_SPECS, compiled

from generator.pipeline import compile_path
from generator.simulate import plan as plans
from generator.simulate.synthetic import DEFAULT_START, Profile, generate


def lab_plan() -> plans.Plan:
    return plans.build(compile_path(None).gateway)


def test_the_same_seed_gives_the_same_requests() -> None:
    profile = Profile(seed=42, duration_ms=600_000, requests_per_minute=30)
    first, second = generate(lab_plan(), profile), generate(lab_plan(), profile)
    assert first.times == second.times and first.prompt == second.prompt
    assert first.completion == second.completion and first.stream == second.stream
    assert first.text == second.text and first.durations == second.durations
    other = generate(lab_plan(), Profile(seed=43, duration_ms=600_000, requests_per_minute=30))
    assert other.times != first.times


def test_requests_are_ordered_inside_the_duration() -> None:
    profile = Profile(duration_ms=3_600_000, requests_per_minute=10)
    workload = generate(lab_plan(), profile)
    times = list(workload.times)
    assert times == sorted(times)
    assert times[0] >= DEFAULT_START and times[-1] < DEFAULT_START + profile.duration_ms


def test_the_rate_is_per_consumer() -> None:
    profile = Profile(duration_ms=3_600_000, requests_per_minute=20, bursts=0)
    workload = generate(lab_plan(), profile)
    expected = 20 * 60  # per consumer
    spread = 5 * math.sqrt(expected)
    for consumer, count in Counter(workload.text["consumer"]).items():
        assert consumer in {"team-a", "team-b"}
        assert abs(count - expected) < spread, (consumer, count)


def test_a_burst_multiplies_one_consumers_rate_for_a_minute() -> None:
    profile = Profile(duration_ms=3_600_000, requests_per_minute=20, bursts=1, burst_factor=10)
    workload = generate(lab_plan(), profile)
    per_minute = Counter(
        ((t - DEFAULT_START) // 60_000, consumer)
        for t, consumer in zip(workload.times, workload.text["consumer"], strict=True)
    )
    busiest, count = per_minute.most_common(1)[0]
    assert count > 100  # ~200 in the burst minute(s) against ~20 otherwise
    quiet = [n for key, n in per_minute.items() if abs(key[0] - busiest[0]) > 1]
    assert max(quiet) < 50


def test_token_sizes_and_streaming_follow_the_profile() -> None:
    profile = Profile(
        duration_ms=3_600_000,
        requests_per_minute=60,
        prompt_tokens=800,
        completion_tokens=150,
        stream_share=0.3,
    )
    workload = generate(lab_plan(), profile)
    assert abs(mean(workload.prompt) - 800) < 40
    assert abs(mean(workload.completion) - 150) < 10
    assert min(workload.prompt) >= 1
    assert abs(mean(workload.stream) - 0.3) < 0.03
    assert workload.durations is not None
    assert all(
        d == profile.latency_ms + profile.latency_ms_per_token * c
        for d, c in zip(workload.durations, workload.completion, strict=True)
    )


def test_embeddings_profile_has_no_completion_tokens() -> None:
    workload = generate(lab_plan(), Profile(duration_ms=600_000, completion_tokens=0))
    assert set(workload.completion) == {0}


def test_counter_key_values_vary_per_consumer_when_the_key_is_not_the_subscription() -> None:
    for stem, field in [
        ("counter-key-header", "header:x-end-user"),
        ("counter-key-ip", "client_ip"),
        ("entra", "claim:appid"),
    ]:
        spec = next(s for s in GOOD_SPECS if s.stem == stem)
        plan = plans.build(compiled(spec).gateway)
        profile = Profile(duration_ms=1_800_000, requests_per_minute=30, keys_per_caller=3)
        workload = generate(plan, profile)
        pairs = set(zip(workload.text["consumer"], workload.text[field], strict=True))
        callers = {c for c, _ in pairs}
        assert len(pairs) == 3 * len(callers), stem
        # Every required column is there, so the plan resolves without a trace.
        assert set(plan.needs().required) <= set(workload.text)
        plan.resolve(workload)
