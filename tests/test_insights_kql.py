"""The KQL behind the workbook and alerts, run on sample logs with duckdb-kql (a KQL engine over
DuckDB that refuses what it cannot translate rather than guess). Tables carry the columns of the
Azure Monitor table references: ApiManagementGatewayLogs, ApiManagementGatewayLlmLog and
Application Insights customMetrics. Expected numbers come from the sample rows and the model's
budgets, never from the queries."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Any

import duckdb
import duckdb_kql
import pytest
from insights_support import insights_variant
from support import GOOD_SPECS, compiled
from test_insights import alert_rules

from generator.model import Gateway

#: Wednesday 18 March 2026, 10:30 UTC: the clock `now()` reads in every query below.
NOW = dt.datetime(2026, 3, 18, 10, 30)

TABLES = {
    "ApiManagementGatewayLogs": (
        "TimeGenerated TIMESTAMP, CorrelationId VARCHAR, ApiId VARCHAR, "
        "ApimSubscriptionId VARCHAR, ProductId VARCHAR, ResponseCode INTEGER, "
        "BackendResponseCode INTEGER, CallerIpAddress VARCHAR, TotalTime BIGINT, "
        "RequestHeaders JSON"
    ),
    "ApiManagementGatewayLlmLog": (
        "TimeGenerated TIMESTAMP, CorrelationId VARCHAR, SequenceNumber INTEGER, "
        "PromptTokens INTEGER, CompletionTokens INTEGER, TotalTokens INTEGER, "
        "ModelName VARCHAR, DeploymentName VARCHAR, IsStreamCompletion BOOLEAN"
    ),
    "customMetrics": (
        "timestamp TIMESTAMP, name VARCHAR, valueSum DOUBLE, valueCount INTEGER, "
        "customDimensions JSON"
    ),
}


@dataclass(frozen=True)
class Call:
    """One request through the gateway: a gateway-log row and, when a model answered, LLM rows."""

    consumer: str
    tokens: int
    at: dt.datetime = NOW - dt.timedelta(minutes=5)
    product: str = ""
    api: str = "azure-openai"
    status: int = 200
    backend_status: int | None = 200
    model: str = "gpt-4.1-2025-04-14"
    deployment: str = "gpt-4.1"
    #: Extra LLM-log rows of a long prompt split over several rows (they repeat the counts).
    continuation_rows: int = 0
    #: Prompt tokens of `tokens`; None: a third of them.
    prompt: int | None = None


def database(calls: list[Call]) -> duckdb.DuckDBPyConnection:
    con = duckdb_kql.connect()
    for table, columns in TABLES.items():
        con.sql(f"CREATE TABLE {table} ({columns})")
    for number, call in enumerate(calls):
        correlation = f"c{number}"
        con.execute(
            "INSERT INTO ApiManagementGatewayLogs "
            "VALUES (?, ?, ?, ?, ?, ?, ?, '10.0.0.1', 90, '{}')",
            [
                call.at,
                correlation,
                call.api,
                call.consumer,
                call.product,
                call.status,
                call.backend_status,
            ],
        )
        if call.status != 200:
            continue
        prompt = call.tokens // 3 if call.prompt is None else call.prompt
        con.execute(
            "INSERT INTO ApiManagementGatewayLlmLog VALUES (?, ?, 0, ?, ?, ?, ?, ?, false)",
            [
                call.at,
                correlation,
                prompt,
                call.tokens - prompt,
                call.tokens,
                call.model,
                call.deployment,
            ],
        )
        for sequence in range(1, call.continuation_rows + 1):
            con.execute(
                "INSERT INTO ApiManagementGatewayLlmLog VALUES (?, ?, ?, ?, ?, ?, '', '', false)",
                [call.at, correlation, sequence, prompt, call.tokens - prompt, call.tokens],
            )
    return con


def run(con: duckdb.DuckDBPyConnection, query: str) -> list[dict[str, Any]]:
    relation = duckdb_kql.kql(con, query, query_now=NOW)
    return [dict(zip(relation.columns, row, strict=True)) for row in relation.fetchall()]


@pytest.mark.parametrize("spec", GOOD_SPECS, ids=lambda p: p.stem)
def test_every_query_parses_and_runs_on_the_documented_columns(spec: Any) -> None:
    """Parse errors, unknown columns and unknown functions all fail here, for every spec."""
    con = database([])
    for path, rendered in compiled(spec).files.items():
        if path.startswith("queries/"):
            assert duckdb_kql.parse(rendered.content).ok, path
            run(con, rendered.content)


def quota_percent(gateway: Gateway, consumer: str, used: int) -> float:
    """What the spec's budget makes of `used` tokens: share of the consumer's quota, in %."""
    limit = next(c for c in gateway.consumers if c.name == consumer).limit
    assert limit is not None and limit.quota is not None
    return round(100 * used / limit.quota, 1)


def quota_calls() -> tuple[list[Call], dict[str, int]]:
    """Sample traffic for the insights fixture, and what each consumer used this period."""
    earlier_today = NOW.replace(hour=1)
    calls = [
        # Product finance, Monthly: this month counts, last month does not.
        Call("subscription-finance", 600_000, product="finance", at=dt.datetime(2026, 3, 2)),
        Call("subscription-finance", 300_000, product="finance", at=dt.datetime(2026, 2, 27)),
        # Own budget, Hourly: only this hour counts.
        Call("subscription3", 17_000, at=NOW.replace(minute=5)),
        Call("subscription3", 10_000, at=NOW.replace(minute=0) - dt.timedelta(minutes=5)),
        # Default budget, Daily: today counts; a prompt split over three rows counts once.
        Call("subscription1", 60_000, at=earlier_today, continuation_rows=2),
        Call("subscription1", 30_000),
        Call("subscription1", 50_000, at=NOW - dt.timedelta(days=1)),
        # Refused (no model answered) and another API: no tokens of this API.
        Call("subscription1", 0, status=429, backend_status=None),
        Call("subscription1", 1_000_000, api="other-api"),
        # Own budget that keeps the default quota (TPM override only), counted on its own.
        Call("subscription2", 30_000),
    ]
    used = {
        "subscription-finance": 600_000,
        "subscription3": 17_000,
        "subscription1": 90_000,
        "subscription2": 30_000,
    }
    return calls, used


def test_quota_usage_counts_each_budget_over_its_own_period() -> None:
    result = insights_variant()
    calls, used = quota_calls()
    rows = run(database(calls), result.files["queries/consumer-quota-usage.kql"].content)
    expected = {name: quota_percent(result.gateway, name, tokens) for name, tokens in used.items()}
    assert {row["Consumer"]: row["PercentUsed"] for row in rows} == expected
    assert [row["PercentUsed"] for row in rows] == sorted(expected.values(), reverse=True)
    scopes = {row["Consumer"]: row["Scope"] for row in rows}
    assert scopes == {
        "subscription-finance": "product/finance",
        "subscription3": "consumer/subscription3",
        "subscription2": "consumer/subscription2",
        "subscription1": "default",
    }


def test_quota_alert_fires_for_consumers_above_the_threshold_only() -> None:
    result = insights_variant()
    calls, used = quota_calls()
    rule = alert_rules(result)["queries/consumer-quota-usage.kql"]
    rows = run(database(calls), rule["query"])
    assert result.gateway.insights is not None
    assert result.gateway.insights.alerts is not None
    threshold = result.gateway.insights.alerts.quota_percent
    assert threshold is not None
    above = {n for n, t in used.items() if quota_percent(result.gateway, n, t) > threshold}
    assert {row["Consumer"] for row in rows} == above
    assert above, "the sample must cross the threshold for the test to mean anything"


def test_weekly_quota_period_starts_on_sunday() -> None:
    def weekly(data: dict[str, Any]) -> None:
        data["tokenLimit"]["quotaPeriod"] = "Weekly"

    result = insights_variant(weekly)
    sunday, saturday = dt.datetime(2026, 3, 15, 0, 0), dt.datetime(2026, 3, 14, 23, 0)
    calls = [Call("subscription1", 40_000, at=sunday), Call("subscription1", 25_000, at=saturday)]
    (row,) = run(database(calls), result.files["queries/consumer-quota-usage.kql"].content)
    assert row["TokensUsed"] == 40_000


def throttling_calls(throttled: int, total: int) -> list[Call]:
    ok = [Call("team-a", 100) for _ in range(total - throttled)]
    return ok + [Call("team-a", 0, status=429, backend_status=None) for _ in range(throttled)]


@pytest.mark.parametrize(("throttled", "total"), [(6, 100), (5, 100), (0, 0)])
def test_throttle_alert_fires_above_the_share_only(throttled: int, total: int) -> None:
    result = insights_variant()
    rule = alert_rules(result)["queries/throttled-rate.kql"]
    con = database(throttling_calls(throttled, total))
    (rate,) = run(con, result.files["queries/throttled-rate.kql"].content)
    assert (rate["Requests"], rate["Throttled"]) == (total, throttled)
    assert result.gateway.insights is not None
    assert result.gateway.insights.alerts is not None
    share = result.gateway.insights.alerts.throttled_percent
    assert share is not None
    fires = bool(total) and 100 * throttled / total > share
    assert bool(run(con, rule["query"])) == fires


def test_throttled_requests_tell_the_token_limit_from_azure_openai() -> None:
    result = insights_variant()
    calls = [
        Call("team-a", 0, status=429, backend_status=None),
        Call("team-a", 0, status=429, backend_status=None),
        Call("team-b", 0, status=429, backend_status=429),
        Call("team-b", 500),
    ]
    rows = run(database(calls), result.files["queries/throttled-requests.kql"].content)
    assert {row["Series"]: row["Requests"] for row in rows} == {
        "team-a (token limit)": 2,
        "team-b (Azure OpenAI)": 1,
    }


def test_tokens_per_consumer_and_per_model() -> None:
    result = insights_variant()
    calls = [
        Call("team-a", 1_000),
        Call("team-a", 500, model="gpt-4.1-mini-2025-04-14", deployment="gpt-4.1-mini"),
        Call("team-b", 2_000, continuation_rows=1),
        Call("team-b", 9_999, api="other-api"),
    ]
    con = database(calls)
    by_consumer = run(con, result.files["queries/token-usage-by-consumer.kql"].content)
    assert {r["Consumer"]: r["Tokens"] for r in by_consumer} == {"team-a": 1_500, "team-b": 2_000}
    by_model = run(con, result.files["queries/token-usage-by-model.kql"].content)
    assert {r["Model"]: r["Tokens"] for r in by_model} == {
        "gpt-4.1-2025-04-14 (gpt-4.1)": 3_000,
        "gpt-4.1-mini-2025-04-14 (gpt-4.1-mini)": 500,
    }


def test_tokens_per_dimension_keep_the_spec_dimensions_only() -> None:
    result = insights_variant()
    con = database([])
    for tokens, subscription in ((100, "team-a"), (50, "team-b"), (25, "team-a")):
        dimensions = {"Subscription ID": subscription, "API ID": "azure-openai", "Region": "Sweden"}
        con.execute(
            "INSERT INTO customMetrics VALUES (?, 'Total Tokens', ?, 1, ?)",
            [NOW - dt.timedelta(minutes=1), tokens, json.dumps(dimensions)],
        )
    con.execute(
        "INSERT INTO customMetrics VALUES (?, 'Prompt Tokens', 40, 1, ?)",
        [NOW, json.dumps({"Subscription ID": "team-a"})],
    )
    rows = run(con, result.files["queries/token-usage-by-dimension.kql"].content)
    assert {(r["Dimension"], r["Value"]): r["Tokens"] for r in rows} == {
        ("Subscription ID", "team-a"): 125,
        ("Subscription ID", "team-b"): 50,
        ("API ID", "azure-openai"): 175,
    }
