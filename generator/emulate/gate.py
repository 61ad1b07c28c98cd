"""The token-limit policy as a live request meets it, decided by `simulate`'s own engine.

Each request is turned into a one-row workload and resolved by `simulate.plan` (the budget it
falls under, its counter-key value, its dimension values: the same expression evaluation the
simulation uses), then `engine.Counters` decides it exactly as `engine.replay` would, with the
rules of `simulate.semantics`. Tokens are counted when `semantics` says: prompt tokens on
arrival when estimated (always for streams), the rest when the response is complete.

Time is the wall clock in ms since the Unix epoch (quota periods are UTC calendar units). For
tests and demos `speed` makes the emulated clock run faster: at speed 60 a minute window lasts
one real second, and Retry-After is given in real seconds; a fast clock starts at the top of the
current UTC year, so quota periods start with the emulator.
"""

from __future__ import annotations

import time
from array import array
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime

from generator.emulate.policy import LimitHeaders
from generator.model import Limit
from generator.simulate import semantics
from generator.simulate.engine import Counters
from generator.simulate.plan import Plan
from generator.simulate.semantics import ALLOWED, HTTP_STATUS, RATE_LIMITED, Assumptions
from generator.simulate.workload import (
    CLIENT_IP,
    CONSUMER,
    DEPLOYMENT,
    HEADER_PREFIX,
    Workload,
    dimension_field,
    to_ms,
)

#: What the Gateway ID dimension reads on the emulator.
GATEWAY_ID = "emulator"
#: Distinct request inputs whose resolution is remembered (a bound, not a tuning knob).
_RESOLVED_CACHE = 4096


@dataclass(frozen=True)
class Call:
    """One request as the policy sees it."""

    consumer: str
    operation_id: str
    deployment: str
    client_ip: str
    #: Request headers, names lower-cased.
    headers: Mapping[str, str]
    stream: bool
    #: The gateway's estimate (tokens.prompt_tokens).
    prompt_tokens: int


@dataclass(frozen=True)
class Ticket:
    """An admitted request: what to count when its response is complete."""

    budget: int
    counter: int
    counted_early: int
    dimensions: tuple[tuple[str, str], ...]
    #: The per-model limit the request was also checked against (-1: none).
    model_budget: int = -1
    model_counter: int = -1

    @property
    def elements(self) -> tuple[tuple[int, int], ...]:
        """(budget, counter) of each token-limit element the request passed, in policy order."""
        found = [(self.budget, self.counter), (self.model_budget, self.model_counter)]
        return tuple((b, c) for b, c in found if b >= 0)


@dataclass(frozen=True)
class Decision:
    status: int
    #: Real seconds; 0 when admitted.
    retry_after: int
    headers: dict[str, str]
    ticket: Ticket | None
    outcome: int = ALLOWED


@dataclass
class _Resolved:
    budget: int
    counter: int
    dimensions: tuple[tuple[str, str], ...]
    model_budget: int = -1
    model_counter: int = -1


@dataclass
class Gate:
    plan: Plan
    headers_by_key: Mapping[str, LimitHeaders]
    assumptions: Assumptions = field(default_factory=Assumptions)
    speed: float = 1.0
    #: Real ms since the Unix epoch; replaced in unit tests.
    wall_ms: Callable[[], float] = field(default=lambda: time.time() * 1000)

    def __post_init__(self) -> None:
        self.counters = Counters(0, self.assumptions)
        self.counter_ids: dict[str, int] = {}
        self.cache: dict[tuple[str, ...], _Resolved] = {}
        needs = self.plan.needs()
        names = set(needs.required) | set(needs.optional)
        self.header_fields = sorted(n for n in names if n.startswith(HEADER_PREFIX))
        self.started_real = self.wall_ms()
        self.started_emulated = self.started_real
        if self.speed != 1:
            # A fast clock starts at the top of the UTC year, so every hourly, daily, monthly
            # and yearly quota period starts with the emulator instead of ending at a moment
            # that depends on when it was started (at speed 60 an hour lasts a minute).
            year = datetime.fromtimestamp(self.started_real / 1000, UTC).year
            self.started_emulated = to_ms(datetime(year, 1, 1, tzinfo=UTC))

    def now(self) -> int:
        """Emulated ms since the epoch: real time since start, times `speed`."""
        real = self.wall_ms()
        return int(self.started_emulated + (real - self.started_real) * self.speed)

    def _resolve(self, call: Call) -> _Resolved:
        headers = tuple(
            call.headers.get(name.removeprefix(HEADER_PREFIX), "") for name in self.header_fields
        )
        signature = (call.consumer, call.deployment, call.client_ip, call.operation_id, *headers)
        known = self.cache.get(signature)
        if known is not None:
            return known
        text = {
            CONSUMER: [call.consumer],
            DEPLOYMENT: [call.deployment],
            CLIENT_IP: [call.client_ip],
            dimension_field("Client IP"): [call.client_ip],
            dimension_field("Operation ID"): [call.operation_id],
            dimension_field("Location"): [self.plan.gateway.location],
            dimension_field("Gateway ID"): [GATEWAY_ID],
        }
        for name, value in zip(self.header_fields, headers, strict=True):
            text[name] = [value]
        workload = Workload(
            "emulated request",
            times=array("q", [0]),
            prompt=array("q", [call.prompt_tokens]),
            completion=array("q", [0]),
            stream=bytearray([call.stream]),
            text=text,
        )
        resolved = self.plan.resolve(workload)
        budget = resolved.budget_of[0]
        counter = self._counter(resolved.counter_keys[0]) if budget >= 0 else -1
        model_budget = model_counter = -1
        if resolved.model_budget_of and resolved.model_budget_of[0] >= 0:
            model_budget = resolved.model_budget_of[0]
            model_counter = self._counter(resolved.counter_keys[resolved.model_counter_of[0]])
        names = [d.name for d in self.plan.dimensions]
        result = _Resolved(
            budget,
            counter,
            tuple(zip(names, resolved.combos[0], strict=True)),
            model_budget,
            model_counter,
        )
        if len(self.cache) >= _RESOLVED_CACHE:
            self.cache.clear()
        self.cache[signature] = result
        return result

    def _counter(self, key: str) -> int:
        """The counter of a counter-key value, made on first use (one per value, as in APIM)."""
        counter = self.counter_ids.get(key, -1)
        if counter < 0:
            counter = self.counter_ids[key] = self.counters.grow()
        return counter

    def _limit(self, budget: int) -> Limit:
        return self.plan.budgets[budget].limit

    def _declared(self, budget: int) -> LimitHeaders:
        return self.headers_by_key.get(self.plan.budgets[budget].counter_key_text, LimitHeaders())

    def remaining_headers(self, budget: int, counter: int) -> dict[str, str]:
        """The remaining-tokens headers the budget's element declares, as of now."""
        if budget < 0:
            return {}
        limit, declared = self._limit(budget), self._declared(budget)
        minute, quota = self.counters.remaining(
            counter, limit.tokens_per_minute, limit.quota, limit.quota_period, self.now()
        )
        headers = {}
        if declared.remaining_tokens and minute is not None:
            headers[declared.remaining_tokens] = str(minute)
        if declared.remaining_quota_tokens and quota is not None:
            headers[declared.remaining_quota_tokens] = str(quota)
        return headers

    def _remaining(self, elements: tuple[tuple[int, int], ...]) -> dict[str, str]:
        """Remaining-tokens headers of the elements a request passed: each sets its own, so a
        later element's value stands (a per-model limit's, after the all-models one)."""
        headers: dict[str, str] = {}
        for budget, counter in elements:
            headers.update(self.remaining_headers(budget, counter))
        return headers

    def admit(self, call: Call) -> Decision:
        """Each token-limit element in policy order (all-models, then per-model): the first to
        refuse answers; prompt tokens counted on arrival stay counted on the elements before it
        (as `engine.replay` assumes)."""
        resolved = self._resolve(call)
        ticket = Ticket(
            resolved.budget,
            resolved.counter,
            0,
            resolved.dimensions,
            resolved.model_budget,
            resolved.model_counter,
        )
        elements = ticket.elements
        if not elements:
            return Decision(200, 0, {}, ticket)
        t = self.now()
        early = semantics.prompt_counted_on_arrival(self.plan.estimate_prompt_tokens, call.stream)
        needed = semantics.tokens_needed(early, call.prompt_tokens, self.assumptions.admission)
        passed: list[tuple[int, int]] = []
        for budget, counter in elements:
            limit = self._limit(budget)
            outcome, wait_ms = self.counters.decide(
                counter, limit.tokens_per_minute, limit.quota, limit.quota_period, t, needed
            )
            if outcome != ALLOWED:
                seconds = semantics.retry_after_seconds(int(wait_ms / self.speed))
                headers = self._remaining((*passed, (budget, counter)))
                if outcome == RATE_LIMITED:
                    headers["Retry-After"] = str(seconds)
                return Decision(HTTP_STATUS[outcome], seconds, headers, None, outcome)
            if early:
                self._count(budget, counter, t, call.prompt_tokens)
            passed.append((budget, counter))
        counted = call.prompt_tokens if early else 0
        ticket = replace(ticket, counted_early=counted)
        return Decision(200, 0, self._remaining(elements), ticket)

    def _count(self, budget: int, counter: int, t: int, tokens: int) -> None:
        limit = self._limit(budget)
        self.counters.count(
            counter, limit.quota_period if limit.quota is not None else None, t, tokens
        )

    def complete(self, ticket: Ticket, prompt: int, completion: int) -> dict[str, str]:
        """Count the response's tokens (on every element the request passed); the headers the
        response carries."""
        elements = ticket.elements
        if not elements:
            return {}
        later = prompt + completion - ticket.counted_early
        if later > 0:
            now = self.now()
            for budget, counter in elements:
                self._count(budget, counter, now, later)
        headers = self._remaining(elements)
        for budget, _ in elements:
            consumed = self._declared(budget).tokens_consumed
            if consumed:
                headers[consumed] = str(prompt + completion)
        return headers
