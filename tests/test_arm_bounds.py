"""The spec cannot accept what Azure rejects: every spec field that lands in an ARM property has
bounds and enums within those of the official provider schema (../shared/validation/arm, the API
version generator/azure.py renders), and every other field is classified as not reaching ARM.

A new spec field fails `test_every_spec_field_is_classified` until it is mapped or classified.
"""

from __future__ import annotations

import json
from functools import cache
from typing import Any

import pytest
from support import validation_dir

from generator import azure, tiers
from generator.resources import spec_schema

#: Provider namespace (or type prefix) → its schema file name in arm/schemas/<apiVersion>/.
SCHEMA_FILES = {
    "Microsoft.ApiManagement/": "Microsoft.ApiManagement.json",
    "Microsoft.CognitiveServices/": "Microsoft.CognitiveServices.json",
    "Microsoft.OperationalInsights/": "Microsoft.OperationalInsights.json",
    "Microsoft.Insights/components": "Microsoft.Insights.Application.json",
    "Microsoft.Insights/workbooks": "Microsoft.Insights.Application.json",
    "Microsoft.Insights/": "Microsoft.Insights.json",
    "Microsoft.Resources/": "Microsoft.Resources.json",
}

#: spec field (dotted, `[]` for array items) → (resource type it is rendered into, path of the
#: ARM property inside that type's provider schema).
SPEC_TO_ARM: dict[str, tuple[str, tuple[str, ...]]] = {
    "apim.publisherEmail": (
        "Microsoft.ApiManagement/service",
        ("definitions", "ApiManagementServiceProperties", "properties", "publisherEmail"),
    ),
    "apim.publisherName": (
        "Microsoft.ApiManagement/service",
        ("definitions", "ApiManagementServiceProperties", "properties", "publisherName"),
    ),
    "apim.capacity": (
        "Microsoft.ApiManagement/service",
        ("definitions", "ApiManagementServiceSkuProperties", "properties", "capacity"),
    ),
    "api.name": (
        "Microsoft.ApiManagement/service/apis",
        ("resourceDefinitions", "service_apis", "properties", "name"),
    ),
    "api.displayName": (
        "Microsoft.ApiManagement/service/apis",
        ("definitions", "ApiCreateOrUpdateProperties", "properties", "displayName"),
    ),
    "api.path": (
        "Microsoft.ApiManagement/service/apis",
        ("definitions", "ApiCreateOrUpdateProperties", "properties", "path"),
    ),
    "openai[].priority": (
        "Microsoft.ApiManagement/service/backends",
        ("definitions", "BackendPoolItem", "properties", "priority"),
    ),
    "openai[].weight": (
        "Microsoft.ApiManagement/service/backends",
        ("definitions", "BackendPoolItem", "properties", "weight"),
    ),
    "openai[].deployments[].capacity": (
        "Microsoft.CognitiveServices/accounts/deployments",
        ("definitions", "Sku", "properties", "capacity"),
    ),
    "loadBalancing.circuitBreaker.failures": (
        "Microsoft.ApiManagement/service/backends",
        ("definitions", "CircuitBreakerFailureCondition", "properties", "count"),
    ),
    "products[].name": (
        "Microsoft.ApiManagement/service/products",
        ("resourceDefinitions", "service_products", "properties", "name"),
    ),
    "products[].displayName": (
        "Microsoft.ApiManagement/service/products",
        ("definitions", "ProductContractProperties", "properties", "displayName"),
    ),
    "products[].description": (
        "Microsoft.ApiManagement/service/products",
        ("definitions", "ProductContractProperties", "properties", "description"),
    ),
    "products[].subscriptionsLimit": (
        "Microsoft.ApiManagement/service/products",
        ("definitions", "ProductContractProperties", "properties", "subscriptionsLimit"),
    ),
    "products[].approvalRequired": (
        "Microsoft.ApiManagement/service/products",
        ("definitions", "ProductContractProperties", "properties", "approvalRequired"),
    ),
    "consumers[].name": (
        "Microsoft.ApiManagement/service/subscriptions",
        ("resourceDefinitions", "service_subscriptions", "properties", "name"),
    ),
    "consumers[].displayName": (
        "Microsoft.ApiManagement/service/subscriptions",
        ("definitions", "SubscriptionCreateParameterProperties", "properties", "displayName"),
    ),
    "auth.subscriptionRequired": (
        "Microsoft.ApiManagement/service/apis",
        ("definitions", "ApiCreateOrUpdateProperties", "properties", "subscriptionRequired"),
    ),
    "monitoring.retentionDays": (
        "Microsoft.OperationalInsights/workspaces",
        ("definitions", "WorkspaceProperties", "properties", "retentionInDays"),
    ),
    "monitoring.llmMessages.maxSizeInBytes": (
        "Microsoft.ApiManagement/service/apis/diagnostics",
        ("definitions", "LLMMessageDiagnosticSettings", "properties", "maxSizeInBytes"),
    ),
    "monitoring.appInsightsLocalAuth": (
        "Microsoft.Insights/components",
        ("definitions", "ApplicationInsightsComponentProperties", "properties", "DisableLocalAuth"),
    ),
    "deployment.resourceGroup": (
        "Microsoft.Resources/resourceGroups",
        ("subscription_resourceDefinitions", "resourceGroups", "properties", "name"),
    ),
}

#: Spec fields that never become an ARM property value, and what they become instead.
NOT_ARM = {
    "$schema": "editor hint",
    "name": "name prefix, checked by TG107/TG108 against the resource name rules",
    "location": "region; ARM's location is a free string",
    "tags": "tags object (keys and values checked by the schema's own limits)",
    "apim.sku": "checked per tier in test_every_tier_is_in_its_service_api_version",
    "openai[].name": "name prefix, checked by TG108 (accounts: 2-64, subdomain)",
    "openai[].location": "region",
    "openai[].kind": "account kind; ARM's kind is a free string",
    "openai[].sku": "account SKU; ARM's Sku.name is a free string",
    "openai[].deployments[].name": "deployment name; ARM's is a free string",
    "openai[].deployments[].model": "model name; free string",
    "openai[].deployments[].version": "model version; free string",
    "openai[].deployments[].sku": "deployment SKU; free string (azure.DEPLOYMENT_CAPACITY)",
    "api.family": "chooses templates and policies",
    "api.apiVersion": "chooses the pinned OpenAPI document",
    "loadBalancing.retries": "policy <retry count>",
    "loadBalancing.circuitBreaker.intervalSeconds": "ISO 8601 duration string PT<n>S",
    "loadBalancing.circuitBreaker.tripSeconds": "ISO 8601 duration string PT<n>S",
    "auth.entra.tenantId": "policy <validate-azure-ad-token>",
    "auth.entra.clientApplicationIds[]": "policy <validate-azure-ad-token>",
    "auth.entra.audiences[]": "policy <validate-azure-ad-token>",
    "tokenLimit.tokensPerMinute": "policy attribute (XSD)",
    "tokenLimit.quota": "policy attribute (XSD)",
    "tokenLimit.quotaPeriod": "policy attribute (XSD enum)",
    "tokenLimit.counterKey": "policy expression",
    "tokenLimit.estimatePromptTokens": "policy attribute",
    "tokenMetrics.namespace": "policy attribute",
    "tokenMetrics.dimensions[]": "policy <dimension>",
    "products[].tokensPerMinute": "policy attribute (XSD)",
    "products[].quota": "policy attribute (XSD)",
    "products[].quotaPeriod": "policy attribute (XSD enum)",
    "consumers[].product": "subscription scope /products/<id>",
    "consumers[].tokensPerMinute": "policy attribute (XSD)",
    "consumers[].quota": "policy attribute (XSD)",
    "consumers[].quotaPeriod": "policy attribute (XSD enum)",
    "tokenLimit.models[].deployment": "policy <when> condition and counter-key literal",
    "tokenLimit.models[].tokensPerMinute": "policy attribute (XSD)",
    "tokenLimit.models[].quota": "policy attribute (XSD)",
    "tokenLimit.models[].quotaPeriod": "policy attribute (XSD enum)",
    "products[].models[].deployment": "policy <when> condition and counter-key literal",
    "products[].models[].tokensPerMinute": "policy attribute (XSD)",
    "products[].models[].quota": "policy attribute (XSD)",
    "products[].models[].quotaPeriod": "policy attribute (XSD enum)",
    "consumers[].models[].deployment": "policy <when> condition and counter-key literal",
    "consumers[].models[].tokensPerMinute": "policy attribute (XSD)",
    "consumers[].models[].quota": "policy attribute (XSD)",
    "consumers[].models[].quotaPeriod": "policy attribute (XSD enum)",
    "tokenLimit.budget.amount": "money: becomes the quota policy attribute",
    "tokenLimit.budget.currency": "money: checked against the price table (TG160)",
    "tokenLimit.budget.period": "policy attribute (XSD enum), as quotaPeriod",
    "products[].budget.amount": "money: becomes the quota policy attribute",
    "products[].budget.currency": "money: checked against the price table (TG160)",
    "products[].budget.period": "policy attribute (XSD enum), as quotaPeriod",
    "consumers[].budget.amount": "money: becomes the quota policy attribute",
    "consumers[].budget.currency": "money: checked against the price table (TG160)",
    "consumers[].budget.period": "policy attribute (XSD enum), as quotaPeriod",
    "pricing.promptShare": "money: blended prices",
    "pricing.prices[].model": "money: price table",
    "pricing.prices[].version": "money: price table",
    "pricing.prices[].deploymentType": "money: price table",
    "pricing.prices[].region": "money: price table",
    "pricing.prices[].input": "money: price table",
    "pricing.prices[].cachedInput": "money: price table",
    "pricing.prices[].output": "money: price table",
    "insights.workbook": "whether the workbook is rendered",
    "insights.alerts.quotaPercent": "KQL threshold",
    "insights.alerts.throttledPercent": "KQL threshold",
    "insights.alerts.emails[]": "action group email receivers (address strings)",
    "monitoring.appInsights": "whether the component is rendered",
    "monitoring.logAnalytics": "whether the workspace is rendered",
    "monitoring.llmMessages.requests": "messages: 'all' or omitted",
    "monitoring.llmMessages.responses": "messages: 'all' or omitted",
    "deployment.scope": "deploy target",
}


def _resolve(root: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node and node["$ref"].startswith("#/"):
        target: Any = root
        for part in node["$ref"].removeprefix("#/").split("/"):
            target = target[part]
        node = {**target, **{k: v for k, v in node.items() if k != "$ref"}}
    return node


def spec_leaves() -> dict[str, dict[str, Any]]:
    """Every leaf field of the spec schema, dotted, with its (resolved) schema."""
    root = spec_schema()
    leaves: dict[str, dict[str, Any]] = {}

    def walk(node: dict[str, Any], path: str) -> None:
        node = _resolve(root, node)
        if "properties" in node:
            for name, sub in node["properties"].items():
                walk(sub, f"{path}.{name}" if path else name)
        elif isinstance(node.get("items"), dict) and node.get("type") == "array":
            items = _resolve(root, node["items"])
            if "properties" in items:
                walk(items, path + "[]")
            else:
                leaves[path + "[]"] = items
        else:
            leaves[path] = node

    walk(root, "")
    return leaves


@cache
def provider_document(resource_type: str) -> dict[str, Any]:
    api_version = azure.API_VERSIONS[resource_type]
    file = next(name for prefix, name in SCHEMA_FILES.items() if resource_type.startswith(prefix))
    path = validation_dir() / "arm" / "schemas" / api_version / file
    document: dict[str, Any] = json.loads(path.read_text(encoding="utf-8-sig"))
    return document


def arm_literal(resource_type: str, pointer: tuple[str, ...]) -> dict[str, Any]:
    """The literal (non-expression) branch of an ARM property schema."""
    node: Any = provider_document(resource_type)
    for part in pointer:
        node = node[part]
    for branch in node.get("oneOf", [node]):
        if "$ref" not in branch:
            return dict(branch)
    raise AssertionError(f"{resource_type} {'/'.join(pointer)} has no literal form")


def violations(spec: dict[str, Any], arm: dict[str, Any]) -> list[str]:
    """Where the spec accepts a value the ARM property schema rejects."""
    problems = []
    if "type" in arm and "type" in spec and spec["type"] != arm["type"]:
        problems.append(f"type {spec['type']} where ARM has {arm['type']}")
    for low in ("minimum", "minLength"):
        if low in arm and spec.get(low, float("-inf")) < arm[low]:
            problems.append(f"{low} {spec.get(low)} below ARM's {arm[low]}")
    for high in ("maximum", "maxLength"):
        if high in arm and spec.get(high, float("inf")) > arm[high]:
            problems.append(f"{high} {spec.get(high)} above ARM's {arm[high]}")
    if "enum" in arm:
        extra = set(spec.get("enum", [None])) - set(arm["enum"])
        if extra:
            problems.append(f"values {sorted(map(str, extra))} not in ARM's enum")
    return problems


@pytest.mark.parametrize("field", sorted(SPEC_TO_ARM))
def test_spec_field_is_within_the_arm_schema(field: str) -> None:
    """Source: the ARM provider schemas in ../shared/validation/arm/schemas/<apiVersion>/ (the
    versions generator/azure.py renders). E.g. BackendPoolItem.weight (2024-05-01) is 0-100,
    where the spec once allowed 1000."""
    resource_type, pointer = SPEC_TO_ARM[field]
    assert violations(spec_leaves()[field], arm_literal(resource_type, pointer)) == []


def test_every_spec_field_is_classified() -> None:
    leaves = set(spec_leaves())
    assert leaves - set(SPEC_TO_ARM) - set(NOT_ARM) == set(), "map or classify new fields"
    assert (set(SPEC_TO_ARM) | set(NOT_ARM)) - leaves == set(), "stale entries"


def test_the_check_catches_an_out_of_range_bound() -> None:
    """The comparison fails on what the spec allowed before (weight up to 1000)."""
    weight = arm_literal(*SPEC_TO_ARM["openai[].weight"])
    assert violations({"type": "integer", "minimum": 1, "maximum": 1000}, weight) == [
        "maximum 1000 above ARM's 100"
    ]
    sku = {"enum": ["BasicV2", "PremiumV2"]}
    stable = arm_literal(
        "Microsoft.ApiManagement/service",
        ("definitions", "ApiManagementServiceSkuProperties", "properties", "name"),
    )
    assert violations(sku, stable) == ["values ['PremiumV2'] not in ARM's enum"]


def _service_sku_enum(api_version: str) -> set[str]:
    path = validation_dir() / "arm" / "schemas" / api_version / "Microsoft.ApiManagement.json"
    document = json.loads(path.read_text(encoding="utf-8-sig"))
    node = document["definitions"]["ApiManagementServiceSkuProperties"]["properties"]["name"]
    return set(next(b for b in node["oneOf"] if "$ref" not in b)["enum"])


@pytest.mark.parametrize("tier", sorted(spec_leaves()["apim.sku"]["enum"]))
def test_every_tier_is_in_its_service_api_version(tier: str) -> None:
    """Source: ApiManagementServiceSkuProperties.name in
    ../shared/validation/arm/schemas/{2024-05-01,2025-03-01-preview}/Microsoft.ApiManagement.json:
    the stable version does not list PremiumV2, so that tier is rendered on the preview one."""
    assert tier in _service_sku_enum(azure.service_api_version(tier))
    assert tier in tiers.TIERS


def test_premium_v2_needs_the_preview_api_version() -> None:
    """Why service_api_version exists: 2024-05-01 rejects PremiumV2 (would fail to deploy)."""
    assert "PremiumV2" not in _service_sku_enum(
        azure.API_VERSIONS["Microsoft.ApiManagement/service"]
    )
    assert azure.service_api_version("PremiumV2") == azure.PREMIUM_V2_SERVICE_API_VERSION
    assert azure.service_api_version("StandardV2") == "2024-05-01"
