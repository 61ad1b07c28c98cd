"""What the insights feature deploys, decided once in Python.

render.py (which modules main.bicep calls and which files exist), main.bicep, the insights module,
the workbook, the quota query and SUMMARY.md all read this one plan, so they cannot disagree, and
building it is one pass over the consumers and products (the Jinja `namespace()` accumulators
it replaces copied their lists on every item: quadratic in the consumer count).
"""

from __future__ import annotations

from dataclasses import dataclass

from generator.model import Gateway
from generator.model.gateway import Alerts, Limit

#: How far back a quota period reaches, in days (a month or a year at its longest).
PERIOD_DAYS = {"Hourly": 1, "Daily": 1, "Weekly": 7, "Monthly": 31, "Yearly": 366}
#: Azure Monitor runs a log alert's query over at most the last 48 hours, so these periods are
#: counted only over their last two days.
LONG_PERIODS = ("Weekly", "Monthly", "Yearly")


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
    throttle_alert: bool
    action_group: bool
    #: Whether modules/insights.bicep exists and main.bicep calls it.
    deploys: bool


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
        throttle_alert=throttle_alert,
        action_group=(quota_alert or throttle_alert) and alerts is not None and bool(alerts.emails),
        deploys=workbook or quota_alert or throttle_alert,
    )
