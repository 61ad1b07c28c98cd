"""`tokengate smoke` end to end: find the gateway and key, test the policy, test monitoring."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import click

from generator.emulate import policy
from generator.emulate.policy import LimitHeaders
from generator.emulate.run import describe
from generator.errors import ExitCode, TokengateError
from generator.findings import format_report
from generator.model import Gateway, Limit
from generator.pipeline import compile_path
from generator.pricing import PriceTable
from generator.simulate import plan as plans
from generator.simulate.workload import HEADER_PREFIX
from generator.smoke import monitoring, policy_test
from generator.smoke.http import Answer, request
from generator.smoke.policy_test import Row
from generator.smoke.target import Target, from_azure, from_url

#: Default URL with --keys (where `tokengate emulate` listens by default).
EMULATOR_URL = "http://127.0.0.1:8080"
#: What smoke puts in every header a counter key or dimension reads.
HEADER_VALUE = "tokengate-smoke"
PROMPT = "tokengate smoke test: answer with anything."


@dataclass(frozen=True)
class SmokeOptions:
    resource_group: str | None
    subscription: str | None
    url: str | None
    key: str | None
    keys_file: Path | None
    consumer: str | None
    deployment: str | None
    max_requests: int
    max_tokens: int | None
    quota: bool
    max_wait: float
    monitoring: bool
    monitoring_timeout: float
    poll_seconds: float
    request_timeout: float


def _target(gateway: Gateway, options: SmokeOptions) -> Target:
    if options.resource_group and options.url:
        raise TokengateError("give -g RESOURCE_GROUP or --url URL, not both")
    if options.resource_group:
        return from_azure(
            gateway,
            options.resource_group,
            consumer=options.consumer,
            subscription=options.subscription,
        )
    if options.url is None and options.keys_file is None:
        raise TokengateError(
            "where is the gateway? -g RESOURCE_GROUP (deployed), or --url URL with --key KEY "
            "or --keys FILE --consumer NAME (e.g. tokengate emulate)"
        )
    return from_url(
        gateway,
        options.url or EMULATOR_URL,
        key=options.key,
        keys_file=options.keys_file,
        consumer=options.consumer,
    )


def _deployment(gateway: Gateway, wanted: str | None) -> str:
    names = [d.name for a in gateway.accounts for d in a.deployments]
    if wanted is not None:
        if wanted not in names:
            raise TokengateError(f"--deployment {wanted}: not in the spec ({', '.join(names)})")
        return wanted
    chat = [d.name for a in gateway.accounts for d in a.deployments if "embed" not in d.model]
    return (chat or names)[0]


def request_size(limit: Limit | None, quota: bool, wanted: int | None) -> int:
    """max_tokens per request: about a fifth of the limit under test, so it takes ~5 requests."""
    if wanted is not None:
        return wanted
    budget = None
    if limit is not None:
        budget = limit.quota if quota and limit.quota else limit.tokens_per_minute or limit.quota
        if quota and limit.quota and limit.tokens_per_minute:
            budget = min(limit.quota, limit.tokens_per_minute)
    return max(1, min(1000, budget // 5)) if budget else 50


def _header_row() -> str:
    columns = f"{'#':>4}  {'status':<6}  {'tokens':>7}  {'remaining':>9}  {'quota left':>10}"
    return f"  {columns}  retry-after"


def _row_line(row: Row) -> str:
    def number(value: int | None) -> str:
        return "-" if value is None else f"{value:,}"

    retry = f"{row.retry_after} s" if row.retry_after is not None else ""
    waited = f"  (sent after waiting {row.waited} s)" if row.waited else ""
    line = (
        f"  {row.number:>4}  {row.status:<6}  {number(row.consumed):>7}  "
        f"{number(row.remaining):>9}  {number(row.remaining_quota):>10}  {retry}"
    )
    return line.rstrip() + waited


def run(spec: Path | None, options: SmokeOptions, prices: PriceTable | None = None) -> None:
    compiled = compile_path(spec, prices=prices)
    if compiled.warnings:
        click.echo(format_report(compiled.warnings), err=True)
    gateway = compiled.gateway
    gateway_plan = plans.build(gateway)
    target = _target(gateway, options)
    deployment = _deployment(gateway, options.deployment)
    budget_index = gateway_plan.budget_of_consumer.get(target.consumer, gateway_plan.outside_budget)
    budget = gateway_plan.budgets[budget_index] if budget_index is not None else None
    limit = budget.limit if budget else None
    declared = (
        policy.limit_headers(compiled.files).get(budget.counter_key_text, LimitHeaders())
        if budget
        else LimitHeaders()
    )
    names = policy.key_names(compiled.files)
    needs = gateway_plan.needs()
    headers = {names.header: target.key}
    for field in sorted(set(needs.required) | set(needs.optional)):
        if field.startswith(HEADER_PREFIX):
            headers[field.removeprefix(HEADER_PREFIX)] = HEADER_VALUE
    size = request_size(limit, options.quota, options.max_tokens)
    body: dict[str, object] = {
        "messages": [{"role": "user", "content": PROMPT}],
        "max_tokens": size,
    }
    if gateway.api.family == "llm":
        url = f"{target.base}/chat/completions"
        body["model"] = deployment
    else:
        url = (
            f"{target.base}/deployments/{deployment}/chat/completions"
            f"?api-version={gateway.api.api_version}"
        )

    def send() -> Answer:
        return request(
            url, headers=headers, body=body, timeout=options.request_timeout, shown_url=target.base
        )

    click.echo(
        f"smoke: consumer {target.consumer} at {target.base}, deployment {deployment} "
        f"(key {target.shown_key} from {target.key_source})"
    )
    click.echo(f"spec: {describe(limit)} ({budget.label if budget else 'no token limit'})")
    until = "429, then 403" if options.quota else "429"
    click.echo(f"Test out the policy: chat completions of up to {size:,} tokens until {until}")
    click.echo(_header_row())
    started = datetime.now(UTC)
    observed = policy_test.drive(
        send,
        declared,
        lambda row: click.echo(_row_line(row)),
        max_requests=options.max_requests,
        until_quota=options.quota,
        max_wait_s=options.max_wait,
    )
    verdicts = [policy_test.judge_rate(observed, limit, declared, size)]
    if options.quota:
        verdicts.append(policy_test.judge_quota(observed, limit, declared, size))
    for verdict in verdicts:
        for line in verdict.lines:
            click.echo(line)
    agree = all(verdict.agree for verdict in verdicts)
    if options.monitoring:
        agree = _monitoring(gateway, target, observed.consumed, started, options) and agree
    if not agree:
        raise TokengateError(
            "smoke: the gateway does not do what the spec says (see above)",
            exit_code=ExitCode.CHANGED,
        )


def _monitoring(
    gateway: Gateway,
    target: Target,
    consumed: int,
    started: datetime,
    options: SmokeOptions,
) -> bool:
    metrics = gateway.token_metrics
    if metrics is None:
        click.echo("Test monitoring: the spec has no tokenMetrics, so the gateway emits none")
        return True
    where = "Application Insights customMetrics" if target.azure else "the emulator's customMetrics"
    click.echo(f"Test monitoring: token metrics (namespace {metrics.namespace}) from {where}")
    azure = target.azure

    def fetch() -> monitoring.Rows:
        if azure is not None:
            return monitoring.from_app_insights(azure, started)
        return monitoring.from_emulator(target.base, started)

    rows = monitoring.wait_for(
        fetch,
        target.consumer,
        consumed,
        timeout_s=options.monitoring_timeout,
        poll_s=options.poll_seconds,
        progress=lambda line: click.echo(line, err=True),
    )
    for line in monitoring.by_dimension(rows, [d.name for d in metrics.dimensions]):
        click.echo(line)
    seen = monitoring.total_tokens(rows)
    if seen >= consumed:
        click.echo(
            f"agree: the metrics count {seen:,} Total Tokens; the answers reported {consumed:,}"
        )
        return True
    click.echo(
        f"disagree: after {options.monitoring_timeout:g} s the metrics count {seen:,} Total "
        f"Tokens of the {consumed:,} the answers reported (ingestion can take minutes: "
        "raise --monitoring-timeout)"
    )
    sys.stdout.flush()
    return False
