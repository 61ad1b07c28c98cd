"""The model: schema defaults applied, overrides merged field by field, counter keys scoped."""

from __future__ import annotations

from typing import Any

import pytest

from generator import counter_keys, expressions, model
from generator.expressions import csharp_string, scoped_key
from generator.model import CounterKey, Limit
from generator.resources import spec_schema

MINIMAL: dict[str, Any] = {
    "name": "mini",
    "location": "eastus2",
    "apim": {"publisherEmail": "a@b.co", "publisherName": "P"},
    "openai": [
        {
            "name": "main",
            "deployments": [{"name": "d", "model": "m", "version": "1", "capacity": 1}],
        }
    ],
}


def test_defaults_are_the_schema_defaults() -> None:
    gateway = model.build(MINIMAL, source="x.yaml")
    properties = spec_schema()["properties"]
    assert gateway.apim.sku == properties["apim"]["properties"]["sku"]["default"] == "BasicV2"
    assert gateway.api.path == properties["api"]["properties"]["path"]["default"]
    assert gateway.api.api_version == properties["api"]["properties"]["apiVersion"]["default"]
    account = gateway.accounts[0]
    assert account.location == "eastus2", "accounts default to the gateway's region"
    assert account.kind == "OpenAI"
    assert account.deployments[0].sku == "GlobalStandard"
    assert gateway.token_limit is None and gateway.token_metrics is None
    assert gateway.monitoring.app_insights and gateway.monitoring.log_analytics


def test_override_merges_field_by_field() -> None:
    default = Limit(tokens_per_minute=1000, quota=100_000, quota_period="Daily")
    assert Limit(tokens_per_minute=5000).merged_over(default) == Limit(5000, 100_000, "Daily")
    assert Limit(quota=7, quota_period="Hourly").merged_over(default) == Limit(1000, 7, "Hourly")
    assert Limit(tokens_per_minute=5).merged_over(None) == Limit(5)


def test_consumers_get_effective_limits() -> None:
    data = {
        **MINIMAL,
        "tokenLimit": {"tokensPerMinute": 100, "quota": 1000, "quotaPeriod": "Daily"},
        "consumers": [{"name": "a"}, {"name": "b", "tokensPerMinute": 7}],
    }
    gateway = model.build(data, source="x.yaml")
    a, b = gateway.consumers
    assert a.override is None and a.limit == Limit(100, 1000, "Daily")
    assert b.override == Limit(7) and b.limit == Limit(7, 1000, "Daily")
    assert gateway.branch_consumers == (b,)
    assert gateway.token_limit is not None
    assert gateway.token_limit.counter_key == CounterKey("subscription")
    assert gateway.token_limit.estimate_prompt_tokens is True


def test_overrides_without_default_still_build_a_token_limit() -> None:
    data = {**MINIMAL, "consumers": [{"name": "b", "tokensPerMinute": 7}, {"name": "c"}]}
    gateway = model.build(data, source="x.yaml")
    assert gateway.token_limit is not None and gateway.token_limit.default is None
    assert gateway.consumers[1].limit is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("subscription", '@("s:" + context.Subscription.Id)'),
        ("ip", '@("s:" + context.Request.IpAddress)'),
        ("header:x-id", '@("s:" + context.Request.Headers.GetValueOrDefault("x-id", ""))'),
        ("@(context.User.Id)", '@("s:" + (context.User.Id))'),
    ],
)
def test_counter_key_forms(text: str, expected: str) -> None:
    assert scoped_key("s", counter_keys.value_expression(counter_keys.parse(text))) == expected


def test_csharp_string_escapes() -> None:
    assert csharp_string('a"b\\c\nd') == '"a\\"b\\\\c\\nd"'


def test_dimensions() -> None:
    assert model.dimension("API ID") == model.Dimension("API ID", None)
    client_ip = model.dimension("Client IP")
    assert expressions.dimension_value(client_ip) == "@(context.Request.IpAddress)"
    header = model.dimension({"name": "User ID", "header": "x-user"})
    assert header == model.Dimension("User ID", None, header="x-user")  # data, no C#
    # A missing header is a visible bucket, not an empty dimension value.
    expected = '@(context.Request.Headers.GetValueOrDefault("x-user", "unknown"))'
    assert expressions.dimension_value(header) == expected


def test_defaults_fill_settings_blocks_but_not_optional_features() -> None:
    """Absent api/monitoring get their defaults; absent tokenLimit/tokenMetrics/insights mean
    "off" and stay absent. The input is not modified."""
    filled = model.with_defaults(MINIMAL)
    assert filled["api"]["path"] == "openai"
    assert filled["monitoring"] == {
        "appInsights": True,
        "logAnalytics": True,
        "retentionDays": 30,
        "appInsightsLocalAuth": False,
    }
    # Absent circuitBreaker means "pool members only", so it stays absent.
    assert "circuitBreaker" not in filled["loadBalancing"]
    assert filled["openai"][0]["deployments"][0]["sku"] == "GlobalStandard"
    for feature in ("tokenLimit", "tokenMetrics", "insights", "products", "consumers"):
        assert feature not in filled
    assert "api" not in MINIMAL
