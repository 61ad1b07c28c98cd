"""The gateway model: frozen dataclasses, everything downstream reads (render, simulate, diff).

`build.py` makes one from validated spec data; nothing here knows the YAML.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from generator import azure
from generator.model.kinds import ApiFamily, CounterKeyKind, DeploymentScope, QuotaPeriod
from generator.pricing import Price, PriceTable


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
class Budget:
    """A budget in money, and how it became the token quota the policy enforces.

    quota = floor(amount / blended price per 1M tokens * 1M), where the blended price is that of
    the most expensive model the consumer can reach at the spec's prompt share: whatever models
    the tokens go to, the budget cannot be exceeded.
    """

    amount: Decimal
    currency: str
    period: QuotaPeriod
    #: The deployment whose price the quota was computed from, and that price.
    deployment: str
    price: Price
    prompt_share: Decimal
    #: The token quota per period the budget buys.
    quota: int

    @property
    def blended(self) -> Decimal:
        """The price per 1M tokens the quota was computed at (`Price.blended`)."""
        return self.price.blended(self.prompt_share)


@dataclass(frozen=True)
class Limit:
    """A token budget: tokens per minute and/or a quota per period."""

    tokens_per_minute: int | None = None
    quota: int | None = None
    quota_period: QuotaPeriod | None = None
    #: Set when the quota was given in money; then `quota`/`quota_period` are its result.
    budget: Budget | None = None

    def merged_over(self, default: Limit | None) -> Limit:
        """This override on top of `default`, field by field."""
        if default is None:
            return self
        own_quota = self.quota is not None or self.quota_period is not None or self.budget
        source = self if own_quota else default
        tpm = self.tokens_per_minute
        if tpm is None:
            tpm = default.tokens_per_minute
        return Limit(tpm, source.quota, source.quota_period, source.budget)

    @property
    def is_empty(self) -> bool:
        return self.tokens_per_minute is None and self.quota is None


@dataclass(frozen=True)
class ModelLimit:
    """A per-model limit: a token limit for the requests to one deployment, on its own counter,
    checked as well as the all-models limit of the same scope."""

    deployment: str
    limit: Limit

    @property
    def name(self) -> str:
        """What a per-model limit is matched on (by `diff`, like named items)."""
        return self.deployment


def merged_model_limits(
    own: tuple[ModelLimit, ...], default: tuple[ModelLimit, ...]
) -> tuple[ModelLimit, ...]:
    """`own` per-model limits on top of `default`'s, deployment by deployment (each like
    `Limit.merged_over`), sorted by deployment."""
    merged = {m.deployment: m.limit for m in default}
    for m in own:
        merged[m.deployment] = m.limit.merged_over(merged.get(m.deployment))
    return tuple(ModelLimit(name, merged[name]) for name in sorted(merged))


@dataclass(frozen=True)
class CounterKey:
    """What the counter is keyed on: `subscription`, `ip`, `header`, `claim` or `expression`.

    Data only: generator/counter_keys.py parses the spec's text into it and makes its C#.
    """

    kind: CounterKeyKind
    argument: str = ""


@dataclass(frozen=True)
class TokenLimit:
    default: Limit | None
    counter_key: CounterKey
    estimate_prompt_tokens: bool
    #: The default per-model limits (`tokenLimit.models`).
    model_limits: tuple[ModelLimit, ...] = ()


@dataclass(frozen=True)
class Dimension:
    """A metric dimension as the spec gives it: data; `expressions.dimension_value` makes the
    policy expression."""

    name: str
    #: The spec's literal or policy expression; None for built-in names and for header and
    #: claim dimensions.
    value: str | None
    #: The request header the value is read from (`{name, header}`).
    header: str | None = None
    #: The Entra ID token claim the value is read from (`{name, claim}`).
    claim: str | None = None


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
    #: The product's per-model limits, sorted by deployment.
    model_limits: tuple[ModelLimit, ...] = ()

    @property
    def is_limited(self) -> bool:
        return self.limit is not None or bool(self.model_limits)


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
    #: The per-model limits the consumer actually gets: its own merged over the default's per
    #: deployment (a product's when in a product), sorted by deployment.
    model_limits: tuple[ModelLimit, ...] = ()
    #: The consumer's own per-model limits (`models`), before merging; empty in a product.
    model_override: tuple[ModelLimit, ...] = ()


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
    family: ApiFamily = "azure-openai"

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
    #: Resource logs (GatewayLogs, GatewayLlmLogs) and the LLM diagnostic: Log Analytics is on
    #: and the tier has Azure Monitor logs (not Consumption, see generator/tiers.py).
    gateway_logs: bool = False
    #: Keep instrumentation-key ingestion on Application Insights (spec opt-out); otherwise only
    #: Entra ID callers (the APIM logger's identity) may send telemetry.
    app_insights_local_auth: bool = False


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

    scope: DeploymentScope
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
    #: Breaker thresholds; None when no backend gets one (lone backends by default, or a tier
    #: without circuit breakers).
    circuit_breaker: CircuitBreaker | None = None
    #: Names of the accounts whose backend carries the circuit breaker.
    breaker_accounts: frozenset[str] = frozenset()
    retries: int = 0
    auth: Auth = Auth(subscription_required=True, entra=None)
    target: DeploymentTarget = DeploymentTarget("resourceGroup", None)
    #: The prices every cost figure uses: the shipped table, `--prices FILE`, then `pricing:`.
    prices: PriceTable | None = None
    #: Share of a request's tokens that are prompt tokens, for blended prices (`pricing:`).
    prompt_share: Decimal = Decimal("0.75")
    #: The "do not edit" note of every generated file: names the spec and `--out` used.
    regenerate_note: str = "Do not edit: change the spec and run `tokengate render`."

    def has_breaker(self, account: Account) -> bool:
        return self.circuit_breaker is not None and account.name in self.breaker_accounts

    @property
    def pools(self) -> tuple[Route, ...]:
        return tuple(r for r in self.routes if r.is_pool)

    @property
    def branch_consumers(self) -> tuple[Consumer, ...]:
        """Consumers whose own budget is a branch of the API policy (not in a product): an
        all-models override, or per-model limits other than the default's."""
        default = self.token_limit.model_limits if self.token_limit else ()
        return tuple(
            c
            for c in self.consumers
            if c.product is None and (c.override is not None or c.model_limits != default)
        )

    def subscription_scope(self, consumer: Consumer) -> str:
        """What the consumer's APIM subscription is scoped to."""
        if consumer.product:
            return f"/products/{consumer.product}"
        return f"/apis/{self.api.name}"
