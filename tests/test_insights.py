"""The insights module: what it deploys for each shape of `insights:`, how main.bicep calls it, and
the workbook it carries. Bicep is read back with the real grammar (tree-sitter-bicep)."""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import PurePosixPath
from typing import Any

import pytest
from insights_support import (
    Expression,
    insights_variant,
    module_arguments,
    parameters,
    resources,
    value,
    variables,
)
from support import REPO, nodes_of_type, parse_bicep, syntax_problems

from generator import azure
from generator.expressions import csharp_string
from generator.limits import MAX_LOAD_TEXT_CHARS
from generator.pipeline import Compiled
from generator.verify import verify_files

MODULE = "modules/insights.bicep"
WORKBOOK = "Microsoft.Insights/workbooks"
ALERT = "Microsoft.Insights/scheduledQueryRules"
ACTION_GROUP = "Microsoft.Insights/actionGroups"


def no_alerts(data: dict[str, Any]) -> None:
    del data["insights"]["alerts"]


def no_workbook(data: dict[str, Any]) -> None:
    data["insights"]["workbook"] = False


def no_emails(data: dict[str, Any]) -> None:
    del data["insights"]["alerts"]["emails"]


def no_quota_anywhere(data: dict[str, Any]) -> None:
    """Token limits per minute only: a quota alert has nothing to compare with."""
    del data["tokenLimit"]["quota"], data["tokenLimit"]["quotaPeriod"]
    for entry in [*data["products"], *data["consumers"]]:
        entry.pop("quota", None)
        entry.pop("quotaPeriod", None)


def no_token_metrics(data: dict[str, Any]) -> None:
    del data["tokenMetrics"]


def nothing_asked(data: dict[str, Any]) -> None:
    data["insights"] = {"workbook": False, "alerts": {"emails": ["ops@example.com"]}}


VARIANTS = {
    "fixture": (None, {WORKBOOK: 1, ACTION_GROUP: 1, ALERT: 2}),
    "no-alerts": (no_alerts, {WORKBOOK: 1}),
    "no-workbook": (no_workbook, {ACTION_GROUP: 1, ALERT: 2}),
    "no-emails": (no_emails, {WORKBOOK: 1, ALERT: 2}),
    "no-quota-anywhere": (no_quota_anywhere, {WORKBOOK: 1, ACTION_GROUP: 1, ALERT: 1}),
    "no-token-metrics": (no_token_metrics, {WORKBOOK: 1, ACTION_GROUP: 1, ALERT: 2}),
    "nothing-asked": (nothing_asked, {}),
}


def compiled(variant: str) -> Compiled:
    change, _ = VARIANTS[variant]
    return insights_variant(change)


@pytest.mark.parametrize("variant", VARIANTS)
def test_module_deploys_what_the_spec_asks(variant: str) -> None:
    _, expected = VARIANTS[variant]
    files = compiled(variant).files
    if not expected:
        # Nothing to deploy: no module file that main.bicep would never call (issue 12).
        assert MODULE not in files
        assert module_arguments(files["main.bicep"].content, "insights") is None
        return
    bicep = files[MODULE].content
    assert syntax_problems(parse_bicep(bicep)) == []
    assert verify_files({path: f.content for path, f in files.items()}) == []
    found = resources(bicep)
    assert Counter(r.type for r in found.values()) == Counter(expected)
    for resource in found.values():
        assert resource.api_version == azure.API_VERSIONS[resource.type]


@pytest.mark.parametrize("variant", VARIANTS)
def test_main_passes_exactly_the_parameters_the_module_uses(variant: str) -> None:
    files = compiled(variant).files
    arguments = module_arguments(files["main.bicep"].content, "insights")
    if MODULE not in files:
        assert arguments is None, "main.bicep calls a module that is not rendered"
        return
    module = files[MODULE].content
    declared = parameters(module)
    assert declared, "a rendered insights module deploys something"
    assert arguments is not None
    assert sorted(arguments) == sorted(declared)
    identifiers = {
        (node.text or b"").decode() for node in nodes_of_type(parse_bicep(module), "identifier")
    }
    for name in declared:
        uses = sum(1 for line in module.splitlines() if re.search(rf"\b{name}\b", line))
        assert name in identifiers and uses > 1, f"parameter {name} is never used"


def test_action_group_emails_every_address_of_the_spec() -> None:
    result = compiled("fixture")
    group = next(
        r for r in resources(result.files[MODULE].content).values() if r.type == ACTION_GROUP
    )
    receivers = group.body["properties"]["emailReceivers"]
    assert result.gateway.insights is not None
    alerts = result.gateway.insights.alerts
    assert alerts is not None
    assert [r["emailAddress"] for r in receivers] == list(alerts.emails)
    assert len({r["name"] for r in receivers}) == len(receivers)
    assert all(r["useCommonAlertSchema"] is True for r in receivers)
    assert group.body["location"] == "global"


def alert_rules(result: Compiled) -> dict[str, dict[str, Any]]:
    """Alert rules of the module by query file, with the query resolved to its text."""
    module = result.files[MODULE].content
    rules = {}
    for resource in resources(module).values():
        if resource.type != ALERT:
            continue
        (condition,) = resource.body["properties"]["criteria"]["allOf"]
        load, suffix = condition["query"]
        path = re.fullmatch(r"loadTextContent\('([^']+)'\)", load.text)
        assert path, f"{resource.symbol} does not load its query from a file"
        target = str(PurePosixPath(MODULE).parent / path.group(1)).replace("modules/../", "")
        rules[target] = {
            "properties": resource.body["properties"],
            "condition": condition,
            "query": result.files[target].content + suffix,
            "suffix": suffix,
        }
    return rules


def test_alerts_run_the_query_files_with_the_spec_thresholds() -> None:
    result = compiled("fixture")
    rules = alert_rules(result)
    assert sorted(rules) == ["queries/consumer-quota-usage.kql", "queries/throttled-rate.kql"]
    quota = rules["queries/consumer-quota-usage.kql"]
    assert quota["suffix"] == "| where PercentUsed > 80\n"
    assert quota["condition"]["dimensions"] == [
        {"name": "Consumer", "operator": "Include", "values": ["*"]}
    ], "one alert per consumer"
    throttled = rules["queries/throttled-rate.kql"]
    assert throttled["suffix"] == "| where ThrottledPercent > 5\n"
    assert throttled["properties"]["windowSize"] == "PT5M"
    for rule in rules.values():
        condition, properties = rule["condition"], rule["properties"]
        assert (condition["timeAggregation"], condition["operator"], condition["threshold"]) == (
            "Count",
            "GreaterThan",
            0,
        ), "the query returns a row only when the threshold is crossed"
        assert properties["scopes"] == [Expression("workspaceId")]
        assert properties["actions"]["actionGroups"] == [Expression("actionGroup.id")]
        assert properties["skipQueryValidation"] is True


def test_quota_alert_covers_the_longest_range_a_log_alert_may_query() -> None:
    rules = alert_rules(compiled("fixture"))
    assert (
        rules["queries/consumer-quota-usage.kql"]["properties"]["overrideQueryTimeRange"] == "P2D"
    )


def test_alerts_without_emails_have_no_actions() -> None:
    rules = alert_rules(compiled("no-emails"))
    assert rules and all("actions" not in rule["properties"] for rule in rules.values())


def workbook(result: Compiled) -> dict[str, Any]:
    """The workbook's serialized JSON, with the resource ids the deployment fills in."""
    module = result.files[MODULE].content
    layout = variables(module)["workbookLayout"]
    assert "'" not in layout, "a quote could end the Bicep ''' string"
    (resource,) = (r for r in resources(module).values() if r.type == WORKBOOK)
    assert resource.body["properties"]["serializedData"] == Expression(
        "replace(replace(workbookLayout, '__WORKSPACE_ID__', workspaceId), "
        "'__APP_INSIGHTS_ID__', appInsightsId)"
    )
    filled = layout.replace("__WORKSPACE_ID__", "/workspaces/log").replace(
        "__APP_INSIGHTS_ID__", "/components/appi"
    )
    document: dict[str, Any] = json.loads(filled)
    return document


def charts(document: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {item["name"]: item["content"] for item in document["items"] if item["type"] == 3}


def test_workbook_charts_run_the_query_files() -> None:
    result = compiled("fixture")
    document = workbook(result)
    assert document["version"] == "Notebook/1.0"
    queries = {path: f.content for path, f in result.files.items() if path.startswith("queries/")}
    by_name = charts(document)
    for name, path in {
        "tokens-by-consumer": "queries/token-usage-by-consumer.kql",
        "tokens-by-model": "queries/token-usage-by-model.kql",
        "throttled-requests": "queries/throttled-requests.kql",
        "quota-usage": "queries/consumer-quota-usage.kql",
        "cost-by-consumer": "queries/token-cost-by-consumer.kql",
        "cost-by-model": "queries/token-cost-by-model.kql",
    }.items():
        assert by_name[name]["query"] == queries[path], name
        assert by_name[name]["crossComponentResources"] == ["/workspaces/log"]
    assert result.gateway.token_metrics is not None
    dimensions = result.gateway.token_metrics.dimensions
    for index, dimension in enumerate(dimensions, start=1):
        chart = by_name[f"tokens-by-dimension-{index}"]
        assert chart["query"] == (
            queries["queries/token-usage-by-dimension.kql"]
            + f"| where Dimension == {csharp_string(dimension.name)}\n"
            + "| project timestamp, Value, Tokens\n"
        )
        assert chart["crossComponentResources"] == ["/components/appi"]
        assert chart["resourceType"] == "microsoft.insights/components"
    assert len(by_name) == 6 + len(dimensions)


def test_charts_follow_the_time_picker_but_quota_use_reaches_back_a_whole_period() -> None:
    by_name = charts(workbook(compiled("fixture")))
    for name, chart in by_name.items():
        if name == "quota-usage":
            # The fixture's longest quota period is Monthly: 31 days at most.
            assert chart["timeContext"] == {"durationMs": 31 * 86_400_000}
        else:
            assert chart["timeContextFromParameter"] == "TimeRange", name


def test_workbook_without_quotas_has_no_quota_chart() -> None:
    assert "quota-usage" not in charts(workbook(compiled("no-quota-anywhere")))


def test_workbook_without_token_metrics_reads_the_workspace_only() -> None:
    result = compiled("no-token-metrics")
    module = result.files[MODULE].content
    assert "appInsightsId" not in parameters(module)
    document = json.loads(variables(module)["workbookLayout"])
    assert "__APP_INSIGHTS_ID__" not in json.dumps(document)
    assert sorted(charts(document)) == [
        "cost-by-consumer",
        "cost-by-model",
        "quota-usage",
        "throttled-requests",
        "tokens-by-consumer",
        "tokens-by-model",
    ]


def test_hostile_dimension_name_stays_data() -> None:
    """Quotes, backslashes and ''' in a dimension name cannot end a Bicep, JSON or KQL string."""
    name = "it's \"x\" \\ ''' ${y}"

    def hostile(data: dict[str, Any]) -> None:
        data["tokenMetrics"]["dimensions"] = [{"name": name, "value": "v"}]

    result = insights_variant(hostile)
    assert syntax_problems(parse_bicep(result.files[MODULE].content)) == []
    (chart,) = (c for n, c in charts(workbook(result)).items() if n.startswith("tokens-by-dim"))
    assert f"| where Dimension == {csharp_string(name)}\n" in chart["query"]
    assert chart["title"] == f"Tokens per {name} (token metrics)"


def test_module_is_not_rendered_without_application_insights() -> None:
    def logs_only(data: dict[str, Any]) -> None:
        del data["insights"], data["tokenMetrics"]
        data["monitoring"]["appInsights"] = False

    result = insights_variant(logs_only)
    assert MODULE not in result.files
    assert module_arguments(result.files["main.bicep"].content, "insights") is None


def test_every_query_file_is_documented() -> None:
    docs = (REPO / "docs" / "insights.md").read_text(encoding="utf-8")
    rendered = [p for p in compiled("fixture").files if p.startswith("queries/")]
    assert rendered
    for path in rendered:
        assert f"`out/{path}`" in docs, f"docs/insights.md does not list {path}"


def test_value_reads_bicep_literals() -> None:
    """The test helper itself: escapes, interpolation and nesting come back as written."""
    text = "var x = {\n  a: 'it\\'s\\n${b}'\n  c: [\n    1\n    true\n  ]\n}\n"
    (node,) = nodes_of_type(parse_bicep(text), "object")
    assert value(node) == {"a": ["it's\n", Expression("b")], "c": [1, True]}


def test_largest_budget_table_stays_within_bicep_and_arm_limits() -> None:
    """1,000 products and 100 consumers with their own quota: every budget is in the alert's
    query, which Bicep can still load, and the templates stay inside ARM's limits."""
    products = 1_000

    def many_budgets(data: dict[str, Any]) -> None:
        data["apim"]["sku"] = "PremiumV2"
        data["products"] = [
            {
                "name": f"tier-{i:04d}",
                "tokensPerMinute": 1_000,
                "quota": 10_000 + i,
                "quotaPeriod": "Monthly",
            }
            for i in range(products)
        ]
        data["consumers"] = [
            {"name": f"app-{i:05d}", "product": f"tier-{i % products:04d}"}
            if i % 100
            else {"name": f"app-{i:05d}", "quota": 5_000 + i, "quotaPeriod": "Daily"}
            for i in range(10_000)
        ]

    result = insights_variant(many_budgets)  # compile_spec raises on any ARM or Bicep limit
    query = result.files["queries/consumer-quota-usage.kql"].content
    assert len(query) <= MAX_LOAD_TEXT_CHARS
    budget_rows = re.findall(r'^    "(?:product|consumer)/[^"]+", \d+, "\w+",?$', query, re.M)
    assert len(budget_rows) == products + len(result.gateway.branch_consumers) == products + 100
    assert syntax_problems(parse_bicep(result.files[MODULE].content)) == []
