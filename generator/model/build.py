"""Validated spec data → the Gateway model, defaults applied (see `defaults.py`).

Besides copying values, two decisions are made here, once, for every consumer of the model:
which accounts serve each deployment (routes and pools), and when consumers with their own
budget are grouped into generated tier products.
"""

from __future__ import annotations

import hashlib
from dataclasses import replace
from typing import Any

from generator import budgets, counter_keys, pricing, tiers
from generator.errors import TokengateError
from generator.model.defaults import with_defaults
from generator.model.gateway import (
    Account,
    Alerts,
    Api,
    Apim,
    Auth,
    CircuitBreaker,
    Consumer,
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
    merged_model_limits,
)

MAX_CONSUMER_BRANCHES = 100
#: Token-limit elements the branches may hold in all (one per branch, plus one per per-model
#: limit): a per-model element with its <when> is ~0.5-0.7 KB, so 300 stay well under the
#: 256 KiB policy limit (TG120). Without per-model limits, MAX_CONSUMER_BRANCHES binds first.
MAX_BRANCH_ELEMENTS = 300

#: Prefix of generated tier products; reserved, so user products cannot collide with them.
GENERATED_PRODUCT_PREFIX = "tokengate-tier-"


def tier_name(limit: Limit | None, model_limits: tuple[ModelLimit, ...] = ()) -> str:
    """A readable, deterministic product id for a budget: tokengate-tier-tpm5000-q100000-daily.

    Per-model limits add `models-<digest>` (12 hex digits of their SHA-256), so consumers whose
    per-model limits differ never share a tier, and the id stays within APIM's 80 characters.
    """
    parts = []
    if limit is not None and limit.tokens_per_minute is not None:
        parts.append(f"tpm{limit.tokens_per_minute}")
    if limit is not None and limit.quota is not None and limit.quota_period:
        parts.append(f"q{limit.quota}-{limit.quota_period.lower()}")
    if model_limits:
        text = ";".join(
            f"{m.deployment}={m.limit.tokens_per_minute}/{m.limit.quota}/{m.limit.quota_period}"
            for m in model_limits
        )
        parts.append("models-" + hashlib.sha256(text.encode()).hexdigest()[:12])
    return GENERATED_PRODUCT_PREFIX + "-".join(parts)


#: Longest backend id ARM accepts (service_backends name, 2024-05-01 schema: maxLength 80).
MAX_BACKEND_ID = 80


def _pool_id(names: tuple[str, ...]) -> str:
    """`pool-<accounts>`; past ARM's 80 characters, the names are replaced by a stable digest."""
    readable = "pool-" + "-".join(names)
    if len(readable) <= MAX_BACKEND_ID:
        return readable
    return "pool-" + hashlib.sha256("/".join(names).encode()).hexdigest()[:16]


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
            backend = _pool_id(names)
        routes.append(Route(backend, tuple(by_name[n] for n in names), tuple(deployments)))
    return tuple(routes)


def _tiered(
    consumers: list[Consumer], products: list[Product], branch_names: frozenset[str]
) -> tuple[list[Consumer], list[Product]]:
    """Group branch consumers into generated tier products once there are too many branches
    (or token-limit elements in them, with per-model limits).

    A tier is one budget: the all-models limit and the per-model limits (both in its name).
    """
    branches = branch_names
    elements = sum(1 + len(c.model_limits) for c in consumers if c.name in branches)
    if len(branches) <= MAX_CONSUMER_BRANCHES and elements <= MAX_BRANCH_ELEMENTS:
        return consumers, products
    tiers: dict[str, Product] = {}
    placed = []
    for consumer in consumers:
        if consumer.name in branches and (consumer.limit is not None or consumer.model_limits):
            name = tier_name(consumer.limit, consumer.model_limits)
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
                    model_limits=consumer.model_limits,
                )
            consumer = replace(consumer, product=name)
        placed.append(consumer)
    return placed, [*products, *sorted(tiers.values(), key=lambda p: p.name)]


def limit_of(block: dict[str, Any], at: budgets.BudgetPrice | None = None) -> Limit | None:
    """The budget a tokenLimit, product or consumer block sets; None when it sets none.

    A budget in money becomes its quota, converted at `at` (see generator/budgets.py).
    """
    if "budget" in block:
        if at is None:
            raise TokengateError(
                "a budget in money needs a per-token price for a deployment, and no "
                "deployment has one in the price table"
            )
        budget = budgets.budget_of(block["budget"], at)
        return Limit(block.get("tokensPerMinute"), budget.quota, budget.period, budget)
    limit = Limit(block.get("tokensPerMinute"), block.get("quota"), block.get("quotaPeriod"))
    return None if limit.is_empty and limit.quota_period is None else limit


def model_limits_of(block: dict[str, Any]) -> tuple[ModelLimit, ...]:
    """The per-model limits (`models`) a tokenLimit, product or consumer block sets, sorted by
    deployment."""
    found = [
        ModelLimit(m["deployment"], limit)
        for m in block.get("models", [])
        if (limit := limit_of(m)) is not None
    ]
    return tuple(sorted(found, key=lambda m: m.deployment))


def dimension(entry: str | dict[str, Any]) -> Dimension:
    """A spec dimension entry → name and value (None where APIM supplies it)."""
    if isinstance(entry, str):
        return Dimension(entry, None)
    if "header" in entry:
        return Dimension(entry["name"], None, header=entry["header"])
    if "claim" in entry:
        return Dimension(entry["name"], None, claim=entry["claim"])
    name = entry["name"]
    return Dimension(name, entry.get("value"))


def _accounts(data: dict[str, Any]) -> tuple[Account, ...]:
    return tuple(
        Account(
            name=a["name"],
            location=a.get("location", data["location"]),
            kind=a["kind"],
            sku=a["sku"],
            deployments=tuple(
                Deployment(d["name"], d["model"], d["version"], d["sku"], d["capacity"])
                for d in a["deployments"]
            ),
            priority=a["priority"],
            weight=a["weight"],
        )
        for a in data["openai"]
    )


def _token_limit(data: dict[str, Any], at: budgets.BudgetPrice | None) -> TokenLimit | None:
    """The token-limit settings, when any budget is set anywhere (default, product, consumer)."""
    blocks = [*data.get("products", []), *data.get("consumers", [])]
    if "tokenLimit" not in data and not any(limit_of(b, at) or b.get("models") for b in blocks):
        return None
    settings = data.get("tokenLimit") or with_defaults({"tokenLimit": {}})["tokenLimit"]
    return TokenLimit(
        default=limit_of(settings, at),
        counter_key=counter_keys.parse(settings["counterKey"]),
        estimate_prompt_tokens=settings["estimatePromptTokens"],
        model_limits=model_limits_of(settings),
    )


def _products_and_consumers(
    data: dict[str, Any],
    default: Limit | None,
    default_models: tuple[ModelLimit, ...] = (),
    at: budgets.BudgetPrice | None = None,
) -> tuple[list[Product], list[Consumer]]:
    products = [
        Product(
            name=p["name"],
            display_name=p.get("displayName", p["name"]),
            description=p.get("description", ""),
            limit=limit_of(p, at),
            approval_required=p["approvalRequired"],
            subscriptions_limit=p.get("subscriptionsLimit"),
            model_limits=model_limits_of(p),
        )
        for p in data.get("products", [])
    ]
    by_name = {p.name: p for p in products}
    consumers = []
    branch_names = set()
    for c in data.get("consumers", []):
        display = c.get("displayName", c["name"])
        if "product" in c:
            product = by_name[c["product"]]
            consumers.append(
                Consumer(
                    c["name"],
                    display,
                    None,
                    product.limit,
                    c["product"],
                    model_limits=product.model_limits,
                )
            )
            continue
        override = limit_of(c, at)
        effective = override.merged_over(default) if override else default
        own_models = model_limits_of(c)
        models = merged_model_limits(own_models, default_models)
        if override is not None or models != default_models:
            branch_names.add(c["name"])
        consumers.append(
            Consumer(
                c["name"],
                display,
                override,
                effective,
                model_limits=models,
                model_override=own_models,
            )
        )
    consumers, products = _tiered(consumers, products, frozenset(branch_names))
    return products, consumers


def _auth(data: dict[str, Any]) -> Auth:
    auth = data["auth"]
    entra = None
    if "entra" in auth:
        e = auth["entra"]
        entra = Entra(
            e["tenantId"], tuple(e["clientApplicationIds"]), tuple(e.get("audiences", []))
        )
    return Auth(auth["subscriptionRequired"], entra)


def _monitoring(data: dict[str, Any]) -> Monitoring:
    m = data["monitoring"]
    messages = None
    if "llmMessages" in m:
        logged = m["llmMessages"]
        messages = LlmMessages(logged["requests"], logged["responses"], logged["maxSizeInBytes"])
    logs_on_tier = tiers.supports(data["apim"]["sku"], tiers.Feature.AZURE_MONITOR_LOGS)
    return Monitoring(
        m["appInsights"],
        m["logAnalytics"],
        m["retentionDays"],
        messages,
        gateway_logs=m["logAnalytics"] and logs_on_tier,
        app_insights_local_auth=m["appInsightsLocalAuth"],
    )


def _breakers(
    data: dict[str, Any], routes: tuple[Route, ...]
) -> tuple[CircuitBreaker | None, frozenset[str]]:
    """Which backends get a circuit breaker, with which thresholds.

    Asked for (`loadBalancing.circuitBreaker`): every backend. Not asked for: only accounts in a
    pool, where a tripped member hands its traffic to the others; a lone backend that trips
    would answer every consumer 503 for the trip duration instead of passing one error on.
    Validation refuses an explicit breaker on a tier without them; otherwise none is made.
    """
    if not tiers.supports(data["apim"]["sku"], tiers.Feature.CIRCUIT_BREAKERS):
        return None, frozenset()
    asked = "circuitBreaker" in data["loadBalancing"]
    if asked:
        names = frozenset(a["name"] for a in data["openai"])
    else:
        names = frozenset(a.name for r in routes if r.is_pool for a in r.accounts)
    if not names:
        return None, frozenset()
    breaker = with_defaults({"loadBalancing": {"circuitBreaker": {}}})["loadBalancing"][
        "circuitBreaker"
    ]
    breaker.update(data["loadBalancing"].get("circuitBreaker", {}))
    thresholds = CircuitBreaker(
        breaker["failures"], breaker["intervalSeconds"], breaker["tripSeconds"]
    )
    return thresholds, names


def _insights(data: dict[str, Any]) -> Insights | None:
    if "insights" not in data:
        return None
    i = data["insights"]
    alerts = None
    if "alerts" in i:
        a = i["alerts"]
        alerts = Alerts(
            a.get("quotaPercent"), a.get("throttledPercent"), tuple(a.get("emails", []))
        )
    return Insights(i["workbook"], alerts)


def _token_metrics(data: dict[str, Any]) -> TokenMetrics | None:
    if "tokenMetrics" not in data:
        return None
    m = data["tokenMetrics"]
    return TokenMetrics(m["namespace"], tuple(dimension(d) for d in m.get("dimensions", [])))


def build(
    spec_data: dict[str, Any],
    source: str,
    regenerate_note: str | None = None,
    prices: pricing.PriceTable | None = None,
) -> Gateway:
    """Validated spec data → Gateway. Call only after `validate` reported no errors.

    `prices` is the base price table (`--prices FILE`); None: the table tokengate ships.
    """
    data = with_defaults(spec_data)
    accounts = _accounts(data)
    routes = routes_for(accounts)
    table = budgets.spec_prices(data, prices)
    share = budgets.prompt_share(data)
    at = budgets.dearest(accounts, table, share)
    token_limit = _token_limit(data, at)
    products, consumers = _products_and_consumers(
        data,
        token_limit.default if token_limit else None,
        token_limit.model_limits if token_limit else (),
        at,
    )
    balancing = data["loadBalancing"]
    breaker, breaker_accounts = _breakers(data, routes)
    largest_pool = max(len(r.accounts) for r in routes)
    apim, api, target = data["apim"], data["api"], data["deployment"]
    gateway = Gateway(
        source=source,
        name=data["name"],
        location=data["location"],
        tags=tuple(sorted(data.get("tags", {}).items())),
        apim=Apim(apim["sku"], apim["capacity"], apim["publisherEmail"], apim["publisherName"]),
        accounts=accounts,
        api=Api(api["name"], api["displayName"], api["path"], api["apiVersion"], api["family"]),
        token_limit=token_limit,
        token_metrics=_token_metrics(data),
        consumers=tuple(consumers),
        monitoring=_monitoring(data),
        products=tuple(products),
        insights=_insights(data),
        routes=routes,
        circuit_breaker=breaker,
        breaker_accounts=breaker_accounts,
        retries=balancing.get("retries", largest_pool - 1),
        auth=_auth(data),
        target=DeploymentTarget(target["scope"], target.get("resourceGroup")),
        prices=table,
        prompt_share=share,
    )
    return replace(gateway, regenerate_note=regenerate_note) if regenerate_note else gateway
