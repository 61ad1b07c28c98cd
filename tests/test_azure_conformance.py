"""Issue 11: the rendered output deploys and behaves as Azure documents it.

Each test reads what `render` writes for the good fixtures (not the model), so that it fails on
output that would not deploy or would behave wrongly; each names its source: a Microsoft Learn
page, an ARM provider schema under ../shared/validation/arm, or a reference lab file of
Azure-Samples/AI-Gateway (commit 561d719).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from support import FIXTURES, GOOD_SPECS, compiled, validation_dir

from generator.deploy.layout import entry_template
from generator.model import build

GOOD = {spec.stem: spec for spec in GOOD_SPECS}
OPENAI_USER = "5e0bd9bd-7b93-4f28-af87-19fc36ad61bd"  # Cognitive Services OpenAI User
COGNITIVE_SERVICES_USER = "a97b65f3-24c7-4388-baec-2e87135dc908"  # Cognitive Services User


def files_of(name: str) -> dict[str, str]:
    return {path: f.content for path, f in compiled(GOOD[name]).files.items()}


def spec_data(name: str) -> dict[str, Any]:
    data = yaml.safe_load(GOOD[name].read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def resource_blocks(text: str, resource_type: str) -> list[str]:
    """The text of each `resource` of that type (up to the next top-level `}`)."""
    pattern = re.compile(
        rf"^resource \w+ '{re.escape(resource_type)}@[^']+'[^\n]*\n(.*?)^\}}", re.M | re.S
    )
    return pattern.findall(text)


@pytest.mark.parametrize("name", sorted(GOOD))
def test_subscriptions_are_created_one_at_a_time(name: str) -> None:
    """Source: Azure-Samples/AI-Gateway modules/apim/v3/apim.bicep (`@batchSize(1)` on the
    subscription loop): subscriptions created in parallel on one service fail with 412."""
    module = files_of(name).get("modules/subscriptions.bicep")
    if module is None:
        assert not spec_data(name).get("consumers")
        return
    assert "@batchSize(1)\nresource subscription " in module


def test_consumption_renders_only_what_the_tier_has() -> None:
    """Sources: https://learn.microsoft.com/azure/api-management/api-management-features (no
    Azure Monitor request logs on Consumption) and
    https://learn.microsoft.com/azure/api-management/backends (no circuit breaker on
    Consumption). The fixture has a pool, Log Analytics on and token metrics."""
    files = files_of("consumption")
    text = "\n".join(files.values())
    assert "circuitBreaker:" not in text
    assert "Microsoft.Insights/diagnosticSettings" not in text
    assert "largeLanguageModel" not in text
    assert "loggerType: 'azureMonitor'" not in text
    assert "type: 'Pool'" in files["modules/api.bicep"]  # pools exist on Consumption
    assert "modules/monitoring.bicep" in files  # the workspace still backs App Insights


@pytest.mark.parametrize("name", sorted(GOOD))
def test_llm_diagnostic_writes_through_a_declared_azure_monitor_logger(name: str) -> None:
    """Source: Azure-Samples/AI-Gateway modules/apim/v3/apim.bicep declares the `azuremonitor`
    logger (`loggerType: 'azureMonitor'`) the LLM diagnostic points at; a loggerId naming a
    logger nobody declares fails the deployment."""
    files = files_of(name)
    api = files["modules/api.bicep"]
    if "largeLanguageModel" not in api:
        return
    assert "resourceId('Microsoft.ApiManagement/service/loggers'" not in api
    assert "loggerId: azureMonitorLoggerId" in api
    loggers = resource_blocks(
        files["modules/apim.bicep"], "Microsoft.ApiManagement/service/loggers"
    )
    assert any("name: 'azuremonitor'" in b and "loggerType: 'azureMonitor'" in b for b in loggers)


def test_some_fixture_has_llm_logging() -> None:
    assert any("largeLanguageModel" in files_of(n)["modules/api.bicep"] for n in GOOD)


def _service_sku_enum(api_version: str) -> set[str]:
    path = validation_dir() / "arm" / "schemas" / api_version / "Microsoft.ApiManagement.json"
    node = json.loads(path.read_text(encoding="utf-8-sig"))["definitions"][
        "ApiManagementServiceSkuProperties"
    ]["properties"]["name"]
    return set(next(b for b in node["oneOf"] if "$ref" not in b)["enum"])


@pytest.mark.parametrize("name", sorted(GOOD))
def test_the_service_api_version_lists_the_tier(name: str) -> None:
    """Source: ApiManagementServiceSkuProperties.name in
    ../shared/validation/arm/schemas/<apiVersion>/Microsoft.ApiManagement.json: 2024-05-01 does
    not list PremiumV2, 2025-03-01-preview does."""
    files = files_of(name)
    sku = json.loads(files["main.parameters.json"])["parameters"]["apimSku"]["value"]
    match = re.search(
        r"^resource apim 'Microsoft.ApiManagement/service@([^']+)' = \{",
        files["modules/apim.bicep"],
        re.M,
    )
    assert match
    assert sku in _service_sku_enum(match.group(1))


def test_there_is_a_premium_v2_fixture() -> None:
    assert spec_data("premium-v2")["apim"] == {
        "sku": "PremiumV2",
        "publisherEmail": "ops@example.com",
        "publisherName": "Contoso",
    }


@pytest.mark.parametrize("name", sorted(GOOD))
def test_app_insights_logger_uses_the_managed_identity(name: str) -> None:
    """Source: https://learn.microsoft.com/azure/api-management/api-management-howto-app-insights
    (managed identity: credentials.identityClientId 'SystemAssigned'; there is no
    `identityType` credential, so APIM would fall back to the instrumentation key)."""
    apim = files_of(name)["modules/apim.bicep"]
    if "loggerType: 'applicationInsights'" not in apim:
        return
    assert "identityClientId: 'SystemAssigned'" in apim
    assert "identityType" not in apim


@pytest.mark.parametrize("name", sorted(GOOD))
def test_app_insights_refuses_keys_unless_the_spec_keeps_them(name: str) -> None:
    """Source: https://learn.microsoft.com/azure/azure-monitor/app/azure-ad-authentication
    (DisableLocalAuth: only Entra ID telemetry). The logger uses the identity, so keys can go;
    `monitoring.appInsightsLocalAuth: true` keeps them (the premium-v2 fixture)."""
    monitoring = files_of(name).get("modules/monitoring.bicep", "")
    if "Microsoft.Insights/components@" not in monitoring:
        return
    keep = spec_data(name).get("monitoring", {}).get("appInsightsLocalAuth", False)
    assert f"DisableLocalAuth: {'false' if keep else 'true'}" in monitoring


@pytest.mark.parametrize("name", sorted(GOOD))
def test_each_retry_sets_the_backend_again(name: str) -> None:
    """Source: Azure-Samples/AI-Gateway labs/backend-pool-load-balancing/policy.xml (inside
    <retry>: set-backend-service, then forward-request), so the pool decides anew."""
    policy = files_of(name)[f"policies/api-{compiled(GOOD[name]).gateway.api.name}.xml"]
    retry = re.search(r"<retry [^>]*>(.*?)</retry>", policy, re.S)
    if retry is None:
        return
    body = retry.group(1)
    assert "<set-backend-service " in body
    assert body.index("<set-backend-service ") < body.index("<forward-request ")


@pytest.mark.parametrize("name", sorted(GOOD))
def test_apim_identity_gets_the_role_its_api_family_needs(name: str) -> None:
    """Source: https://learn.microsoft.com/azure/foundry/foundry-models/how-to/configure-entra-id
    (model inference needs Cognitive Services User); Azure OpenAI inference needs Cognitive
    Services OpenAI User (https://learn.microsoft.com/azure/ai-services/openai/how-to/role-based-access-control)."""
    openai = files_of(name)["modules/openai.bicep"]
    family = compiled(GOOD[name]).gateway.api.family
    wanted, other = (
        (COGNITIVE_SERVICES_USER, OPENAI_USER)
        if family == "llm"
        else (OPENAI_USER, COGNITIVE_SERVICES_USER)
    )
    assert wanted in openai and other not in openai


def test_the_llm_fixture_exists() -> None:
    assert compiled(GOOD["llm-family"]).gateway.api.family == "llm"


def _breaker_blocks(name: str) -> dict[str, str]:
    api = files_of(name)["modules/api.bicep"]
    blocks = resource_blocks(api, "Microsoft.ApiManagement/service/backends")
    by_name: dict[str, str] = {}
    for block in blocks:
        name_line = re.search(r"name: (\S+)", block)
        assert name_line, block
        by_name[name_line.group(1)] = block
    return by_name


def test_a_lone_backend_gets_no_circuit_breaker() -> None:
    """Source: https://learn.microsoft.com/azure/api-management/backends (a tripped breaker
    answers 503 for the trip duration). With one backend that is every consumer's answer, so
    none is set unless the spec asks."""
    blocks = _breaker_blocks("minimal")
    assert blocks and all("circuitBreaker:" not in b for b in blocks.values())


def test_pool_members_get_breakers_with_the_spec_thresholds() -> None:
    """Source: https://learn.microsoft.com/azure/api-management/backends (circuit breaker with
    backend pools). backend-pool.yaml sets failures 1, intervalSeconds 10, tripSeconds 60;
    premium-v2.yaml sets none, so its pool members take the schema defaults."""
    members = [b for b in _breaker_blocks("backend-pool").values() if "type: 'Pool'" not in b]
    assert len(members) == 3
    for block in members:
        assert "count: 1\n" in block and "interval: 'PT10S'" in block
        assert "tripDuration: 'PT60S'" in block
    defaults = [b for b in _breaker_blocks("premium-v2").values() if "type: 'Pool'" not in b]
    assert len(defaults) == 2 and all("circuitBreaker:" in b for b in defaults)


@pytest.mark.parametrize("name", sorted(GOOD))
def test_the_openapi_definition_is_pinned(name: str) -> None:
    """The import reads the definition at deploy time: `main` of Azure/azure-rest-api-specs moves,
    a commit does not."""
    api = files_of(name)["modules/api.bicep"]
    for url in re.findall(r"value: '(https://[^']+)'", api):
        assert "/main/" not in url
        assert re.search(r"/azure-rest-api-specs/[0-9a-f]{40}/", url), url


@pytest.mark.parametrize("name", sorted(GOOD))
def test_dimensions_never_default_to_empty_or_assume_backend_id(name: str) -> None:
    """Source: https://learn.microsoft.com/azure/api-management/azure-openai-emit-token-metric-policy
    (default dimensions: API ID, Operation ID, Product ID, User ID, Subscription ID, Location,
    Gateway ID; no Backend ID). An empty value is a series nobody can filter."""
    policy = files_of(name)[f"policies/api-{compiled(GOOD[name]).gateway.api.name}.xml"]
    dimensions = re.findall(r"<dimension [^>]*/>", policy)
    for dimension in dimensions:
        assert 'name="Backend ID" />' not in dimension
        assert ", &quot;&quot;)" not in dimension


@pytest.mark.parametrize("name", sorted(GOOD))
def test_the_subscription_key_is_not_forwarded(name: str) -> None:
    """The key APIM checks (subscriptionKeyParameterNames: header and query `api-key`) is
    removed before forwarding: https://learn.microsoft.com/azure/api-management/set-header-policy
    and .../set-query-parameter-policy (exists-action delete)."""
    policy = files_of(name)[f"policies/api-{compiled(GOOD[name]).gateway.api.name}.xml"]
    inbound = policy[policy.index("<inbound>") : policy.index("</inbound>")]
    assert '<set-header name="api-key" exists-action="delete" />' in inbound
    assert '<set-query-parameter name="api-key" exists-action="delete" />' in inbound


TAGGED_TYPES = re.compile(r"^resource \w+ '([^@']+)@[^']+' = \{\n(.*?)^\}", re.M | re.S)


@pytest.mark.parametrize("name", sorted(GOOD))
def test_every_located_resource_carries_the_tags(name: str) -> None:
    """Every tracked resource (one with a location) takes `tags`, and main.bicep hands every
    module the tags merged with `tokengate-gateway: <gateway name>`."""
    files = files_of(name)
    main = files["main.bicep"]
    assert "var resourceTags = union(tags, {\n  'tokengate-gateway': gatewayName\n})" in main
    assert "    tags: tags\n" not in main
    for path, text in files.items():
        if not path.endswith(".bicep"):
            continue
        for resource_type, body in TAGGED_TYPES.findall(text):
            if "\n  location: " in body:
                assert "\n  tags: tags\n" in body, f"{path}: {resource_type} without tags"


def test_the_subscription_scope_resource_group_carries_the_gateway_tag() -> None:
    """`deployment.scope: subscription` creates the resource group: it is tagged as well."""
    entry = entry_template(compiled(GOOD["lab"]), gateway_module="gateway.bicep")
    group = resource_blocks(entry, "Microsoft.Resources/resourceGroups")
    assert len(group) == 1
    assert "'tokengate-gateway': gatewayName" in group[0]


def test_pool_ids_fit_the_backend_name_limit() -> None:
    """Source: service_backends name maxLength 80 in
    ../shared/validation/arm/schemas/2024-05-01/Microsoft.ApiManagement.json."""
    data = yaml.safe_load((FIXTURES / "specs" / "good" / "two-accounts.yaml").read_text())
    deployment = data["openai"][0]["deployments"][0]
    # Four 24-character accounts share a deployment: "pool-" + their names is 104 characters.
    data["openai"] = [
        {"name": f"account-{i:02d}-with-a-long-nm", "deployments": [deployment]} for i in range(4)
    ] + [{"name": "single", "deployments": [dict(deployment, name="solo")]}]
    gateway = build(data, "long.yaml")
    assert gateway.pools
    assert all(len(route.backend_id) <= 80 for route in gateway.routes)


def test_fixture_folder_is_the_one_the_tests_read() -> None:
    assert Path(GOOD["consumption"]).parent == FIXTURES / "specs" / "good"
