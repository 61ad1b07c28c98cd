"""One simulation: a gateway's plan and a workload, resolved and replayed under assumptions.

The result is what the report, the chart and the suggestions read; `suggest` replays the same
resolved workload with other limits through `routing`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property

from generator.simulate import engine
from generator.simulate.engine import Result, Routing, Slot
from generator.simulate.plan import Plan, Resolved
from generator.simulate.semantics import Assumptions
from generator.simulate.workload import Workload


@dataclass
class Simulation:
    plan: Plan
    workload: Workload
    resolved: Resolved
    assumptions: Assumptions
    result: Result

    @property
    def counters(self) -> int:
        return len(self.resolved.counter_keys)

    @cached_property
    def combo_totals(self) -> list[tuple[int, int, int]]:
        """Requests, prompt and completion tokens of the allowed requests per dimension
        combination: the engine's tally groups folded by combination, once (a workload whose
        dimension column is new on every row has as many groups as rows)."""
        result, resolved = self.result, self.resolved
        totals = [[0, 0, 0] for _ in resolved.combos]
        for group, requests, prompt, completion in zip(
            resolved.groups,
            result.group_requests,
            result.group_prompt,
            result.group_completion,
            strict=True,
        ):
            entry = totals[group.combo]
            entry[0] += requests
            entry[1] += prompt
            entry[2] += completion
        return [(requests, prompt, completion) for requests, prompt, completion in totals]


def budget_slots(plan: Plan) -> list[Slot]:
    """One slot per budget, then an unlimited slot for requests no token limit applies to."""
    slots = [
        Slot(b.limit.tokens_per_minute, b.limit.quota, b.limit.quota_period) for b in plan.budgets
    ]
    return [*slots, Slot()]


def routing(
    resolved: Resolved,
    slots: Sequence[Slot],
    slot_of: Sequence[int] | None = None,
    *,
    with_groups: bool = True,
) -> Routing:
    """The engine's routing; by default each request's slot is its budget (or the last slot),
    and its per-model limit's slot the per-model budget. Given `slot_of` (the suggestions'
    per-counter slots), per-model limits are left out."""
    model_slot_of = model_counter_of = None
    if slot_of is None:
        # Budget b is slot b, -1 (no limit) the last slot: a table per code, mapped in C.
        slot_of_budget = {b: b for b in range(len(slots) - 1)} | {-1: len(slots) - 1}
        slot_of = resolved.per_row([slot_of_budget[b] for b in resolved.code_budget])
        if resolved.code_model_counter:
            model_slot_of = resolved.per_row(
                [slot_of_budget[b] for b in resolved.code_model_budget]
            )
            model_counter_of = resolved.model_counter_of
    return Routing(
        slot_of,
        resolved.counter_of,
        slots,
        len(resolved.counter_keys),
        resolved.group_of if with_groups else None,
        len(resolved.groups) if with_groups else 0,
        model_slot_of,
        model_counter_of,
    )


def simulate(
    plan: Plan, workload: Workload, assumptions: Assumptions, *, minute_series: bool = False
) -> Simulation:
    """Replay `workload` through `plan`; `minute_series` keeps the per-minute series the chart
    draws (the reports do not read them)."""
    resolved = plan.resolve(workload)
    result = engine.replay(
        workload,
        routing(resolved, budget_slots(plan)),
        estimate_prompt_tokens=plan.estimate_prompt_tokens,
        assumptions=assumptions,
        minute_series=minute_series,
    )
    return Simulation(plan, workload, resolved, assumptions, result)
