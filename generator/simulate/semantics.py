"""What the token-limit policy does, written down once, with the documentation each rule follows.

The engine calls these functions and nothing else decides an outcome. Where Microsoft Learn is
silent, the choice is an `Assumptions` field: an option on the command line, with the more
conservative reading (the one that throttles at least as often) as default, and printed in
every report.

Sources (Microsoft Learn):

- LEARN_AOAI_LIMIT: the `azure-openai-token-limit` policy reference.
- LEARN_LLM_LIMIT: the `llm-token-limit` reference ("Considerations for token counts and
  estimation"), the same policy family with the fuller text.
- LEARN_THROTTLING: "Advanced request throttling with Azure API Management" (rate-limit
  algorithms per tier; counters per gateway).
- LEARN_EMIT_METRIC: the `azure-openai-emit-token-metric` policy reference.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal

LEARN_AOAI_LIMIT = (
    "https://learn.microsoft.com/azure/api-management/azure-openai-token-limit-policy"
)
LEARN_LLM_LIMIT = "https://learn.microsoft.com/azure/api-management/llm-token-limit-policy"
LEARN_THROTTLING = (
    "https://learn.microsoft.com/azure/api-management/api-management-sample-flexible-throttling"
)
LEARN_EMIT_METRIC = (
    "https://learn.microsoft.com/azure/api-management/azure-openai-emit-token-metric-policy"
)

#: `tokens-per-minute` is "the maximum number of tokens consumed by prompt and completion per
#: minute" (LEARN_AOAI_LIMIT).
MINUTE_MS = 60_000

#: Outcomes, as stored per request by the engine.
ALLOWED, RATE_LIMITED, QUOTA_EXCEEDED = 0, 1, 2
#: "When a specified token rate limit is exceeded, the caller receives a 429 Too Many Requests
#: response status code. When a specified quota is exceeded, the caller receives a 403 Forbidden
#: response status code." (LEARN_AOAI_LIMIT)
HTTP_STATUS = {ALLOWED: 200, RATE_LIMITED: 429, QUOTA_EXCEEDED: 403}

#: The metrics the emit-token-metric policy sends: "Total Tokens, Prompt Tokens, and Completion
#: Tokens" (LEARN_EMIT_METRIC).
METRIC_NAMES = ("Total Tokens", "Prompt Tokens", "Completion Tokens")

QuotaPeriod = Literal["Hourly", "Daily", "Weekly", "Monthly", "Yearly"]
MinuteWindow = Literal["sliding", "fixed"]
Admission = Literal["strict", "lenient"]
WeekStart = Literal["monday", "sunday"]


@dataclass(frozen=True)
class Rule:
    """One documented rule the engine follows, with where it is written."""

    text: str
    source: str


#: The documented rules, in the words the report prints (JSON `semantics`).
RULES = (
    Rule(
        "One counter per counter-key value, used by every policy instance with that key "
        "(tokengate prefixes each key with its scope, so scopes never share one)",
        LEARN_AOAI_LIMIT,
    ),
    Rule("Over tokens-per-minute: 429 with a Retry-After header, in seconds", LEARN_AOAI_LIMIT),
    Rule(
        "Over the quota: 403; a quota period starts at the UTC time truncated to the hour, "
        "day, week, month or year",
        LEARN_AOAI_LIMIT,
    ),
    Rule(
        "estimate-prompt-tokens=true: prompt tokens are counted when the request arrives; "
        "false: prompt and completion tokens are counted from the response, so requests in "
        "flight can take the counter past the limit, after which requests are refused until "
        "it frees up",
        LEARN_LLM_LIMIT,
    ),
    Rule(
        "Streamed requests always have their prompt tokens estimated, whatever "
        "estimate-prompt-tokens says; their completion tokens are estimated too",
        LEARN_LLM_LIMIT,
    ),
    Rule("Counters are kept per gateway; this simulation models one gateway", LEARN_THROTTLING),
    Rule(
        "Token metrics: Total Tokens, Prompt Tokens, Completion Tokens per dimension",
        LEARN_EMIT_METRIC,
    ),
)


@dataclass(frozen=True)
class Assumption:
    """A choice the documentation leaves open, as the report prints it."""

    name: str
    value: str
    #: The command-line option that changes it; "" when none does.
    option: str
    why: str


@dataclass(frozen=True)
class Assumptions:
    """Everything the documentation does not settle; defaults are the conservative readings."""

    #: How "per minute" is counted. Classic tiers use a sliding window and v2 tiers a token
    #: bucket (LEARN_THROTTLING), whose size and refill the documentation does not give. A sliding
    #: 60-second window never lets more than the limit through in any 60 seconds, so it throttles
    #: at least as much as a bucket of the same rate; `fixed` counts per UTC calendar minute.
    minute_window: MinuteWindow = "sliding"
    #: With prompt tokens counted on arrival, is a request refused when its prompt would not fit
    #: in what is left (`strict`), or only once the limit is used up (`lenient`)? The
    #: documentation says estimation avoids backend calls "if the limit is already exceeded"
    #: (LEARN_AOAI_LIMIT) but not which comparison it makes.
    admission: Admission = "strict"
    #: First day of a `Weekly` quota period: the documentation says "truncated to the unit" only.
    week_start: WeekStart = "monday"
    #: Response time of trace rows that carry none (ms). 0 counts completion tokens at once,
    #: which throttles the most.
    latency_ms: int = 0

    def listed(
        self, *, without_duration: int, requests: int, gateway_tier: str, per_model: bool = False
    ) -> list[Assumption]:
        """The assumptions, in the words the report prints."""
        items = [
            Assumption(
                "minute window",
                self.minute_window,
                "--minute-window sliding|fixed",
                (
                    "the token-limit documentation does not say how a minute is counted; API "
                    "Management rate limiting uses a sliding window in classic tiers and a token "
                    f"bucket of undocumented size in v2 tiers like {gateway_tier}; sliding never "
                    "lets more than the limit through in any 60 s, so it throttles at least as "
                    "often"
                    if self.minute_window == "sliding"
                    else "counts per UTC calendar minute: a burst across a minute boundary can "
                    "pass twice the limit; less conservative than sliding"
                ),
            ),
            Assumption(
                "admission",
                self.admission,
                "--admission strict|lenient",
                (
                    "with prompt tokens counted on arrival, a request is refused when its prompt "
                    "does not fit in what is left of the limit (the documentation does not say "
                    "which comparison is made; strict throttles more)"
                    if self.admission == "strict"
                    else "a request is refused only once the limit is used up; one request can "
                    "take the counter past the limit"
                ),
            ),
            Assumption(
                "week start",
                self.week_start,
                "--week-start monday|sunday",
                "Weekly quotas: the documentation says the period is the UTC time truncated to "
                "the week, not which day starts it",
            ),
            Assumption(
                "gateways",
                "1",
                "",
                "counters are per gateway (regional and workspace gateways count separately); "
                "the simulation counts as one gateway",
            ),
            Assumption(
                "estimates",
                "exact",
                "",
                "estimated prompt and streamed completion tokens are taken to equal the counts "
                "in the workload",
            ),
            Assumption(
                "metrics of refused requests",
                "none",
                "",
                "the token limit comes before emit-token-metric in the generated policy and a "
                "refusal ends the request, so refused requests are taken to send no token metrics",
            ),
        ]
        if per_model:
            items.append(
                Assumption(
                    "per-model limits",
                    "after the all-models limit",
                    "",
                    "a request for a deployment with a per-model limit is checked against the "
                    "all-models limit, then (if admitted) the per-model one, as the elements "
                    "stand in the policy; the documentation does not say whether prompt tokens "
                    "the first element counted on arrival are given back when the second "
                    "refuses, so they are taken to stay counted (which throttles more); such a "
                    "refusal is tallied on the per-model counter only",
                )
            )
        if without_duration:
            which = (
                "the workload has no response times"
                if without_duration == requests
                else f"{without_duration:,} of {requests:,} requests come without a response time"
            )
            items.append(
                Assumption(
                    "response time",
                    f"{self.latency_ms} ms",
                    "--latency-ms N",
                    f"{which}; "
                    + (
                        "0 counts tokens from the response at once, which throttles the most"
                        if self.latency_ms == 0
                        else "every response takes this long"
                    ),
                )
            )
        return items


def prompt_counted_on_arrival(estimate_prompt_tokens: bool, stream: bool) -> bool:
    """Prompt tokens are estimated, and counted, when the request arrives (LEARN_LLM_LIMIT):
    with estimate-prompt-tokens=true, and for every streamed request regardless."""
    return estimate_prompt_tokens or stream


def tokens_needed(prompt_on_arrival: bool, prompt: int, admission: Admission) -> int:
    """Tokens that must be left under a limit for a request to be admitted.

    Without estimation the policy only knows whether the limit is used up: "all succeeding
    requests will be blocked by the policy until the token limit frees up again"
    (LEARN_AOAI_LIMIT), so one token must be left. With estimation, `strict` also wants room for
    the prompt.
    """
    if prompt_on_arrival and admission == "strict":
        return max(prompt, 1)
    return 1


def admits(used: int, limit: int, needed: int) -> bool:
    return used + needed <= limit


def retry_after_seconds(wait_ms: int) -> int:
    """The Retry-After value: whole seconds, rounded up, at least 1 (LEARN_AOAI_LIMIT: "the
    recommended retry interval in seconds")."""
    seconds = -(-wait_ms // 1000)  # ceiling division in integers: exact, no float
    return seconds if seconds > 1 else 1


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_DAY_MS = 86_400_000
_HOUR_MS = 3_600_000
#: 1970-01-01 was a Thursday: days since the epoch + this offset, mod 7, is 0 on the week start.
_WEEKDAY_OFFSET = {"monday": 3, "sunday": 4}


def period_bounds(period: str, t_ms: int, week_start: WeekStart = "monday") -> tuple[int, int]:
    """The quota period holding `t_ms` as [start, end) in ms: "the start time of a quota period
    is calculated using the UTC timestamp truncated to the unit (hour, day, etc.) used for the
    period" (LEARN_AOAI_LIMIT)."""
    if period == "Hourly":
        start = t_ms - t_ms % _HOUR_MS
        return start, start + _HOUR_MS
    if period == "Daily":
        start = t_ms - t_ms % _DAY_MS
        return start, start + _DAY_MS
    if period == "Weekly":
        day = t_ms // _DAY_MS
        first = day - (day + _WEEKDAY_OFFSET[week_start]) % 7
        return first * _DAY_MS, (first + 7) * _DAY_MS
    moment = _EPOCH + timedelta(milliseconds=t_ms)
    if period == "Monthly":
        start_dt = datetime(moment.year, moment.month, 1, tzinfo=UTC)
        year, month = divmod(moment.month, 12)
        end_dt = datetime(moment.year + year, month + 1, 1, tzinfo=UTC)
    elif period == "Yearly":
        start_dt = datetime(moment.year, 1, 1, tzinfo=UTC)
        end_dt = datetime(moment.year + 1, 1, 1, tzinfo=UTC)
    else:
        raise ValueError(f"unknown quota period {period!r}")
    return _ms(start_dt), _ms(end_dt)


def _ms(moment: datetime) -> int:
    return (moment - _EPOCH) // timedelta(milliseconds=1)


def minute_bounds(t_ms: int) -> tuple[int, int]:
    """The UTC calendar minute holding `t_ms` (the `fixed` minute window)."""
    start = t_ms - t_ms % MINUTE_MS
    return start, start + MINUTE_MS
