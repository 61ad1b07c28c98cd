"""Tier features: what the spec asks for, against what the chosen APIM tier has.

The table is generator/tiers.py (with its Learn sources). A feature the user asked for and the
tier lacks is an error naming the tier; what the user did not ask for (Log Analytics resource
logs on by default, breakers on pool members) is left out by the model instead.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from generator import tiers
from generator.findings import Finding
from generator.load import LoadedSpec, PathKey
from generator.model import routes_for
from generator.model.build import _accounts
from generator.validate.rules.registry import limit_blocks, rule

Asks = Callable[[dict[str, Any]], PathKey | None]


def _token_limits(data: dict[str, Any]) -> PathKey | None:
    for path, block in limit_blocks(data):
        if path == ("tokenLimit",) or {"tokensPerMinute", "quota", "budget"} & set(block):
            return path
    return None


def _circuit_breakers(data: dict[str, Any]) -> PathKey | None:
    if "circuitBreaker" in data["loadBalancing"]:
        return ("loadBalancing", "circuitBreaker")
    return None


def _backend_pools(data: dict[str, Any]) -> PathKey | None:
    if any(route.is_pool for route in routes_for(_accounts(data))):
        return ("openai",)
    return None


def _llm_logs(data: dict[str, Any]) -> PathKey | None:
    if "llmMessages" in data["monitoring"]:
        return ("monitoring", "llmMessages")
    return None


def _azure_monitor_logs(data: dict[str, Any]) -> PathKey | None:
    # The workbook and alerts query ApiManagementGatewayLogs, which only resource logs fill.
    return ("insights",) if "insights" in data else None


def _products(data: dict[str, Any]) -> PathKey | None:
    return ("products",) if data.get("products") else None


def _entra(data: dict[str, Any]) -> PathKey | None:
    return ("auth", "entra") if "entra" in data["auth"] else None


#: Each feature and where the spec asks for it.
ASKED_FOR: tuple[tuple[tiers.Feature, Asks], ...] = (
    (tiers.Feature.TOKEN_LIMITS, _token_limits),
    (tiers.Feature.CIRCUIT_BREAKERS, _circuit_breakers),
    (tiers.Feature.BACKEND_POOLS, _backend_pools),
    (tiers.Feature.AZURE_MONITOR_LOGS, _azure_monitor_logs),
    (tiers.Feature.LLM_LOGS, _llm_logs),
    (tiers.Feature.PRODUCTS, _products),
    (tiers.Feature.ENTRA_VALIDATION, _entra),
)


@rule("TG106", "The APIM tier has every feature the spec asks for")
def tier_has_features(spec: LoadedSpec) -> Iterator[Finding]:
    sku = spec.data["apim"]["sku"]
    for feature, asks in ASKED_FOR:
        path = asks(spec.data)
        if path is None or tiers.supports(sku, feature):
            continue
        others = ", ".join(t for t in tiers.tiers_with(feature) if t != sku)
        yield tier_has_features.finding(
            spec,
            path,
            f"the {sku} tier (apim.sku) has no {feature}; choose one of {others}, or remove this",
            key=True,
        )
