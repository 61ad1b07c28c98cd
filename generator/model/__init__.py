"""Stage 3: the typed gateway model, with every default applied.

Built only from data that passed validation. Defaults come from the JSON Schema's `default`
keywords, so the schema an editor shows and the model tokengate renders never disagree.
Everything downstream (render, simulate, diff, deploy) reads this model, never the raw spec.

- `gateway.py`: the frozen dataclasses;
- `defaults.py`: schema defaults filled into the data;
- `build.py`: data → Gateway, including routes/pools and generated tiers.
"""

from __future__ import annotations

from generator.model.build import (
    GENERATED_PRODUCT_PREFIX,
    MAX_BRANCH_ELEMENTS,
    MAX_CONSUMER_BRANCHES,
    build,
    dimension,
    limit_of,
    model_limits_of,
    routes_for,
    tier_name,
)
from generator.model.defaults import schema_default, with_defaults
from generator.model.gateway import (
    Account,
    Alerts,
    Api,
    Apim,
    Auth,
    Budget,
    CircuitBreaker,
    Consumer,
    CounterKey,
    Deployment,
    DeploymentTarget,
    Dimension,
    Entra,
    Gateway,
    Insights,
    Limit,
    LlmMessages,
    ModelLimit,
    Monitoring,
    Product,
    Route,
    TokenLimit,
    TokenMetrics,
)

__all__ = [
    "GENERATED_PRODUCT_PREFIX",
    "MAX_BRANCH_ELEMENTS",
    "MAX_CONSUMER_BRANCHES",
    "Account",
    "Alerts",
    "Api",
    "Apim",
    "Auth",
    "Budget",
    "CircuitBreaker",
    "Consumer",
    "CounterKey",
    "Deployment",
    "DeploymentTarget",
    "Dimension",
    "Entra",
    "Gateway",
    "Insights",
    "Limit",
    "LlmMessages",
    "ModelLimit",
    "Monitoring",
    "Product",
    "Route",
    "TokenLimit",
    "TokenMetrics",
    "build",
    "dimension",
    "limit_of",
    "model_limits_of",
    "routes_for",
    "schema_default",
    "tier_name",
    "with_defaults",
]
