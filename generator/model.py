"""Stage 3: the typed gateway model, with every default applied.

Built only from data that passed validation. Defaults come from the JSON Schema's `default`
keywords, so the schema an editor shows and the model tokengate renders never disagree.
Everything downstream (render, simulate, diff) reads this model, never the raw spec.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from generator import azure
from generator.expressions import claim_value, csharp_string, header_value
from generator.resources import spec_schema


def schema_default(*path: str) -> Any:
    """The `default` of the schema property at `path` (following `$ref`s)."""
    schema = spec_schema()
    node: dict[str, Any] = schema
    for part in path:
        node = _deref(schema, node)
        node = node["properties"][part]
    if "default" not in node:
        node = _deref(schema, node)
    return node["default"]


def _deref(root: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node and "properties" not in node:
        target: Any = root
        for part in node["$ref"].removeprefix("#/").split("/"):
            target = target[part]
        node = target
    return node


@dataclass(frozen=True)
class Deployment:
    name: str
    model: str
    version: str
    sku: str
    capacity: int


@dataclass(frozen=True)
class Account:
    name: str
    location: str
    kind: str
    sku: str
    deployments: tuple[Deployment, ...]
    priority: int = 1
    weight: int = 1

    @property
    def backend_id(self) -> str:
        return f"openai-{self.name}"


@dataclass(frozen=True)
class Limit:
    """A token budget: tokens per minute and/or a quota per period."""

    tokens_per_minute: int | None = None
    quota: int | None = None
    quota_period: str | None = None

    def merged_over(self, default: Limit | None) -> Limit:
        """This override on top of `default`, field by field."""
        if default is None:
            return self
        if self.quota is not None or self.quota_period is not None:
            quota, period = self.quota, self.quota_period
        else:
            quota, period = default.quota, default.quota_period
        tpm = self.tokens_per_minute
        if tpm is None:
            tpm = default.tokens_per_minute
        return Limit(tpm, quota, period)

    @property
    def is_empty(self) -> bool:
        return self.tokens_per_minute is None and self.quota is None


@dataclass(frozen=True)
class CounterKey:
    """What the counter is keyed on: `subscription`, `ip`, `header`, `claim` or `expression`."""

    kind: str
    argument: str = ""

    @classmethod
    def parse(cls, text: str) -> CounterKey:
        if text in ("subscription", "ip"):
            return cls(text)
        if text.startswith("header:"):
            return cls("header", text.removeprefix("header:"))
        if text.startswith("claim:"):
            return cls("claim", text.removeprefix("claim:"))
        return cls("expression", text)

    def csharp(self) -> str:
        """The C# expression (no `@(...)`) that yields the key value."""
        if self.kind == "subscription":
            return "context.Subscription.Id"
        if self.kind == "ip":
            return "context.Request.IpAddress"
        if self.kind == "header":
            return header_value(self.argument)
        if self.kind == "claim":
            return claim_value(self.argument)
        return f"({self.argument.strip()[2:-1]})"

    def scoped(self, scope: str, *, per_subscription: bool = False) -> str:
        """A policy expression whose value starts with `scope:`, so scopes never share a counter.

        `per_subscription` adds the subscription id (product scope: one counter per subscriber).
        """
        parts = [csharp_string(scope + ":")]
        if per_subscription and self.kind != "subscription":
            parts += ["context.Subscription.Id", csharp_string(":")]
        parts.append(self.csharp())
        return f"@({' + '.join(parts)})"


@dataclass(frozen=True)
class TokenLimit:
    default: Limit | None
    counter_key: CounterKey
    estimate_prompt_tokens: bool


@dataclass(frozen=True)
class Dimension:
    name: str
    #: A policy expression or literal; None for built-in dimensions APIM fills in.
    value: str | None


@dataclass(frozen=True)
class TokenMetrics:
    namespace: str
    dimensions: tuple[Dimension, ...]


@dataclass(frozen=True)
class Product:
    """A consumer tier: an APIM product whose token limit applies at product scope."""

    name: str
    display_name: str
    description: str
    limit: Limit | None
    approval_required: bool
    subscriptions_limit: int | None
    #: Made by tokengate to group consumers with the same budget (see MAX_CONSUMER_BRANCHES).
    generated: bool = False


@dataclass(frozen=True)
class Consumer:
    name: str
    display_name: str
    #: The consumer's own override, None when it uses the default.
    override: Limit | None
    #: What the consumer actually gets (override merged over the default); None = unlimited.
    limit: Limit | None
    #: The product (tier) the consumer subscribes to; None = subscribed to the API itself.
    product: str | None = None


@dataclass(frozen=True)
class Apim:
    sku: str
    capacity: int
    publisher_email: str
    publisher_name: str


@dataclass(frozen=True)
class Api:
    name: str
    display_name: str
    path: str
    api_version: str
    #: `azure-openai` (deployment in the URL) or `llm` (Azure AI model inference, model in body).
    family: str = "azure-openai"

    @property
    def spec_url(self) -> str:
        return azure.inference_spec_url(self.api_version)


@dataclass(frozen=True)
class LlmMessages:
    requests: bool
    responses: bool
    max_size_in_bytes: int


@dataclass(frozen=True)
class Monitoring:
    app_insights: bool
    log_analytics: bool
    retention_days: int
    #: Prompt/completion logging; None = token counts only (the private default).
    llm_messages: LlmMessages | None = None


@dataclass(frozen=True)
class CircuitBreaker:
    failures: int
    interval_seconds: int
    trip_seconds: int


@dataclass(frozen=True)
class Route:
    """Where requests for some deployments go: one account's backend, or a pool of accounts."""

    backend_id: str
    accounts: tuple[Account, ...]
    deployments: tuple[str, ...]

    @property
    def is_pool(self) -> bool:
        return len(self.accounts) > 1


@dataclass(frozen=True)
class Entra:
    tenant_id: str
    client_application_ids: tuple[str, ...]
    audiences: tuple[str, ...]


@dataclass(frozen=True)
class DeploymentTarget:
    """The spec's `deployment` block: where `tokengate deploy` puts the gateway."""

    scope: str
    resource_group: str | None


@dataclass(frozen=True)
class Auth:
    subscription_required: bool
    entra: Entra | None


@dataclass(frozen=True)
class Alerts:
    quota_percent: int | None
    throttled_percent: float | None
    emails: tuple[str, ...]


@dataclass(frozen=True)
class Insights:
    """Workbook and alerts; only when Application Insights and Log Analytics are on."""

    workbook: bool
    alerts: Alerts | None


@dataclass(frozen=True)
class Gateway:
    """The whole gateway. `source` is the spec's display name, written into file headers."""

    source: str
    name: str
    location: str
    tags: tuple[tuple[str, str], ...]
    apim: Apim
    accounts: tuple[Account, ...]
    api: Api
    token_limit: TokenLimit | None
    token_metrics: TokenMetrics | None
    consumers: tuple[Consumer, ...]
    monitoring: Monitoring
    products: tuple[Product, ...] = ()
    insights: Insights | None = None
    routes: tuple[Route, ...] = ()
    circuit_breaker: CircuitBreaker = CircuitBreaker(1, 60, 60)
    retries: int = 0
    auth: Auth = Auth(subscription_required=True, entra=None)
    target: DeploymentTarget = DeploymentTarget("resourceGroup", None)

    @property
    def pools(self) -> tuple[Route, ...]:
        return tuple(r for r in self.routes if r.is_pool)

    @property
    def branch_consumers(self) -> tuple[Consumer, ...]:
        """Consumers whose own budget is a branch of the API policy (not in a product)."""
        return tuple(c for c in self.consumers if c.override is not None and c.product is None)

    def subscription_scope(self, consumer: Consumer) -> str:
        """What the consumer's APIM subscription is scoped to."""
        if consumer.product:
            return f"/products/{consumer.product}"
        return f"/apis/{self.api.name}"


#: Consumers with their own budget get a `<when>` branch in the API policy, up to this many.
#: Past it, consumers that share a budget are grouped into one generated product (tier) per
#: distinct budget, so the API policy stays small (each branch is ~0.5 KB; APIM takes 256 KiB and
#: Bicep's loadTextContent 131,072 characters) whatever the number of consumers.
MAX_CONSUMER_BRANCHES = 100

#: Prefix of generated tier products; reserved, so user products cannot collide with them.
GENERATED_PRODUCT_PREFIX = "tokengate-tier-"


def tier_name(limit: Limit) -> str:
    """A readable, deterministic product id for a budget: tokengate-tier-tpm5000-q100000-daily."""
    parts = []
    if limit.tokens_per_minute is not None:
        parts.append(f"tpm{limit.tokens_per_minute}")
    if limit.quota is not None and limit.quota_period:
        parts.append(f"q{limit.quota}-{limit.quota_period.lower()}")
    return GENERATED_PRODUCT_PREFIX + "-".join(parts)


def routes_for(accounts: tuple[Account, ...]) -> tuple[Route, ...]:
    """Group deployments by the set of accounts hosting them: one route (backend or pool) each.

    A deployment on one account goes to that account's backend; a deployment on several goes to
    a pool of those accounts (named after them, or `openai-pool` when it is all of them).
    """
    hosts: dict[str, list[Account]] = {}
    for account in accounts:
        for deployment in account.deployments:
            hosts.setdefault(deployment.name, []).append(account)
    grouped: dict[tuple[str, ...], list[str]] = {}
    for deployment_name, hosting in hosts.items():
        grouped.setdefault(tuple(a.name for a in hosting), []).append(deployment_name)
    by_name = {a.name: a for a in accounts}
    routes = []
    for names, deployments in grouped.items():
        if len(names) == 1:
            backend = by_name[names[0]].backend_id
        elif len(names) == len(accounts):
            backend = "openai-pool"
        else:
            backend = "pool-" + "-".join(names)
        routes.append(Route(backend, tuple(by_name[n] for n in names), tuple(deployments)))
    return tuple(routes)


def _tiered(
    consumers: list[Consumer], products: list[Product]
) -> tuple[list[Consumer], list[Product]]:
    """Group branch consumers into generated tier products once there are too many branches."""
    branches = {c.name for c in consumers if c.override is not None and c.product is None}
    if len(branches) <= MAX_CONSUMER_BRANCHES:
        return consumers, products
    tiers: dict[str, Product] = {}
    placed = []
    for consumer in consumers:
        if consumer.name in branches and consumer.limit is not None:
            name = tier_name(consumer.limit)
            if name not in tiers:
                summary = name.removeprefix(GENERATED_PRODUCT_PREFIX)
                tiers[name] = Product(
                    name=name,
                    display_name=f"Tier {summary}",
                    description="Generated by tokengate for consumers sharing this token budget.",
                    limit=consumer.limit,
                    approval_required=False,
                    subscriptions_limit=None,
                    generated=True,
                )
            consumer = replace(consumer, product=name)
        placed.append(consumer)
    return placed, [*products, *sorted(tiers.values(), key=lambda p: p.name)]


def _limit(data: dict[str, Any] | None) -> Limit | None:
    if not data:
        return None
    limit = Limit(data.get("tokensPerMinute"), data.get("quota"), data.get("quotaPeriod"))
    return None if limit.is_empty and limit.quota_period is None else limit


def dimension(entry: str | dict[str, Any]) -> Dimension:
    """A spec dimension entry → name and value (None where APIM supplies it)."""
    if isinstance(entry, str):
        return Dimension(entry, azure.KNOWN_DIMENSION_VALUES.get(entry))
    if "header" in entry:
        value = f"@({header_value(entry['header'])})"
        return Dimension(entry["name"], value)
    name = entry["name"]
    return Dimension(name, entry.get("value", azure.KNOWN_DIMENSION_VALUES.get(name)))


def build(data: dict[str, Any], source: str) -> Gateway:
    """Validated spec data → Gateway. Call only after `validate` reported no errors."""
    location = data["location"]
    apim = data["apim"]
    api = data.get("api", {})
    monitoring = data.get("monitoring", {})

    accounts = tuple(
        Account(
            name=a["name"],
            location=a.get("location", location),
            kind=a.get("kind", _account_default("kind")),
            priority=a.get("priority", _account_default("priority")),
            weight=a.get("weight", _account_default("weight")),
            sku=a.get("sku", _account_default("sku")),
            deployments=tuple(
                Deployment(
                    d["name"],
                    d["model"],
                    d["version"],
                    d.get("sku", _deployment_default("sku")),
                    d["capacity"],
                )
                for d in a["deployments"]
            ),
        )
        for a in data["openai"]
    )

    token_limit = None
    limit_data = data.get("tokenLimit")
    has_overrides = any(_limit(_override_fields(c)) for c in data.get("consumers", []))
    has_product_limits = any(_limit(_override_fields(p)) for p in data.get("products", []))
    if limit_data is not None or has_overrides or has_product_limits:
        limit_data = limit_data or {}
        token_limit = TokenLimit(
            default=_limit(limit_data),
            counter_key=CounterKey.parse(
                limit_data.get("counterKey", _limit_default("counterKey"))
            ),
            estimate_prompt_tokens=limit_data.get(
                "estimatePromptTokens", _limit_default("estimatePromptTokens")
            ),
        )

    default_limit = token_limit.default if token_limit else None
    products = [
        Product(
            name=p["name"],
            display_name=p.get("displayName", p["name"]),
            description=p.get("description", ""),
            limit=_limit(_override_fields(p)),
            approval_required=p.get("approvalRequired", _product_default("approvalRequired")),
            subscriptions_limit=p.get("subscriptionsLimit"),
        )
        for p in data.get("products", [])
    ]
    product_limits = {p.name: p.limit for p in products}
    consumers = []
    for c in data.get("consumers", []):
        display = c.get("displayName", c["name"])
        if "product" in c:
            limit = product_limits[c["product"]]
            consumers.append(Consumer(c["name"], display, None, limit, c["product"]))
            continue
        override = _limit(_override_fields(c))
        effective = override.merged_over(default_limit) if override else default_limit
        consumers.append(Consumer(c["name"], display, override, effective))
    consumers, products = _tiered(consumers, products)

    routes = routes_for(accounts)
    balancing = data.get("loadBalancing", {})
    breaker = balancing.get("circuitBreaker", {})
    breaker_defaults = spec_schema()["properties"]["loadBalancing"]["properties"]["circuitBreaker"]
    circuit_breaker = CircuitBreaker(
        *(
            breaker.get(key, breaker_defaults["properties"][key]["default"])
            for key in ("failures", "intervalSeconds", "tripSeconds")
        )
    )
    largest_pool = max((len(r.accounts) for r in routes), default=1)
    retries = balancing.get("retries", largest_pool - 1)

    auth_data = data.get("auth", {})
    entra = None
    if "entra" in auth_data:
        e = auth_data["entra"]
        entra = Entra(
            e["tenantId"], tuple(e["clientApplicationIds"]), tuple(e.get("audiences", []))
        )
    auth = Auth(
        auth_data.get("subscriptionRequired", schema_default("auth", "subscriptionRequired")), entra
    )

    messages = None
    if "llmMessages" in monitoring:
        m = monitoring["llmMessages"]
        defaults = spec_schema()["properties"]["monitoring"]["properties"]["llmMessages"]
        messages = LlmMessages(
            *(
                m.get(key, defaults["properties"][key]["default"])
                for key in ("requests", "responses", "maxSizeInBytes")
            )
        )

    insights = None
    if "insights" in data:
        i = data["insights"]
        alerts = None
        if "alerts" in i:
            a = i["alerts"]
            alerts = Alerts(
                a.get("quotaPercent"), a.get("throttledPercent"), tuple(a.get("emails", []))
            )
        insights = Insights(i.get("workbook", schema_default("insights", "workbook")), alerts)

    metrics = None
    if "tokenMetrics" in data:
        m = data["tokenMetrics"]
        metrics = TokenMetrics(
            namespace=m.get("namespace", schema_default("tokenMetrics", "namespace")),
            dimensions=tuple(dimension(d) for d in m.get("dimensions", [])),
        )

    return Gateway(
        source=source,
        name=data["name"],
        location=location,
        tags=tuple(sorted(data.get("tags", {}).items())),
        apim=Apim(
            sku=apim.get("sku", schema_default("apim", "sku")),
            capacity=apim.get("capacity", schema_default("apim", "capacity")),
            publisher_email=apim["publisherEmail"],
            publisher_name=apim["publisherName"],
        ),
        accounts=accounts,
        api=Api(
            name=api.get("name", schema_default("api", "name")),
            display_name=api.get("displayName", schema_default("api", "displayName")),
            path=api.get("path", schema_default("api", "path")),
            api_version=api.get("apiVersion", schema_default("api", "apiVersion")),
            family=api.get("family", schema_default("api", "family")),
        ),
        target=DeploymentTarget(
            data.get("deployment", {}).get("scope", schema_default("deployment", "scope")),
            data.get("deployment", {}).get("resourceGroup"),
        ),
        routes=routes,
        circuit_breaker=circuit_breaker,
        retries=retries,
        auth=auth,
        token_limit=token_limit,
        token_metrics=metrics,
        consumers=tuple(consumers),
        products=tuple(products),
        insights=insights,
        monitoring=Monitoring(
            app_insights=monitoring.get("appInsights", schema_default("monitoring", "appInsights")),
            log_analytics=monitoring.get(
                "logAnalytics", schema_default("monitoring", "logAnalytics")
            ),
            retention_days=monitoring.get(
                "retentionDays", schema_default("monitoring", "retentionDays")
            ),
            llm_messages=messages,
        ),
    )


def _override_fields(consumer: dict[str, Any]) -> dict[str, Any]:
    return {k: consumer[k] for k in ("tokensPerMinute", "quota", "quotaPeriod") if k in consumer}


def _def_default(definition: str, field: str) -> Any:
    node: dict[str, Any] = spec_schema()["$defs"][definition]["properties"][field]
    return node["default"]


def _account_default(field: str) -> Any:
    return _def_default("account", field)


def _deployment_default(field: str) -> Any:
    deployment = spec_schema()["$defs"]["account"]["properties"]["deployments"]["items"]
    return deployment["properties"][field]["default"]


def _product_default(field: str) -> Any:
    product = spec_schema()["properties"]["products"]["items"]
    return product["properties"][field]["default"]


def _limit_default(field: str) -> Any:
    return _def_default("limit", field)
