"""The smallest limits under which at most X% of each counter's requests would be refused.

Tokens per minute are sized on 429s alone; a quota is sized (on 429s and 403s together, at the
suggested rate) only when the workload lasts a whole quota period, otherwise the spec's quota is
kept and the share of requests it would refuse at the new rate is reported.

Every counter gets its own candidate limit and all counters are bisected together: each round is
one replay of the whole workload with per-counter slots (counters of tokengate's budgets never
share a key, so they do not disturb each other). A budget needs the largest of its counters'
values. Tokens per minute are found first (quota off), then the quota with that rate. Refusals
are not strictly monotonic in the limit (admitting one more request can crowd out two later
ones), so each budget's answer is replayed once more and raised until it holds.

Then every suggestion is checked the way a user would check it: the whole simulation runs again
with the suggested limits in the spec's budgets (`verify`). A kept quota that refuses more than
the target is not quietly kept: a quota that meets the target on this workload is proposed
instead, marked as a lower bound (the workload is shorter than one period). Whatever still misses
the target after a few rounds of raising is printed as missing it, with the share it refuses.
"""

from __future__ import annotations

import json
from array import array
from dataclasses import dataclass, replace
from typing import Any

import yaml

from generator.model import Limit
from generator.model.kinds import QuotaPeriod
from generator.simulate import engine, semantics
from generator.simulate.engine import Slot, Tally
from generator.simulate.plan import Budget
from generator.simulate.simulation import Simulation, routing, simulate
from generator.simulate.workload import iso

#: The schema's maximum of tokensPerMinute and quota.
MAX_LIMIT = 2_147_483_647
#: Replays raising the suggestions that miss the target before they are reported as missing it.
VERIFY_ROUNDS = 30


@dataclass(frozen=True)
class Suggestion:
    """A budget's smallest limits, and the counter that needs them."""

    budget: Budget
    tokens_per_minute: int
    quota: int | None
    quota_period: QuotaPeriod | None
    #: Consumer and counter-key value of the counter needing the most tokens per minute.
    neediest: tuple[str, str]
    #: Per consumer of the budget: the tokens per minute its busiest counter needs.
    per_consumer: dict[str, int]
    #: The budget has a quota but the workload is shorter than its period: the quota is kept,
    #: and would refuse this share of the budget's requests (403) at the suggested rate.
    quota_kept: bool = False
    kept_quota_refuses: float = 0.0
    #: The budget's index in the plan.
    number: int = -1
    #: Measured in a re-run of the whole simulation with these limits: the largest share of one
    #: of the budget's counters' requests refused (429 and 403).
    refused: float = 0.0
    meets_target: bool = True
    #: The spec's quota refused more than the target; `quota` is the smallest that meets it on
    #: this workload, which is shorter than one period (so a lower bound).
    quota_raised: bool = False

    @property
    def limit(self) -> Limit:
        """The budget's limit with this suggestion in it (a kept quota stays)."""
        if self.quota is not None:
            return Limit(self.tokens_per_minute, self.quota, self.quota_period)
        return Limit(
            self.tokens_per_minute, self.budget.limit.quota, self.budget.limit.quota_period
        )

    @property
    def adds_rate(self) -> bool:
        """The budget has no tokens-per-minute limit today; the suggestion adds one."""
        return self.budget.limit.tokens_per_minute is None

    @property
    def notes(self) -> list[str]:
        notes = []
        if self.adds_rate:
            notes.append("adds a tokens-per-minute limit (the spec sets none)")
        if self.quota_raised:
            old = self.budget.limit
            notes.append(
                f"quota raised: the spec's {old.quota:,}/{old.quota_period} refuses "
                f"{self.kept_quota_refuses:.1%} (403) at this rate, over the target; this quota "
                f"meets it on this workload, shorter than one {old.quota_period} period, so "
                "size it on a whole period"
            )
        elif self.quota_kept:
            notes.append(
                f"quota kept: the workload is shorter than one {self.budget.limit.quota_period} "
                "period"
                + (
                    f"; at this rate it refuses {self.kept_quota_refuses:.1%} (403)"
                    if self.kept_quota_refuses
                    else ""
                )
            )
        if self.too_large:
            notes.append(
                f"DOES NOT MEET THE TARGET within the largest limit a spec allows "
                f"({MAX_LIMIT:,}): no limit in a spec meets it"
            )
        elif not self.meets_target:
            notes.append(
                f"DOES NOT MEET THE TARGET: a replay with it refuses {self.refused:.1%} of one "
                "counter's requests"
            )
        return notes

    @property
    def too_large(self) -> bool:
        return max(self.tokens_per_minute, self.quota or 0) > MAX_LIMIT


def suggest(simulation: Simulation, max_refused_percent: float) -> list[Suggestion]:
    """Per budget with requests: the smallest tokens per minute (and quota) meeting the target."""
    search = _Search(simulation, max_refused_percent / 100)
    counters = [c for c in search.limited if simulation.result.tally.requests[c]]
    if not counters:
        return []
    rates = search.bisect(counters, search.rate_upper_bounds(counters), quota=False)
    by_budget: dict[int, list[int]] = {}
    for counter in counters:
        by_budget.setdefault(simulation.resolved.counter_budget[counter], []).append(counter)
    budget_rate = {b: max(rates[c] for c in members) for b, members in by_budget.items()}
    budget_rate = search.confirm(by_budget, budget_rate, rates=None)
    quotas: dict[int, int] = {}
    periods = {b: simulation.plan.budgets[b].limit.quota_period for b in by_budget}
    with_quota = [b for b, period in periods.items() if period and _spans(simulation, period)]
    if with_quota:
        members = [c for b in with_quota for c in by_budget[b]]
        search.rates = {c: budget_rate[simulation.resolved.counter_budget[c]] for c in members}
        found = search.bisect(members, search.quota_upper_bounds(members), quota=True)
        quota_of = {b: max(found[c] for c in by_budget[b]) for b in with_quota}
        quotas = search.confirm({b: by_budget[b] for b in with_quota}, quota_of, rates=budget_rate)
    kept = {b: by_budget[b] for b, period in periods.items() if period and b not in quotas}
    kept_refusals = search.kept_quota_refusals(kept, budget_rate) if kept else {}
    suggestions = []
    resolved = simulation.resolved
    for number, members in sorted(by_budget.items()):
        budget = simulation.plan.budgets[number]
        neediest = max(members, key=lambda c: (rates[c], -c))
        per_consumer: dict[str, int] = {}
        for counter in members:
            for consumer in resolved.counter_consumers[counter]:
                per_consumer[consumer] = max(per_consumer.get(consumer, 0), rates[counter])
        suggestions.append(
            Suggestion(
                budget,
                budget_rate[number],
                quotas.get(number),
                budget.limit.quota_period if number in quotas else None,
                (", ".join(resolved.counter_consumers[neediest]), _key_value(simulation, neediest)),
                dict(sorted(per_consumer.items())),
                number in kept,
                kept_refusals.get(number, 0.0),
                number,
            )
        )
    return verify(search, suggestions, by_budget)


@dataclass(frozen=True)
class Refused:
    """A budget's worst counter in a re-run: its share of requests refused, and of 403s alone."""

    share: float = 0.0
    by_quota: float = 0.0


def refused_shares(simulation: Simulation, suggestions: list[Suggestion]) -> dict[int, Refused]:
    """Per suggested budget: the largest shares of one of its counters' requests refused when the
    whole simulation runs again with every suggestion in the spec's budgets."""
    limits = {s.number: s.limit for s in suggestions}
    budgets = tuple(
        replace(b, limit=limits.get(number, b.limit))
        for number, b in enumerate(simulation.plan.budgets)
    )
    plan = replace(simulation.plan, budgets=budgets)
    rerun = simulate(plan, simulation.workload, simulation.assumptions)
    tally, budget_of = rerun.result.tally, rerun.resolved.counter_budget
    shares: dict[int, Refused] = {}
    for counter, requests in enumerate(tally.requests):
        number = budget_of[counter]
        if requests and number in limits:
            forbidden = tally.quota_exceeded[counter]
            before = shares.get(number, Refused())
            shares[number] = Refused(
                max(before.share, (tally.rate_limited[counter] + forbidden) / requests),
                max(before.by_quota, forbidden / requests),
            )
    return shares


def verify(
    search: _Search, suggestions: list[Suggestion], members: dict[int, list[int]]
) -> list[Suggestion]:
    """Re-run the simulation with the suggestions; raise those missing the target (a kept quota
    first: it is replaced by the smallest quota meeting the target) and mark what still misses."""
    simulation, target = search.simulation, search.max_refused
    found = list(suggestions)
    for _ in range(VERIFY_ROUNDS):
        shares = refused_shares(simulation, found)
        missing = [i for i, s in enumerate(found) if _share(shares, s) > target]
        if not missing:
            break
        kept = [i for i in missing if found[i].quota_kept and not found[i].quota_raised]
        if kept:
            quotas = _smallest_quotas(search, [found[i] for i in kept], members)
            for i in kept:
                found[i] = replace(
                    found[i],
                    quota=quotas[found[i].number],
                    quota_period=found[i].budget.limit.quota_period,
                    quota_raised=True,
                )
        for i in missing:
            if i not in kept:
                found[i] = _raised(found[i], shares.get(found[i].number, Refused()), target)
    shares = refused_shares(simulation, found)
    return [
        replace(
            s,
            refused=_share(shares, s),
            meets_target=_share(shares, s) <= target and not s.too_large,
        )
        for s in found
    ]


def _share(shares: dict[int, Refused], suggestion: Suggestion) -> float:
    return shares.get(suggestion.number, Refused()).share


def _smallest_quotas(
    search: _Search, suggestions: list[Suggestion], members: dict[int, list[int]]
) -> dict[int, int]:
    """Per budget: the smallest quota meeting the target on this workload at the suggested rate."""
    counters = [c for s in suggestions for c in members[s.number]]
    rate = {s.number: s.tokens_per_minute for s in suggestions}
    budget_of = search.simulation.resolved.counter_budget
    search.rates = {c: rate[budget_of[c]] for c in counters}
    found = search.bisect(counters, search.quota_upper_bounds(counters), quota=True)
    return {s.number: max(found[c] for c in members[s.number]) for s in suggestions}


def _raised(suggestion: Suggestion, refused: Refused, target: float) -> Suggestion:
    """One step (1%) up on the limit that refuses: the suggested quota when its 403s alone miss
    the target, else tokens per minute (fewer 429s; a kept quota is the spec's to change)."""
    if suggestion.quota is not None and refused.by_quota > target:
        return replace(suggestion, quota=suggestion.quota + max(1, suggestion.quota // 100))
    rate = suggestion.tokens_per_minute
    return replace(suggestion, tokens_per_minute=rate + max(1, rate // 100))


def as_json(
    suggestions: list[Suggestion], excerpt: str, max_refused_percent: float
) -> dict[str, Any]:
    """The suggestions as the JSON report's `suggestions` entry."""
    return {
        "maxRefusedPercent": max_refused_percent,
        "budgets": [
            {
                "budget": s.budget.label,
                "tokensPerMinute": s.tokens_per_minute,
                "quota": s.quota,
                "quotaPeriod": s.quota_period,
                "notes": s.notes,
                "meetsTarget": s.meets_target,
                "refusedPercentInReplay": round(100 * s.refused, 3),
                "quotaRaised": s.quota_raised,
                "neededBy": {"consumer": s.neediest[0], "counterKeyValue": s.neediest[1]},
                "tokensPerMinuteByConsumer": s.per_consumer,
            }
            for s in suggestions
        ],
        "specExcerpt": excerpt,
    }


def _spans(simulation: Simulation, period: str) -> bool:
    """True when the workload lasts at least one quota period (give or take a minute): a quota
    sized on less would only reflect part of a period's traffic."""
    times, week_start = simulation.workload.times, simulation.assumptions.week_start
    start, end = semantics.period_bounds(period, times[0], week_start)
    return simulation.workload.span_ms + semantics.MINUTE_MS >= end - start


def _key_value(simulation: Simulation, counter: int) -> str:
    budget = simulation.plan.budgets[simulation.resolved.counter_budget[counter]]
    return simulation.resolved.counter_keys[counter].removeprefix(budget.counter_key.prefix)


class _Search:
    """Replays with one slot per counter; `rates` fixes tokens per minute while quotas vary."""

    def __init__(self, simulation: Simulation, max_refused: float) -> None:
        self.simulation = simulation
        self.max_refused = max_refused
        budget_of = simulation.resolved.counter_budget
        budgets = simulation.plan.budgets
        # Suggestions are for all-models limits; per-model counters are left out.
        self.limited = [
            c
            for c in range(simulation.counters)
            if budget_of[c] >= 0 and budgets[budget_of[c]].deployment is None
        ]
        self.rates: dict[int, int] = {}
        # Slot per request = its counter; an extra unlimited slot for everything else.
        self.slot_of = array("l", simulation.resolved.counter_of)

    def replay(self, slots: list[Slot]) -> Tally:
        sim = self.simulation
        return engine.replay(
            sim.workload,
            routing(sim.resolved, slots, self.slot_of, with_groups=False),
            estimate_prompt_tokens=sim.plan.estimate_prompt_tokens,
            assumptions=sim.assumptions,
            minute_series=False,
        ).tally

    def meets(self, tally: Tally, counter: int, quota: bool) -> bool:
        refused = tally.rate_limited[counter] + (tally.quota_exceeded[counter] if quota else 0)
        return refused <= self.max_refused * tally.requests[counter]

    def slots(self, limits: dict[int, int], quota: bool) -> list[Slot]:
        budgets = self.simulation.plan.budgets
        budget_of = self.simulation.resolved.counter_budget
        slots = [Slot() for _ in range(self.simulation.counters)]
        for counter, value in limits.items():
            if quota:
                period = budgets[budget_of[counter]].limit.quota_period
                slots[counter] = Slot(self.rates[counter], value, period)
            else:
                slots[counter] = Slot(value)
        return slots

    def rate_upper_bounds(self, counters: list[int]) -> dict[int, int]:
        """Limits nothing is refused under: one more than the busiest unthrottled window."""
        tally = self.replay(self.slots({}, quota=False))
        return {c: tally.peak[c] + 1 for c in counters}

    def quota_upper_bounds(self, counters: list[int]) -> dict[int, int]:
        tally = self.replay(self.slots({}, quota=False))
        return {c: tally.prompt_tokens[c] + tally.completion_tokens[c] + 1 for c in counters}

    def kept_quota_refusals(
        self, members: dict[int, list[int]], rates: dict[int, int]
    ) -> dict[int, float]:
        """Per budget keeping its quota: the share of its requests the quota refuses (403) at
        the suggested rate."""
        budgets = self.simulation.plan.budgets
        slots = [Slot() for _ in range(self.simulation.counters)]
        for budget, counters in members.items():
            limit = budgets[budget].limit
            for counter in counters:
                slots[counter] = Slot(rates[budget], limit.quota, limit.quota_period)
        tally = self.replay(slots)
        return {
            budget: sum(tally.quota_exceeded[c] for c in counters)
            / sum(tally.requests[c] for c in counters)
            for budget, counters in members.items()
        }

    def bisect(self, counters: list[int], upper: dict[int, int], *, quota: bool) -> dict[int, int]:
        """Per counter, the smallest value meeting the target (all counters at once)."""
        low = dict.fromkeys(counters, 0)
        high = dict(upper)
        while True:
            open_counters = [c for c in counters if low[c] + 1 < high[c]]
            if not open_counters:
                return high
            trial = {c: high[c] for c in counters}
            for counter in open_counters:
                trial[counter] = (low[counter] + high[counter]) // 2
            tally = self.replay(self.slots(trial, quota))
            for counter in open_counters:
                if self.meets(tally, counter, quota):
                    high[counter] = trial[counter]
                else:
                    low[counter] = trial[counter]

    def confirm(
        self,
        members: dict[int, list[int]],
        values: dict[int, int],
        *,
        rates: dict[int, int] | None,
    ) -> dict[int, int]:
        """Raise a budget's value until all its counters meet the target together."""
        quota = rates is not None
        values = dict(values)
        for _ in range(100):
            limits = {c: values[b] for b, counters in members.items() for c in counters}
            tally = self.replay(self.slots(limits, quota))
            short = [
                b for b, cs in members.items() if not all(self.meets(tally, c, quota) for c in cs)
            ]
            if not short:
                return values
            for budget in short:
                values[budget] += max(1, values[budget] // 100)
        return values


def excerpt(
    simulation: Simulation, suggestions: list[Suggestion], max_refused_percent: float
) -> str:
    """The suggestions as a YAML excerpt to merge into the spec, with comments saying why."""
    workload = simulation.workload
    assumptions = simulation.assumptions
    lines = [
        f"# Smallest limits under which at most {max_refused_percent:g}% of each counter's "
        f"requests are refused,",
        f"# for {workload.source} ({len(workload):,} requests, {iso(workload.times[0])} to "
        f"{iso(workload.times[-1])})",
        f"# with minute window {assumptions.minute_window} and admission "
        f"{assumptions.admission}. Quotas from a whole period, or raised where the spec's "
        "refuses more than the target.",
        "# Merge into your spec: these fields replace the ones of the same name.",
    ]
    missing = [s.budget.label for s in suggestions if not s.meets_target]
    if missing:
        lines.insert(
            3,
            f"# NOT MET for {', '.join(missing)}: no limit found meets the target (see "
            "the comments); the others are checked by a replay with these limits.",
        )
    default = [s for s in suggestions if s.budget.kind == "default"]
    consumers = [s for s in suggestions if s.budget.kind == "consumer"]
    tiers = [s for s in suggestions if s.budget.kind == "product" and _generated(simulation, s)]
    products = [s for s in suggestions if s.budget.kind == "product" and s not in tiers]
    for suggestion in default:
        lines.append("tokenLimit:" + _notes(suggestion))
        lines.append(f"  tokensPerMinute: {suggestion.tokens_per_minute}{_needed_by(suggestion)}")
        if suggestion.quota is not None:
            lines.append(f"  quota: {suggestion.quota}")
            lines.append(f"  quotaPeriod: {suggestion.quota_period}")
    entries = [(s.budget.name, s) for s in consumers]
    for tier in tiers:  # tokengate's generated tiers hold consumers with their own budgets
        members = [
            c.name for c in simulation.plan.gateway.consumers if c.product == tier.budget.name
        ]
        entries += [(name, tier) for name in members]
    if entries:
        lines.append("consumers:")
        lines += [
            f"  - {_entry(name, s)}{_why(s)}" for name, s in sorted(entries, key=lambda e: e[0])
        ]
    if products:
        lines.append("products:")
        lines += [f"  - {_entry(s.budget.name, s)}{_why(s)}" for s in products]
    return "\n".join(lines) + "\n"


def _generated(simulation: Simulation, suggestion: Suggestion) -> bool:
    return any(
        p.generated for p in simulation.plan.gateway.products if p.name == suggestion.budget.name
    )


def _entry(name: str, suggestion: Suggestion) -> str:
    fields = [f"name: {_scalar(name)}", f"tokensPerMinute: {suggestion.tokens_per_minute}"]
    if suggestion.quota is not None:
        fields += [f"quota: {suggestion.quota}", f"quotaPeriod: {suggestion.quota_period}"]
    return "{ " + ", ".join(fields) + " }"


#: Consumers named in a budget's comment; the JSON output has them all.
COMMENT_CONSUMERS = 5


def _why(suggestion: Suggestion) -> str:
    """`# needed by team-a` (with the other consumers' needs when the budget is shared), then the
    suggestion's notes."""
    comment = _needed_by(suggestion)
    notes = "; ".join(suggestion.notes)
    if notes:
        comment = f"{comment}; {notes}" if comment else f"  # {notes}"
    return comment


def _notes(suggestion: Suggestion) -> str:
    notes = "; ".join(suggestion.notes)
    return f"  # {notes}" if notes else ""


def _needed_by(suggestion: Suggestion) -> str:
    consumer, value = suggestion.neediest
    who = consumer or "requests without a subscription"
    if value and value != consumer:
        who += f" at {value}"
    others = list(suggestion.per_consumer.items())
    if len(others) <= 1 and (not value or value == consumer):
        return ""
    comment = f"  # needed by {who}"
    if len(others) > 1:
        shown = ", ".join(f"{name or '(none)'} {rate}" for name, rate in others[:COMMENT_CONSUMERS])
        more = len(others) - COMMENT_CONSUMERS
        comment += f"; by consumer: {shown}" + (f" and {more} more" if more > 0 else "")
    return comment


def _scalar(text: str) -> str:
    """`text` as a YAML scalar that reads back as the same string (JSON quoting if needed)."""
    if text and yaml.safe_load(text) == text:
        return text
    return json.dumps(text)
