"""Monitoring: metric dimensions, Application Insights, Log Analytics, workbook and alerts."""

from __future__ import annotations

from collections.abc import Iterator

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
        has_value = isinstance(dim, dict) and ("value" in dim or "header" in dim)
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
    if "quotaPercent" in alerts and not any("quota" in block for _, block in limit_blocks(data)):
        yield insights_need_monitoring.finding(
            spec,
            ("insights", "alerts", "quotaPercent"),
            "no token limit sets a quota, so the quota alert has nothing to watch",
            severity=Severity.WARNING,
        )
