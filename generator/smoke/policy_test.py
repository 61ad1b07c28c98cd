""" "Test out the policy": one consumer's chat completions until the gateway refuses, and whether
what it answered agrees with the spec.

The verdict allows for what the policy documentation leaves open (semantics.Assumptions): with
one request at a time, the first 429 must come once the minute's tokens are used, give or take
one request (prompt estimation admits a request whose completion then overshoots; strict and
lenient admission differ by one prompt). Tokens counted before the run are read from the first
remaining-tokens header: within one minute they cannot be told from a lower limit, so the rate
verdict is then "inconclusive" (exit 1); a quota's earlier use is expected and allowed for.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from generator.emulate.policy import LimitHeaders
from generator.model import Limit
from generator.smoke.http import Answer, Unreachable

#: Longest Retry-After a tokens-per-minute limit can give (its window is one minute).
MAX_RATE_RETRY_AFTER = 60


@dataclass(frozen=True)
class Row:
    number: int
    status: int
    consumed: int | None
    remaining: int | None
    remaining_quota: int | None
    retry_after: int | None
    waited: int = 0


@dataclass
class Observed:
    rows: list[Row] = field(default_factory=list)

    @property
    def allowed(self) -> list[Row]:
        return [row for row in self.rows if row.status == 200]

    @property
    def consumed(self) -> int:
        return sum(row.consumed or 0 for row in self.allowed)

    @property
    def largest(self) -> int:
        return max((row.consumed or 0 for row in self.allowed), default=0)

    def first(self, status: int) -> Row | None:
        return next((row for row in self.rows if row.status == status), None)


def _integer(text: str | None) -> int | None:
    try:
        return int(text) if text is not None else None
    except ValueError:
        return None


def consumed_tokens(answer: Answer, headers: LimitHeaders) -> int | None:
    """The usage the body reports, else the tokens-consumed header."""
    usage = answer.body.get("usage") if isinstance(answer.body, dict) else None
    if isinstance(usage, dict) and isinstance(usage.get("total_tokens"), int):
        return int(usage["total_tokens"])
    if headers.tokens_consumed:
        return _integer(answer.headers.get(headers.tokens_consumed.lower()))
    return None


def row_of(number: int, answer: Answer, headers: LimitHeaders, waited: int = 0) -> Row:
    def header(name: str) -> int | None:
        return _integer(answer.headers.get(name.lower())) if name else None

    return Row(
        number,
        answer.status,
        consumed_tokens(answer, headers) if answer.status == 200 else None,
        header(headers.remaining_tokens),
        header(headers.remaining_quota_tokens),
        _integer(answer.headers.get("retry-after")),
        waited,
    )


Send = Callable[[], Answer]
Show = Callable[[Row], None]


def refused_key(answer: Answer) -> str:
    message = answer.body.get("message", "") if isinstance(answer.body, dict) else ""
    return f"{answer.status}{': ' + message if message else ''}"


def drive(
    send: Send,
    headers: LimitHeaders,
    show: Show,
    *,
    max_requests: int,
    until_quota: bool,
    max_wait_s: float,
    sleep: Callable[[float], None] = time.sleep,
) -> Observed:
    """Send until 429 (until 403 with `until_quota`, waiting out each Retry-After), bounded by
    `max_requests` and, for the waits, `max_wait_s`."""
    observed = Observed()
    waited_total = 0.0
    pending_wait = 0
    for number in range(1, max_requests + 1):
        answer = send()
        if number == 1 and answer.status in (401, 404):
            what = "refuses the key" if answer.status == 401 else "has no such operation"
            raise Unreachable(f"the gateway {what} ({refused_key(answer)})")
        row = row_of(number, answer, headers, pending_wait)
        pending_wait = 0
        observed.rows.append(row)
        show(row)
        if row.status == 403 or row.status not in (200, 429):
            break
        if row.status == 429:
            if not until_quota:
                break
            wait = row.retry_after or 1
            if waited_total + wait > max_wait_s:
                break
            sleep(wait)
            waited_total += wait
            pending_wait = wait
    return observed


@dataclass(frozen=True)
class Verdict:
    agree: bool
    lines: tuple[str, ...]


def _prior(rows: list[Row], remaining: Callable[[Row], int | None], limit: int) -> int:
    """Tokens already counted before this run, from the first answer's remaining header (after
    this run's own first request, when that one was admitted)."""
    if not rows or remaining(rows[0]) is None:
        return 0
    left = remaining(rows[0])
    assert left is not None
    return max(0, limit - left - (rows[0].consumed or 0))


def judge_rate(
    observed: Observed, limit: Limit | None, headers: LimitHeaders, size: int
) -> Verdict:
    """`size`: a request's max_tokens, standing in for its tokens when none was admitted."""
    tpm = limit.tokens_per_minute if limit else None
    refused = observed.first(429)
    before = [row for row in observed.rows if refused is None or row.number < refused.number]
    tokens = sum(row.consumed or 0 for row in before if row.status == 200)
    largest = max((row.consumed or 0 for row in before if row.status == 200), default=0)
    lines: list[str] = []
    if tpm is None:
        if refused is None:
            return Verdict(True, ("agree: no tokens-per-minute limit, and no 429",))
        return Verdict(
            False,
            (f"disagree: 429 at request {refused.number}, the spec sets no token rate",),
        )
    prior = _prior(observed.rows, lambda row: row.remaining, tpm)
    largest = largest or size
    counted = prior + tokens
    where = f"{tokens:,} tokens" + (f" (+{prior:,} counted before this run)" if prior else "")
    problems: list[str] = []
    if refused is None:
        lines.append(f"observed: no 429 in {len(observed.rows)} requests, {where}")
        if counted > tpm + largest:
            problems.append(f"{counted:,} tokens passed a limit of {tpm:,} tokens/min")
        else:
            problems.append("the limit was not reached: raise --max-requests or --max-tokens")
    else:
        lines.append(
            f"observed: 429 at request {refused.number} after {where}; one request took up to "
            f"{largest:,}"
        )
        if counted + largest <= tpm:
            problems.append(f"429 came early: another {largest:,}-token request fit under {tpm:,}")
        if counted > tpm + largest:
            problems.append(
                f"429 came late: {counted:,} tokens passed a limit of {tpm:,} tokens/min"
            )
        if refused.retry_after is None:
            problems.append("the 429 has no Retry-After header")
        elif not 1 <= refused.retry_after <= MAX_RATE_RETRY_AFTER:
            problems.append(f"Retry-After {refused.retry_after} is not 1 to 60 seconds")
    if headers.remaining_tokens and observed.allowed:
        values = [row.remaining for row in observed.allowed]
        if any(value is None for value in values):
            problems.append(f"the policy declares {headers.remaining_tokens} but answers lack it")
        elif any(not 0 <= value <= tpm for value in values if value is not None):
            problems.append(f"{headers.remaining_tokens} outside 0..{tpm:,}")
    if problems:
        return Verdict(False, (*lines, *(f"disagree: {p}" for p in problems)))
    if prior:
        # A smaller limit and tokens left by an earlier run look the same within one minute.
        return Verdict(
            False,
            (
                *lines,
                f"inconclusive: the minute already held {prior:,} tokens (a run less than a "
                "minute ago, or another client), so a lower limit would look the same: run "
                "again in a minute",
            ),
        )
    return Verdict(
        True,
        (*lines, f"agree: {tpm:,} tokens/min, refused with 429 and Retry-After once used up"),
    )


def _current_period(rows: list[Row]) -> list[Row]:
    """The rows since the last quota period began: where the remaining quota went up (a run can
    cross the top of the hour)."""
    start = 0
    for i in range(1, len(rows)):
        before, now = rows[i - 1].remaining_quota, rows[i].remaining_quota
        if before is not None and now is not None and now > before:
            start = i
    return rows[start:]


def judge_quota(
    observed: Observed, limit: Limit | None, headers: LimitHeaders, size: int
) -> Verdict:
    quota = limit.quota if limit else None
    refused = observed.first(403)
    if quota is None:
        if refused is None:
            return Verdict(True, ("agree: no quota, and no 403",))
        return Verdict(
            False, (f"disagree: 403 at request {refused.number}, the spec sets no quota",)
        )
    rows = _current_period(observed.rows)
    prior = _prior(rows, lambda row: row.remaining_quota, quota)
    tokens = sum(row.consumed or 0 for row in rows if row.status == 200)
    largest = max((row.consumed or 0 for row in rows if row.status == 200), default=0) or size
    counted = prior + tokens
    period = limit.quota_period if limit else ""
    where = f"{tokens:,} tokens" + (f" (+{prior:,} counted before this run)" if prior else "")
    if refused is None:
        lines = (f"observed: no 403 in {len(observed.rows)} requests, {where}",)
        if counted > quota + largest:
            return Verdict(
                False, (*lines, f"disagree: {counted:,} tokens passed a quota of {quota:,}")
            )
        return Verdict(
            False,
            (*lines, "disagree: the quota was not reached: raise --max-requests or --max-wait"),
        )
    since = (
        f" (since the quota period began at request {rows[0].number})" if rows[0].number > 1 else ""
    )
    lines = (f"observed: 403 at request {refused.number} after {where}{since}",)
    if counted + largest <= quota:
        return Verdict(False, (*lines, f"disagree: 403 came early, under the quota of {quota:,}"))
    if counted > quota + largest:
        return Verdict(False, (*lines, f"disagree: 403 came late, past the quota of {quota:,}"))
    return Verdict(
        True, (*lines, f"agree: {quota:,} tokens {period}, refused with 403 once used up")
    )
