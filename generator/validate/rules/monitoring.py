"""Monitoring: metric dimensions, Application Insights, Log Analytics, workbook and alerts."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from generator import azure
from generator.findings import Finding, Severity
from generator.load import LoadedSpec
from generator.validate.rules.registry import limit_blocks, rule


@rule("TG105", f"At most {azure.MAX_DIMENSIONS} metric dimensions")
def dimension_count(spec: LoadedSpec) -> Iterator[Finding]:
    dims = spec.data.get("tokenMetrics", {}).get("dimensions", [])
    if len(dims) > azure.MAX_DIMENSIONS:
        yield dimension_count.finding(
            spec,
            ("tokenMetrics", "dimensions", azure.MAX_DIMENSIONS),
            f"{len(dims)} dimensions; the emit-token-metric policy takes at most "
            f"{azure.MAX_DIMENSIONS}",
        )


@rule("TG110", "A custom dimension has a value (only built-in dimensions may omit it)")
def dimension_values(spec: LoadedSpec) -> Iterator[Finding]:
    known = azure.BUILTIN_DIMENSIONS | set(azure.KNOWN_DIMENSION_VALUES)
    for i, dim in enumerate(spec.data.get("tokenMetrics", {}).get("dimensions", [])):
        name = dim if isinstance(dim, str) else dim["name"]
        sources = {"value", "header", "claim"} & set(dim) if isinstance(dim, dict) else set()
        if len(sources) > 1:
            yield dimension_values.finding(
                spec,
                ("tokenMetrics", "dimensions", i),
                f"dimension '{name}' takes its value from one of 'value', 'header' or 'claim', "
                f"not {' and '.join(sorted(sources))}",
            )
        if "claim" in sources and "entra" not in spec.data["auth"]:
            yield dimension_values.finding(
                spec,
                ("tokenMetrics", "dimensions", i, "claim"),
                f"dimension '{name}' reads a claim of the caller's Entra ID token: configure "
                "'auth.entra' so the gateway validates one",
            )
        has_value = bool(sources)
        if not has_value and name not in known:
            builtins = ", ".join(sorted(known))
            yield dimension_values.finding(
                spec,
                ("tokenMetrics", "dimensions", i),
                f"dimension '{name}' is not built in, so it needs a 'value' or "
                f"'header' (built in: {builtins})",
            )


@rule("TG111", "Token metrics need Application Insights")
def metrics_need_app_insights(spec: LoadedSpec) -> Iterator[Finding]:
    if "tokenMetrics" in spec.data and not spec.data["monitoring"]["appInsights"]:
        yield metrics_need_app_insights.finding(
            spec,
            ("monitoring", "appInsights"),
            "'tokenMetrics' sends metrics to Application Insights; "
            "set 'monitoring.appInsights: true' or remove 'tokenMetrics'",
        )


@rule("TG112", "Application Insights is workspace-based, so it needs Log Analytics")
def app_insights_needs_workspace(spec: LoadedSpec) -> Iterator[Finding]:
    monitoring = spec.data["monitoring"]
    if monitoring["appInsights"] and not monitoring["logAnalytics"]:
        yield app_insights_needs_workspace.finding(
            spec,
            ("monitoring", "logAnalytics"),
            "classic Application Insights is retired; workspace-based "
            "Application Insights needs 'logAnalytics: true'",
        )


@rule("TG118", "Workbook and alerts read Application Insights and Log Analytics, and do something")
def insights_need_monitoring(spec: LoadedSpec) -> Iterator[Finding]:
    data = spec.data
    if "insights" not in data:
        return
    if not data["monitoring"]["appInsights"]:
        yield insights_need_monitoring.finding(
            spec,
            ("insights",),
            "'insights' (workbook, alerts) reads Application Insights and Log Analytics; "
            "turn monitoring on or remove 'insights'",
            key=True,
        )
        return
    insights = data["insights"]
    alerts = insights.get("alerts", {})
    if not insights["workbook"] and not alerts:
        yield insights_need_monitoring.finding(
            spec,
            ("insights",),
            "'insights' turns the workbook off and sets no alerts, so it deploys nothing",
            severity=Severity.WARNING,
        )
    if "quotaPercent" in alerts and not any(
        {"quota", "budget"} & set(block) for _, block in limit_blocks(data)
    ):
        yield insights_need_monitoring.finding(
            spec,
            ("insights", "alerts", "quotaPercent"),
            "no token limit sets a quota, so the quota alert has nothing to watch",
            severity=Severity.WARNING,
        )


#: Token metrics the emit-token-metric policy sends per request (Total, Prompt, Completion
#: Tokens), each its own set of time series.
TOKEN_METRICS_PER_POLICY = 3
#: Operations a dimension like `Operation ID` can take: the model inference API's three, or
#: about this many in an imported Azure OpenAI inference definition.
OPERATIONS_ESTIMATE = {"llm": 3, "azure-openai": 10}


def _distinct_values(data: dict[str, Any], entry: str | dict[str, Any]) -> int | None:
    """How many values a dimension takes in 12 hours; None = unbounded (one per caller, ...)."""
    if isinstance(entry, dict):
        if "header" in entry:
            return None  # free text the caller chooses
        if "claim" in entry:
            # appid/azp name the client application: one of the allowed ones (or absent).
            if entry["claim"] in ("appid", "azp") and "entra" in data["auth"]:
                return len(data["auth"]["entra"]["clientApplicationIds"]) + 1
            return None
        if "value" in entry:
            return 1 if not str(entry["value"]).lstrip().startswith("@") else None
        entry = str(entry["name"])
    subscribers = max(1, len(data.get("consumers", [])))
    return {
        "API ID": 1,
        "Gateway ID": 1,
        "Location": 1,
        "Operation ID": OPERATIONS_ESTIMATE[data["api"]["family"]],
        "Product ID": len(data.get("products", [])) + 1,
        "Subscription ID": subscribers,
        "User ID": subscribers,
        "Client IP": None,  # one per caller address
    }.get(entry, 1)  # an unknown name without a value is TG110's error, not counted here


@rule("TG150", "Metric dimensions stay under Azure Monitor's active time series limit")
def time_series_estimate(spec: LoadedSpec) -> Iterator[Finding]:
    """Sources: https://learn.microsoft.com/azure/api-management/azure-openai-emit-token-metric-policy
    ("Limits for custom metrics") and
    https://learn.microsoft.com/azure/azure-monitor/metrics/metrics-custom-overview: 50,000
    active time series per region and subscription in 12 hours, the product of each
    dimension's distinct values."""
    dims = spec.data.get("tokenMetrics", {}).get("dimensions", [])
    if not dims:
        return
    counts = [
        (d if isinstance(d, str) else d["name"], _distinct_values(spec.data, d)) for d in dims
    ]
    unbounded = [name for name, count in counts if count is None]
    limit = f"{azure.MAX_ACTIVE_TIME_SERIES:,}"
    if unbounded:
        names = ", ".join(f"'{name}'" for name in unbounded)
        yield time_series_estimate.finding(
            spec,
            ("tokenMetrics", "dimensions"),
            f"dimension{'s' if len(unbounded) > 1 else ''} {names} can take any number of values "
            "(one per caller address, header or claim value), so the token metrics can exceed "
            f"Azure Monitor's {limit} active time series per region and subscription in 12 hours; "
            "series beyond it are dropped",
            severity=Severity.WARNING,
        )
        return
    estimate = TOKEN_METRICS_PER_POLICY
    for _, count in counts:
        estimate *= count or 1
    if estimate > azure.MAX_ACTIVE_TIME_SERIES:
        factors = " x ".join(f"{count} {name}" for name, count in counts)
        yield time_series_estimate.finding(
            spec,
            ("tokenMetrics", "dimensions"),
            f"about {estimate:,} active time series ({factors} x {TOKEN_METRICS_PER_POLICY} "
            f"metrics), over Azure Monitor's {limit} per region and subscription in 12 hours; "
            "series beyond it are dropped",
            severity=Severity.WARNING,
        )
