"""The emulator decides with simulate's engine: the same requests get the same answers.

A seeded workload is replayed by `engine.replay` and, request by request with a fake clock, by the
emulator's `Gate` (responses completed at their end time, as the server does in real time). Every
status and Retry-After must match: one semantics, two drivers. Also: what the gate reads from the
rendered files (header names, subscription key names) and the keys file.
"""

from __future__ import annotations

import heapq
import json
import random
import stat
from array import array
from pathlib import Path

import pytest
from support import FIXTURES

from generator.emulate import policy
from generator.emulate.gate import Call, Gate, Ticket
from generator.emulate.keys import consumer_keys, read_keys
from generator.pipeline import compile_path
from generator.simulate import plan as plans
from generator.simulate import simulation
from generator.simulate.semantics import HTTP_STATUS, Assumptions, MinuteWindow
from generator.simulate.workload import CONSUMER, Workload

GOOD = FIXTURES / "specs" / "good"
START_MS = 1_767_225_600_000  # 2026-01-01T00:00:00Z


def workload(consumers: list[str], seed: int, size: int = 400) -> Workload:
    rng = random.Random(seed)
    times, prompts, completions, durations, streams, names = [], [], [], [], [], []
    t = START_MS
    for _ in range(size):
        t += rng.choice([0, 5, 50, 400, 2_000, 9_000])
        times.append(t)
        prompts.append(rng.randint(1, 400))
        completions.append(rng.randint(0, 600))
        durations.append(rng.choice([0, 0, 300, 4_000]))
        streams.append(rng.random() < 0.2)
        names.append(rng.choice(consumers))
    return Workload(
        f"seed {seed}",
        times=array("q", times),
        prompt=array("q", prompts),
        completion=array("q", completions),
        stream=bytearray(streams),
        durations=array("q", durations),
        text={CONSUMER: names},
    )


def through_gate(
    gate_plan: plans.Plan, load: Workload, assumptions: Assumptions
) -> list[tuple[int, int]]:
    clock = [float(START_MS)]
    gate = Gate(gate_plan, {}, assumptions, wall_ms=lambda: clock[0])
    pending: list[tuple[int, int, Ticket, int, int]] = []
    answers = []
    for i in range(len(load)):
        t = load.times[i]
        while pending and pending[0][0] <= t:
            end, _, ticket, prompt, completion = heapq.heappop(pending)
            clock[0] = end
            gate.complete(ticket, prompt, completion)
        clock[0] = t
        call = Call(
            consumer=load.text[CONSUMER][i],
            operation_id="ChatCompletions_Create",
            deployment="",
            client_ip="",
            headers={},
            stream=bool(load.stream[i]),
            prompt_tokens=load.prompt[i],
        )
        decision = gate.admit(call)
        answers.append((decision.status, decision.retry_after))
        if decision.ticket is not None:
            assert load.durations is not None
            heapq.heappush(
                pending,
                (t + load.durations[i], i, decision.ticket, load.prompt[i], load.completion[i]),
            )
    return answers


@pytest.mark.parametrize("spec", ["lab.yaml", "products.yaml", "counter-key-ip.yaml"])
@pytest.mark.parametrize("seed", [1, 2, 3])
@pytest.mark.parametrize("window", ["sliding", "fixed"])
def test_gate_and_replay_give_every_request_the_same_answer(
    spec: str, seed: int, window: MinuteWindow
) -> None:
    gateway = compile_path(GOOD / spec).gateway
    gate_plan = plans.build(gateway)
    consumers = [c.name for c in gateway.consumers] or ["anyone"]
    load = workload(consumers, seed)
    assumptions = Assumptions(minute_window=window)
    replayed = simulation.simulate(gate_plan, load, assumptions).result
    expected = [
        (HTTP_STATUS[s], r) for s, r in zip(replayed.status, replayed.retry_after, strict=True)
    ]
    assert through_gate(gate_plan, load, assumptions) == expected
    assert {status for status, _ in expected} != {200}, "the workload should meet the limits"


def test_header_names_are_the_ones_the_rendered_policy_declares() -> None:
    compiled = compile_path(GOOD / "products.yaml")
    declared = policy.limit_headers(compiled.files)
    gate_plan = plans.build(compiled.gateway)
    assert sorted(declared) == sorted(b.counter_key_text for b in gate_plan.budgets)
    bronze = next(b for b in gate_plan.budgets if b.name == "bronze")
    assert declared[bronze.counter_key_text] == policy.LimitHeaders(
        "x-gateway-remaining-tokens",
        "x-gateway-remaining-quota-tokens",
        "x-gateway-tokens-consumed",
    )
    gold = next(b for b in gate_plan.budgets if b.name == "gold")
    assert declared[gold.counter_key_text].remaining_quota_tokens == ""


def test_subscription_key_names_are_read_from_the_rendered_api() -> None:
    files = compile_path(None).files
    assert policy.key_names(files) == policy.KeyNames("api-key", "api-key")


def test_a_new_keys_file_is_private_and_kept_keys_survive(tmp_path: Path) -> None:
    path = tmp_path / "keys.json"
    first = consumer_keys(["team-a", "team-b"], path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert read_keys(path) == first
    assert all(len(key) == 32 for key in first.values())
    path.write_text(json.dumps({"team-a": "kept"}), encoding="utf-8")
    second = consumer_keys(["team-a", "team-b"], path)
    assert second["team-a"] == "kept"
    assert second["team-b"] != first["team-b"]
    assert read_keys(path) == second
