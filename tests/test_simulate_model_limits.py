"""The simulator enforces per-model limits: a request for deployment D is checked against the
all-models limit and D's own, on separate counters, and tokens go into both."""

from __future__ import annotations

import json
from array import array

from support import FIXTURES

from generator.pipeline import compile_path
from generator.simulate import plan as plans
from generator.simulate import report
from generator.simulate.semantics import HTTP_STATUS, QUOTA_EXCEEDED, Assumptions
from generator.simulate.simulation import simulate
from generator.simulate.workload import CONSUMER, DEPLOYMENT, Workload

SPEC = FIXTURES / "specs" / "good" / "per-model-limits.yaml"
START = 1_767_225_600_000  # 2026-01-01T00:00:00Z, a Thursday


def _workload(rows: list[tuple[int, str, str, int, int]]) -> Workload:
    """(seconds after START, consumer, deployment, prompt, completion) rows."""
    built = Workload("hand-made")
    for seconds, consumer, deployment, prompt, completion in rows:
        built.times.append(START + seconds * 1000)
        built.prompt.append(prompt)
        built.completion.append(completion)
        built.stream.append(0)
        built.text.setdefault(CONSUMER, []).append(consumer)
        built.text.setdefault(DEPLOYMENT, []).append(deployment)
    built.durations = array("q", [0] * len(built.times))
    return built


def test_the_per_model_quota_refuses_gpt_4o_while_gpt_4o_mini_still_passes() -> None:
    """web gets the default: 10,000 tokens/min and 1,000,000 a day for all models, and for
    gpt-4o 2,000 tokens/min and 50,000 a day. Twenty-five 2,000-token gpt-4o requests, one a
    minute, use up the gpt-4o quota; the 26th gets 403 (quota, as the all-models limit would:
    https://learn.microsoft.com/azure/api-management/azure-openai-token-limit-policy), while
    gpt-4o-mini requests in between and after are allowed: they count only on the all-models
    counter."""
    gateway = compile_path(SPEC).gateway
    plan = plans.build(gateway)
    rows = []
    for minute in range(27):
        rows.append((minute * 60, "web", "gpt-4o", 1500, 500))
        rows.append((minute * 60 + 30, "web", "gpt-4o-mini", 1500, 500))
    result = simulate(plan, _workload(rows), Assumptions())
    statuses = [HTTP_STATUS[s] for s in result.result.status]
    gpt_4o, mini = statuses[0::2], statuses[1::2]
    assert gpt_4o == [200] * 25 + [403, 403]
    assert mini == [200] * 27
    rows_by_budget = {r.budget: r for r in report.counter_rows(result)}
    per_model = rows_by_budget["default gpt-4o"]
    assert per_model.key_value == "web:gpt-4o"
    assert per_model.allowed == 25 and per_model.quota_exceeded == 2
    assert per_model.tokens == 25 * 2000
    every_model = rows_by_budget["default"]
    # Both counters consumed: the all-models counter holds every allowed request's tokens.
    assert every_model.tokens == (25 + 27) * 2000
    # The refusals are the per-model counter's: the all-models row has only what it admitted.
    assert every_model.requests == 52 and every_model.quota_exceeded == 0
    assert result.result.status[50] == QUOTA_EXCEEDED


def test_a_consumers_own_per_model_limit_is_its_own_counter() -> None:
    """analytics overrides the gpt-4o quota (100,000 a day): its gpt-4o requests count on
    `api/azure-openai/consumer/analytics:<id>:gpt-4o`, never on web's."""
    plan = plans.build(compile_path(SPEC).gateway)
    rows = [(minute * 60, "analytics", "gpt-4o", 1500, 500) for minute in range(30)]
    rows += [(minute * 60 + 1, "web", "gpt-4o", 1500, 500) for minute in range(30)]
    rows.sort()
    result = simulate(plan, _workload(rows), Assumptions())
    by_budget = {r.budget: r for r in report.counter_rows(result)}
    assert by_budget["consumer analytics gpt-4o"].allowed == 30
    assert by_budget["default gpt-4o"].allowed == 25
    assert by_budget["default gpt-4o"].consumers == ("web",)


def test_a_trace_needs_the_deployment_once_limits_are_per_model() -> None:
    plan = plans.build(compile_path(SPEC).gateway)
    assert DEPLOYMENT in plan.needs().required
    document = json.loads(
        report.as_json(simulate(plan, _workload([(0, "web", "gpt-4o", 1, 1)]), Assumptions()))
    )
    assert "per-model limits" in [a["name"] for a in document["assumptions"]]
