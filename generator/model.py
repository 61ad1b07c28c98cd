"""Stage 3: the typed gateway model, with every default applied.

Built only from data that passed validation. Defaults come from the JSON Schema's `default`
keywords, so the schema an editor shows and the model tokengate renders never disagree.
Everything downstream (render, simulate, diff) reads this model, never the raw spec.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from generator import azure
from generator.expressions import csharp_string, header_value
from generator.resources import spec_schema


def schema_default(*path: str) -> Any:
    """The `default` of the schema property at `path` (following `$ref`s)."""
    schema = spec_schema()
    node: dict[str, Any] = schema
    for part in path:
        node = _deref(schema, node)
        node = node["properties"][part]
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
    """What the token counter is keyed on: `subscription`, `ip`, `header` or `expression`."""

    kind: str
    argument: str = ""

    @classmethod
    def parse(cls, text: str) -> CounterKey:
        if text in ("subscription", "ip"):
            return cls(text)
        if text.startswith("header:"):
            return cls("header", text.removeprefix("header:"))
        return cls("expression", text)

    def csharp(self) -> str:
        """The C# expression (no `@(...)`) that yields the key value."""
        if self.kind == "subscription":
            return "context.Subscription.Id"
        if self.kind == "ip":
            return "context.Request.IpAddress"
        if self.kind == "header":
            return header_value(self.argument)
        return f"({self.argument.strip()[2:-1]})"

    def scoped(self, scope: str) -> str:
        """A policy expression whose value starts with `scope:`, so scopes never share a counter."""
        return f"@({csharp_string(scope + ':')} + {self.csharp()})"


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
class Consumer:
    name: str
    display_name: str
    #: The consumer's own override, None when it uses the default.
    override: Limit | None
    #: What the consumer actually gets (override merged over the default); None = unlimited.
    limit: Limit | None


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

    @property
    def spec_url(self) -> str:
        return azure.inference_spec_url(self.api_version)


@dataclass(frozen=True)
class Monitoring:
    app_insights: bool
    log_analytics: bool
    retention_days: int


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

    @property
    def overriding_consumers(self) -> tuple[Consumer, ...]:
        return tuple(c for c in self.consumers if c.override is not None)


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
    if limit_data is not None or has_overrides:
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
    consumers = []
    for c in data.get("consumers", []):
        override = _limit(_override_fields(c))
        effective = override.merged_over(default_limit) if override else default_limit
        consumers.append(Consumer(c["name"], c.get("displayName", c["name"]), override, effective))

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
        ),
        token_limit=token_limit,
        token_metrics=metrics,
        consumers=tuple(consumers),
        monitoring=Monitoring(
            app_insights=monitoring.get("appInsights", schema_default("monitoring", "appInsights")),
            log_analytics=monitoring.get(
                "logAnalytics", schema_default("monitoring", "logAnalytics")
            ),
            retention_days=monitoring.get(
                "retentionDays", schema_default("monitoring", "retentionDays")
            ),
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


def _limit_default(field: str) -> Any:
    return _def_default("limit", field)
