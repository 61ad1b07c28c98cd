"""What the insights feature deploys, decided once in Python.

render.py (which modules main.bicep calls and which files exist), main.bicep, the insights module,
the workbook, the quota query and SUMMARY.md all read this one plan, so they cannot disagree, and
building it is one pass over the consumers and products (the Jinja `namespace()` accumulators
it replaces copied their lists on every item: quadratic in the consumer count).
"""

from __future__ import annotations

from dataclasses import dataclass

from generator.budgets import pools
from generator.model import Gateway
from generator.model.gateway import Alerts, Budget, Limit
from generator.pricing import Price, PriceTable

#: How far back a quota period reaches, in days (a month or a year at its longest).
PERIOD_DAYS = {"Hourly": 1, "Daily": 1, "Weekly": 7, "Monthly": 31, "Yearly": 366}
#: Azure Monitor runs a log alert's query over at most the last 48 hours, so these periods are
#: counted only over their last two days.
LONG_PERIODS = ("Weekly", "Monthly", "Yearly")


@dataclass(frozen=True)
class DeploymentPrice:
    """One row of the cost queries' price datatable: a deployment the spec deploys, keyed by the
    name the gateway logs carry (DeploymentName), and the price its tokens are billed at."""

    deployment: str
    model: str
    version: str
    #: The deployment type the SKU is metered as; None for provisioned throughput (PTU-hours).
    deployment_type: str | None
    #: None: no per-token price (provisioned, or a model the price table does not list).
    price: Price | None
    #: How many different prices the accounts deploying this name carry (a pool across regions
    #: or deployment types); above 1, `price` is the dearest at the spec's prompt share, so a
    #: cost is never understated.
    prices_seen: int = 1


@dataclass(frozen=True)
class CostPlan:
    """What the cost queries price tokens with; decided here, formatted by the templates."""

    #: One row per deployment name the spec deploys, by name.
    deployments: tuple[DeploymentPrice, ...]
    currency: str
    #: The price table's date and source, printed next to every cost.
    effective: str
    source: str
    #: Money budgets, in the order the API policy applies their quotas (see `budgets`).
    budgets: tuple[tuple[str, Budget], ...]
    #: The budgets' periods, first occurrence first, and the longest one in days.
    periods: tuple[str, ...]
    longest_period_days: int
    long_periods: tuple[str, ...]

    @property
    def unpriced(self) -> tuple[DeploymentPrice, ...]:
        return tuple(d for d in self.deployments if d.price is None)


def cost_plan(gateway: Gateway, budgets: list[tuple[str, Limit]]) -> CostPlan:
    """Prices per deployment name; a name deployed in several accounts at different prices (a
    pool across regions or deployment types) takes the dearest (`budgets.Pool.dearest`), as
    the log cannot tell which account answered."""
    rows = []
    priced_by = gateway.prices or PriceTable("", "", "", ())  # no table: nothing is priced
    for pool in pools(gateway.accounts, priced_by, gateway.prompt_share):
        chosen = pool.dearest
        deployment = chosen.deployment
        rows.append(
            DeploymentPrice(
                deployment=pool.name,
                model=deployment.model,
                version=deployment.version,
                deployment_type=chosen.deployment_type,
                price=chosen.price,
                prices_seen=max(pool.distinct_prices, 1),
            )
        )
    money = [(scope, limit.budget) for scope, limit in budgets if limit.budget is not None]
    periods = tuple(dict.fromkeys(budget.period for _, budget in money))
    table = gateway.prices
    return CostPlan(
        deployments=tuple(rows),
        currency=table.currency if table else "",
        effective=table.effective if table else "",
        source=table.source if table else "",
        budgets=tuple(money),
        periods=periods,
        longest_period_days=max((PERIOD_DAYS[p] for p in periods), default=0),
        long_periods=tuple(p for p in periods if p in LONG_PERIODS),
    )


@dataclass(frozen=True)
class InsightsPlan:
    """The insights decisions; templates only format them."""

    #: Insights requested and Application Insights on.
    on: bool
    alerts: Alerts | None
    #: Budgets with a quota, in the order the API policy applies them: a consumer's own budget,
    #: the product it subscribes to (counted per subscription), the default. Each is the scope
    #: string of the consumer-quota query and the limit whose quota and period apply.
    budgets: tuple[tuple[str, Limit], ...]
    #: Consumers whose own budget (not the default) holds their quota.
    own_quota_consumers: tuple[str, ...]
    #: The budgets' quota periods, first occurrence first.
    periods: tuple[str, ...]
    longest_period_days: int
    long_periods: tuple[str, ...]
    workbook: bool
    #: The workbook charts the token metrics (Application Insights) only when there are some.
    metric_charts: bool
    quota_alert: bool
    #: An alert per consumer above `alerts.quotaPercent` % of its money budget (spend, priced).
    budget_alert: bool
    throttle_alert: bool
    action_group: bool
    #: Whether modules/insights.bicep exists and main.bicep calls it.
    deploys: bool
    #: Prices per deployment and the money budgets: the cost queries.
    cost: CostPlan


def _budgets(gateway: Gateway) -> tuple[list[tuple[str, Limit]], list[str]]:
    budgets: list[tuple[str, Limit]] = []
    own: list[str] = []
    for consumer in gateway.branch_consumers:
        if consumer.limit is not None and consumer.limit.quota is not None:
            budgets.append(("consumer/" + consumer.name, consumer.limit))
            own.append(consumer.name)
    for product in gateway.products:
        if product.limit is not None and product.limit.quota is not None:
            budgets.append(("product/" + product.name, product.limit))
    default = gateway.token_limit.default if gateway.token_limit else None
    if default is not None and default.quota is not None:
        budgets.append(("default", default))
    return budgets, own


def insights_plan(gateway: Gateway) -> InsightsPlan:
    on = gateway.insights is not None and gateway.monitoring.app_insights
    alerts = gateway.insights.alerts if on and gateway.insights is not None else None
    budgets, own = _budgets(gateway)
    periods = tuple(dict.fromkeys(limit.quota_period for _, limit in budgets if limit.quota_period))
    workbook = on and gateway.insights is not None and gateway.insights.workbook
    quota_alert = alerts is not None and alerts.quota_percent is not None and bool(budgets)
    throttle_alert = alerts is not None and alerts.throttled_percent is not None
    cost = cost_plan(gateway, budgets)
    budget_alert = alerts is not None and alerts.quota_percent is not None and bool(cost.budgets)
    alerting = quota_alert or budget_alert or throttle_alert
    return InsightsPlan(
        on=on,
        alerts=alerts,
        budgets=tuple(budgets),
        own_quota_consumers=tuple(own),
        periods=periods,
        longest_period_days=max((PERIOD_DAYS[p] for p in periods), default=0),
        long_periods=tuple(p for p in periods if p in LONG_PERIODS),
        workbook=workbook,
        metric_charts=workbook and gateway.token_metrics is not None,
        quota_alert=quota_alert,
        budget_alert=budget_alert,
        throttle_alert=throttle_alert,
        action_group=alerting and alerts is not None and bool(alerts.emails),
        deploys=workbook or alerting,
        cost=cost,
    )
