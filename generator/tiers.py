"""Which gateway features each API Management tier has: the one table validation and render read.

Sources (Microsoft Learn):
- tier comparison: https://learn.microsoft.com/azure/api-management/api-management-features
  ("Azure Monitor and Log Analytics request logs": not on Consumption; Application Insights
  request logs and Azure Monitor metrics: every tier);
- token limits: https://learn.microsoft.com/azure/api-management/azure-openai-token-limit-policy
  and .../llm-token-limit-policy (gateways: classic, v2, self-hosted, workspace; not Consumption);
- circuit breaker and pools: https://learn.microsoft.com/azure/api-management/backends
  ("the backend circuit breaker isn't supported in the Consumption tier"; the load-balanced pool
  is listed for the Consumption gateway in .../api-management-gateways-overview);
- LLM logs: https://learn.microsoft.com/azure/api-management/api-management-howto-llm-logs
  (written through the Azure Monitor resource logs, so they follow that row);
- products and validate-azure-ad-token: every tier (policy reference "Gateways" line).

The tier table's "Microsoft Entra integration" row is developer-portal sign-in, not the
`validate-azure-ad-token` policy tokengate uses, so it is not the source of ENTRA_VALIDATION.
"""

from __future__ import annotations

from enum import StrEnum


class Feature(StrEnum):
    TOKEN_LIMITS = "token limits"  # noqa: S105 - a feature name, not a secret
    CIRCUIT_BREAKERS = "backend circuit breakers"
    BACKEND_POOLS = "backend pools"
    AZURE_MONITOR_LOGS = "Azure Monitor resource logs (GatewayLogs)"
    LLM_LOGS = "LLM logs (GatewayLlmLogs)"
    PRODUCTS = "products"
    ENTRA_VALIDATION = "Entra ID token validation"


TIERS = (
    "Consumption",
    "Developer",
    "Basic",
    "Standard",
    "Premium",
    "BasicV2",
    "StandardV2",
    "PremiumV2",
)

_EVERYWHERE = frozenset(Feature)
_NOT_ON_CONSUMPTION = frozenset(
    {
        Feature.TOKEN_LIMITS,
        Feature.CIRCUIT_BREAKERS,
        Feature.AZURE_MONITOR_LOGS,
        Feature.LLM_LOGS,
    }
)

#: tier → the features it supports.
SUPPORTED: dict[str, frozenset[Feature]] = {
    tier: (_EVERYWHERE - _NOT_ON_CONSUMPTION if tier == "Consumption" else _EVERYWHERE)
    for tier in TIERS
}


def supports(tier: str, feature: Feature) -> bool:
    """Whether the tier has the feature (unknown tiers have none, so nothing is assumed)."""
    return feature in SUPPORTED.get(tier, frozenset())


def tiers_with(feature: Feature) -> tuple[str, ...]:
    """The tiers that have the feature, in the table's order (for messages)."""
    return tuple(tier for tier in TIERS if supports(tier, feature))
