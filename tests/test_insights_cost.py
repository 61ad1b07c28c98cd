"""Cost wherever tokens are shown (issue 14, item 4): the cost queries, the money-budget query
and its alert, run on sample logs with duckdb-kql as in test_insights_kql.py. Every expected
cost is worked out by hand below from the literal prices of PRICES, never from the queries or
from tokengate's own arithmetic.

The queries key prices on the LLM log's DeploymentName ("Deployment name used by client") and
price every prompt token as input, since the table has no cached-token column:
https://learn.microsoft.com/azure/azure-monitor/reference/tables/apimanagementgatewayllmlog
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from decimal import Decimal
from typing import Any

import duckdb_kql
import pytest
from insights_support import insights_variant
from test_insights import alert_rules, charts, workbook
from test_insights_kql import NOW, Call, database, run

from generator.findings import has_errors
from generator.insights_plan import insights_plan
from generator.model import Gateway
from generator.model.gateway import Account, Budget, Deployment, Limit
from generator.pipeline import Compiled
from generator.pricing import Price, PriceTable
from generator.render import kql_real, render
from generator.stages import staged
from generator.verify import verify_files

#: Prices per 1M tokens, written here so the hand arithmetic below reads them off directly.
GPT_4O = Price("gpt-4o", "2024-11-20", "Global", Decimal("2.50"), Decimal("10.00"), Decimal("1.25"))
GPT_41 = Price("gpt-4.1", "2025-04-14", "Global", Decimal("2.00"), Decimal("8.00"), Decimal("0.50"))
MINI_DZ = Price("gpt-4o-mini", "2024-07-18", "DataZone", Decimal("0.165"), Decimal("0.66"))
PRICES = PriceTable("USD", "2026-01-31", "test prices", (GPT_4O, GPT_41, MINI_DZ))

#: The insights fixture's account, plus gpt-4o (Global), gpt-4o-mini (Data Zone, no cached
#: meter) and a provisioned deployment (billed per PTU-hour: no per-token price).
EXTRA_DEPLOYMENTS = [
    {"name": "gpt-4o", "model": "gpt-4o", "version": "2024-11-20", "sku": "GlobalStandard"},
    {"name": "mini-dz", "model": "gpt-4o-mini", "version": "2024-07-18", "sku": "DataZoneStandard"},
    {"name": "ptu", "model": "gpt-4o", "version": "2024-11-20", "sku": "GlobalProvisionedManaged"},
]


def _more_deployments(data: dict[str, Any]) -> None:
    (account,) = data["openai"]
    account["deployments"] += [dict(d, capacity=50) for d in EXTRA_DEPLOYMENTS]


def compiled_gateway(base: Compiled, gateway: Gateway) -> Compiled:
    """`gateway` rendered and staged as `tokengate render` does, and its files verified."""
    files = staged(gateway, render(gateway))
    broken = verify_files({path: f.content for path, f in files.items()})
    assert not has_errors(broken), broken
    return Compiled(base.spec, gateway, files, [])


def priced_fixture() -> Compiled:
    base = insights_variant(_more_deployments)
    return compiled_gateway(base, dataclasses.replace(base.gateway, prices=PRICES))


def test_kql_real_writes_the_decimal_digit_for_digit() -> None:
    assert kql_real(Decimal("2.50")) == "2.50"
    assert kql_real(Decimal("10")) == "10.0"
    assert kql_real(Decimal("1E+1")) == "10.0"
    assert kql_real(Decimal("0.0055")) == "0.0055"
    assert kql_real(None) == "real(null)"
    con = duckdb_kql.connect()
    (row,) = run(con, f"print Price = {kql_real(Decimal('0.0055'))}")
    assert row["Price"] == 0.0055


def test_price_table_lists_each_deployment_with_its_own_price() -> None:
    result = priced_fixture()
    query = result.files["queries/token-cost-by-model.kql"].content
    assert '"gpt-4o", "gpt-4o", "2024-11-20", "Global", 2.50, 1.25, 10.00' in query
    # No cached meter: cached tokens cost as input.
    assert '"mini-dz", "gpt-4o-mini", "2024-07-18", "DataZone", 0.165, 0.165, 0.66' in query
    assert '"ptu", "gpt-4o", "2024-11-20", "Provisioned", real(null), real(null), real(null)' in (
        query
    )
    assert "// Prices: USD per 1M tokens, effective 2026-01-31." in query
    assert "// Deployment ptu (gpt-4o 2024-11-20) has no per-token price (provisioned" in query


def cost_calls() -> list[Call]:
    return [
        # 1,000 prompt + 500 completion on gpt-4o 2024-11-20 Global:
        # 1000 * 2.50 / 1M + 500 * 10.00 / 1M = 0.0025 + 0.005 = $0.0075
        Call("team-a", 1_500, prompt=1_000, model="gpt-4o-2024-11-20", deployment="gpt-4o"),
        # 2,000 + 1,000 on gpt-4o-mini Data Zone: 2000 * 0.165 / 1M + 1000 * 0.66 / 1M
        # = 0.00033 + 0.00066 = $0.00099
        Call("team-a", 3_000, prompt=2_000, model="gpt-4o-mini-2024-07-18", deployment="mini-dz"),
        # 10,000 + 2,000 on gpt-4.1 Global, split over two log rows (counted once):
        # 10000 * 2.00 / 1M + 2000 * 8.00 / 1M = 0.02 + 0.016 = $0.036
        Call("team-b", 12_000, prompt=10_000, continuation_rows=1),
        # Provisioned: no per-token price; its 5,000 tokens are unpriced.
        Call("team-b", 5_000, prompt=4_000, model="gpt-4o-2024-11-20", deployment="ptu"),
        # Another API: not this API's cost.
        Call("team-b", 1_000_000, prompt=900_000, deployment="gpt-4o", api="other-api"),
    ]


def test_cost_per_consumer_is_tokens_times_the_deployment_price() -> None:
    result = priced_fixture()
    rows = run(database(cost_calls()), result.files["queries/token-cost-by-consumer.kql"].content)
    by_consumer = {r["Consumer"]: r for r in rows}
    # team-a: 0.0075 + 0.00099 = $0.00849; team-b: $0.036 and 5,000 unpriced tokens.
    assert by_consumer["team-a"]["Cost"] == pytest.approx(0.00849, rel=1e-12)
    assert by_consumer["team-b"]["Cost"] == pytest.approx(0.036, rel=1e-12)
    assert {c: r["UnpricedTokens"] for c, r in by_consumer.items()} == {
        "team-a": 0,
        "team-b": 5_000,
    }
    assert {c: r["PromptTokens"] for c, r in by_consumer.items()} == {
        "team-a": 3_000,
        "team-b": 14_000,
    }
    assert {r["Currency"] for r in rows} == {"USD"}
    assert [r["Consumer"] for r in rows] == ["team-b", "team-a"], "dearest first"


def test_cost_per_model_deployment() -> None:
    result = priced_fixture()
    rows = run(database(cost_calls()), result.files["queries/token-cost-by-model.kql"].content)
    by_deployment = {r["DeploymentName"]: r for r in rows}
    assert set(by_deployment) == {"gpt-4o", "mini-dz", "gpt-4.1", "ptu"}
    assert by_deployment["gpt-4o"]["Cost"] == pytest.approx(0.0075, rel=1e-12)
    assert by_deployment["mini-dz"]["Cost"] == pytest.approx(0.00099, rel=1e-12)
    assert by_deployment["gpt-4.1"]["Cost"] == pytest.approx(0.036, rel=1e-12)
    assert by_deployment["ptu"]["Cost"] == 0
    assert by_deployment["ptu"]["UnpricedTokens"] == 5_000
    assert (by_deployment["mini-dz"]["Model"], by_deployment["mini-dz"]["DeploymentType"]) == (
        "gpt-4o-mini",
        "DataZone",
    )


def test_a_name_deployed_at_two_prices_is_priced_at_the_dearest() -> None:
    """The LLM log names the deployment, not the account that answered; the Regional price of
    gpt-4o is the dearer, so a cost is never understated."""
    base = insights_variant()
    regional = Price("gpt-4o", None, "Regional", Decimal("2.75"), Decimal("11.00"))
    table = PriceTable("USD", "2026-01-31", "test", (GPT_4O, regional))
    gpt4o = Deployment("gpt-4o", "gpt-4o", "2024-11-20", "GlobalStandard", 10)
    accounts = (
        Account("a", "swedencentral", "OpenAI", "S0", (gpt4o,)),
        Account("b", "eastus", "OpenAI", "S0", (dataclasses.replace(gpt4o, sku="Standard"),)),
    )
    gateway = dataclasses.replace(base.gateway, accounts=accounts, prices=table)
    (row,) = insights_plan(gateway).cost.deployments
    assert (row.price, row.prices_seen, row.version) == (regional, 2, "2024-11-20")
    query = render(gateway)["queries/token-cost-by-consumer.kql"].content
    assert "// Deployment gpt-4o has 2 prices across its accounts" in query
    assert '"gpt-4o", "gpt-4o", "2024-11-20", "Regional", 2.75, 2.75, 11.00' in query


def budget(amount: str, limit: Limit, deployment: str, price: Price) -> Limit:
    """`limit` with a money budget over its own quota period (the quota stays as it is)."""
    assert limit.quota is not None and limit.quota_period is not None
    money = Budget(
        Decimal(amount),
        "USD",
        limit.quota_period,
        deployment,
        price,
        Decimal("0.75"),
        limit.quota,
    )
    return dataclasses.replace(limit, budget=money)


def budget_fixture() -> Compiled:
    """The priced fixture with money budgets: subscription3 $0.05 an hour (its own), product
    finance $10 a month, the default $1 a day (subscription1, and subscription2 whose own
    override changes only its TPM)."""
    base = priced_fixture()
    gw = base.gateway
    assert gw.token_limit is not None and gw.token_limit.default is not None
    default = budget("1", gw.token_limit.default, "gpt-4o", GPT_4O)
    consumers = []
    for consumer in gw.consumers:
        override = consumer.override
        if consumer.name == "subscription3":
            assert override is not None
            override = budget("0.05", override, "gpt-4o", GPT_4O)
        limit = override.merged_over(default) if override is not None else default
        if consumer.product is not None:
            limit = consumer.limit  # type: ignore[assignment]
        consumers.append(dataclasses.replace(consumer, override=override, limit=limit))
    products = [
        dataclasses.replace(p, limit=budget("10", p.limit, "gpt-4.1", GPT_41))
        if p.name == "finance" and p.limit is not None
        else p
        for p in gw.products
    ]
    gateway = dataclasses.replace(
        gw,
        token_limit=dataclasses.replace(gw.token_limit, default=default),
        consumers=tuple(consumers),
        products=tuple(products),
    )
    return compiled_gateway(base, gateway)


def budget_calls() -> list[Call]:
    this_hour = NOW.replace(minute=5)
    return [
        # subscription3, $0.05 Hourly: 4,000 + 3,200 on gpt-4o this hour:
        # 4000 * 2.50 / 1M + 3200 * 10.00 / 1M = 0.01 + 0.032 = $0.042 -> 84.0 %
        Call("subscription3", 7_200, prompt=4_000, at=this_hour, deployment="gpt-4o"),
        # ... the hour before does not count.
        Call("subscription3", 20_000, prompt=10_000, at=this_hour - dt.timedelta(hours=1)),
        # finance, $10 Monthly: 1,000,000 + 100,000 on gpt-4.1 this month:
        # 1e6 * 2.00 / 1M + 1e5 * 8.00 / 1M = 2.00 + 0.80 = $2.80 -> 28.0 %; not February.
        Call("subscription-finance", 1_100_000, prompt=1_000_000, product="finance"),
        Call("subscription-finance", 9_000_000, product="finance", at=dt.datetime(2026, 2, 27)),
        # default, $1 Daily: subscription1 1,000,000 + 500,000 on gpt-4o-mini Data Zone today,
        # over three log rows: 1e6 * 0.165 / 1M + 5e5 * 0.66 / 1M = 0.165 + 0.33 = $0.495 -> 49.5 %
        Call(
            "subscription1",
            1_500_000,
            prompt=1_000_000,
            deployment="mini-dz",
            at=NOW.replace(hour=1),
            continuation_rows=2,
        ),
        Call("subscription1", 50_000, at=NOW - dt.timedelta(days=1)),
        # subscription2, the default's $1 counted on its own: 100,000 + 80,000 on gpt-4o:
        # 100000 * 2.50 / 1M + 80000 * 10.00 / 1M = 0.25 + 0.80 = $1.05 -> 105.0 %
        Call("subscription2", 180_000, prompt=100_000, deployment="gpt-4o"),
    ]


#: Consumer -> (scope, spent, % of the budget), from the arithmetic in budget_calls.
SPENT = {
    "subscription3": ("consumer/subscription3", 0.042, 84.0),
    "subscription-finance": ("product/finance", 2.80, 28.0),
    "subscription1": ("default", 0.495, 49.5),
    "subscription2": ("consumer/subscription2", 1.05, 105.0),
}


def test_budget_spend_is_priced_over_each_budget_period() -> None:
    result = budget_fixture()
    query = result.files["queries/consumer-budget-usage.kql"].content
    rows = run(database(budget_calls()), query)
    assert {r["Consumer"]: (r["Scope"], r["PercentUsed"]) for r in rows} == {
        consumer: (scope, percent) for consumer, (scope, _, percent) in SPENT.items()
    }
    for row in rows:
        assert row["Spent"] == pytest.approx(SPENT[row["Consumer"]][1], rel=1e-12), row
    assert [r["PercentUsed"] for r in rows] == sorted((s[2] for s in SPENT.values()), reverse=True)
    assert {r["Currency"] for r in rows} == {"USD"}


def test_budget_alert_fires_above_the_share_of_the_money_budget() -> None:
    result = budget_fixture()
    rule = alert_rules(result)["queries/consumer-budget-usage.kql"]
    assert rule["suffix"] == "| where PercentUsed > 80\n"
    assert result.gateway.insights is not None and result.gateway.insights.alerts is not None
    assert result.gateway.insights.alerts.quota_percent == 80
    rows = run(database(budget_calls()), rule["query"])
    assert {r["Consumer"] for r in rows} == {"subscription3", "subscription2"}
    assert rule["properties"]["overrideQueryTimeRange"] == "P2D"
    # The budget periods reach back a month: the query says what the 48-hour window misses.
    assert "//   Monthly budgets the alert therefore counts only" in rule["query"]


def test_no_money_budget_no_budget_alert_and_no_budget_panel() -> None:
    result = priced_fixture()
    assert "queries/consumer-budget-usage.kql" not in alert_rules(result)
    assert "budget-usage" not in charts(workbook(result))
    query = result.files["queries/consumer-budget-usage.kql"].content
    assert "// No budget in this spec is given in money" in query
    assert not run(database(budget_calls()), query)


def test_workbook_shows_cost_grids_and_budget_spent() -> None:
    result = budget_fixture()
    by_name = charts(workbook(result))
    for name, path in {
        "cost-by-consumer": "queries/token-cost-by-consumer.kql",
        "cost-by-model": "queries/token-cost-by-model.kql",
        "budget-usage": "queries/consumer-budget-usage.kql",
    }.items():
        assert by_name[name]["query"] == result.files[path].content, name
        assert by_name[name]["visualization"] == "table"
    assert by_name["cost-by-consumer"]["title"] == "Cost per consumer (USD)"
    assert by_name["cost-by-consumer"]["timeContextFromParameter"] == "TimeRange"
    # A monthly budget: the panel reaches back 31 days, whatever the time picker says.
    assert by_name["budget-usage"]["timeContext"] == {"durationMs": 31 * 86_400_000}


def test_summary_names_the_money_budget_alert() -> None:
    """With money budgets and `quotaPercent`, SUMMARY's alerts row says a budget alert deploys
    (`alert-<name>-consumer-budget`), next to the quota alert."""
    summary = budget_fixture().files["SUMMARY.md"].content
    alerts = next(line for line in summary.splitlines() if line.startswith("| alerts |"))
    assert "a consumer above 80% of its money budget" in alerts
    assert "a consumer above 80% of its quota" in alerts
    plain = priced_fixture().files["SUMMARY.md"].content
    assert "money budget" not in plain
