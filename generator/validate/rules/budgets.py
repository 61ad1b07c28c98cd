"""Token budgets: well-formed limits, products and who gets which budget, capacities."""

from __future__ import annotations

from collections.abc import Iterator

from generator import azure
from generator.findings import Finding, Severity
from generator.load import LoadedSpec
from generator.validate.rules.registry import duplicates, limit_blocks, rule

#: The keys that give a block a token limit: all-models fields (tokens or a budget in money),
#: or per-model limits.
LIMITING = ("tokensPerMinute", "quota", "budget", "models")


#: LIMITING for messages: 'tokensPerMinute', 'quota', 'budget' or 'models' (per-model).
_LIMITING_TEXT = ", ".join(f"'{k}'" for k in LIMITING[:-1]) + f" or '{LIMITING[-1]}' (per-model)"


@rule("TG103", "A quota comes with its period, and a period with its quota")
def quota_needs_period(spec: LoadedSpec) -> Iterator[Finding]:
    for path, block in limit_blocks(spec.data):
        if "quota" in block and "quotaPeriod" not in block:
            yield quota_needs_period.finding(
                spec,
                (*path, "quota"),
                "'quota' needs a 'quotaPeriod' (Hourly, Daily, Weekly, Monthly, "
                "Yearly) in the same block",
                key=True,
            )
        if "quotaPeriod" in block and "quota" not in block:
            yield quota_needs_period.finding(
                spec,
                (*path, "quotaPeriod"),
                "'quotaPeriod' is set but 'quota' is missing",
                key=True,
            )


@rule("TG104", "A token limit sets tokensPerMinute or quota; every consumer ends up limited")
def limit_not_empty(spec: LoadedSpec) -> Iterator[Finding]:
    data = spec.data
    default = data.get("tokenLimit")
    if default is not None and not any(k in default for k in LIMITING):
        yield limit_not_empty.finding(
            spec,
            ("tokenLimit",),
            f"'tokenLimit' sets none of {_LIMITING_TEXT}",
            key=True,
        )
    for i, product in enumerate(data.get("products", [])):
        if not any(k in product for k in LIMITING):
            yield limit_not_empty.finding(
                spec,
                ("products", i),
                f"product '{product['name']}' sets no token limit, so its consumers are unlimited",
                severity=Severity.WARNING,
            )
    if default is None:
        for i, consumer in enumerate(data.get("consumers", [])):
            if "product" in consumer:
                continue
            if not any(k in consumer for k in LIMITING):
                limited = [c for c in data["consumers"] if {*LIMITING, "product"} & set(c)]
                if limited:
                    yield limit_not_empty.finding(
                        spec,
                        ("consumers", i),
                        f"consumer '{consumer['name']}' has no token limit: add one or a "
                        "default 'tokenLimit'",
                        severity=Severity.WARNING,
                    )


@rule("TG109", "Capacities are within the SKU's bounds (model deployments and APIM units)")
def capacity_bounds(spec: LoadedSpec) -> Iterator[Finding]:
    for i, account in enumerate(spec.data["openai"]):
        for j, deployment in enumerate(account["deployments"]):
            sku = deployment["sku"]
            low, high = azure.DEPLOYMENT_CAPACITY[sku]
            capacity = deployment["capacity"]
            if not low <= capacity <= high:
                unit = "PTU" if "Provisioned" in sku else "thousand tokens per minute"
                yield capacity_bounds.finding(
                    spec,
                    ("openai", i, "deployments", j, "capacity"),
                    f"capacity {capacity} is outside {low}..{high} ({unit}) for the {sku} SKU",
                )
    apim = spec.data["apim"]
    sku = apim["sku"]
    capacity = apim["capacity"]
    if capacity > azure.MAX_SKU_CAPACITY[sku]:
        yield capacity_bounds.finding(
            spec,
            ("apim", "capacity"),
            f"the {sku} tier allows at most {azure.MAX_SKU_CAPACITY[sku]} unit(s), got {capacity}",
        )


@rule("TG114", "Consumers' tokens per minute fit the model deployments' capacity")
def tpm_within_capacity(spec: LoadedSpec) -> Iterator[Finding]:
    data = spec.data
    standard_tpm = sum(
        d["capacity"] * 1000
        for a in data["openai"]
        for d in a["deployments"]
        if "Provisioned" not in d["sku"]
    )
    default = data.get("tokenLimit", {}).get("tokensPerMinute")
    consumers = data.get("consumers", [])
    product_tpm = {p["name"]: p.get("tokensPerMinute", 0) for p in data.get("products", [])}
    total = sum(
        product_tpm.get(c["product"], 0)
        if "product" in c
        else c.get("tokensPerMinute", default or 0)
        for c in consumers
    )
    has_provisioned = any(
        "Provisioned" in d["sku"] for a in data["openai"] for d in a["deployments"]
    )
    if consumers and not has_provisioned and total > standard_tpm:
        yield tpm_within_capacity.finding(
            spec,
            ("consumers",),
            f"consumers may use {total:,} tokens per minute in all, more than the "
            f"{standard_tpm:,} the model deployments provide; expect 429s from the "
            "backend",
            severity=Severity.WARNING,
        )
    if has_provisioned:
        return
    for i, product in enumerate(data.get("products", [])):
        if product.get("tokensPerMinute", 0) > standard_tpm:
            yield tpm_within_capacity.finding(
                spec,
                ("products", i, "tokensPerMinute"),
                f"product '{product['name']}' allows {product['tokensPerMinute']:,} tokens per "
                f"minute per subscription, more than the {standard_tpm:,} the model deployments "
                "provide",
                severity=Severity.WARNING,
            )


@rule("TG115", "A consumer's product is one of the spec's products")
def product_references(spec: LoadedSpec) -> Iterator[Finding]:
    products = {p["name"] for p in spec.data.get("products", [])}
    for i, consumer in enumerate(spec.data.get("consumers", [])):
        if "product" in consumer and consumer["product"] not in products:
            known = ", ".join(sorted(products)) or "none defined"
            yield product_references.finding(
                spec,
                ("consumers", i, "product"),
                f"consumer '{consumer['name']}' names product '{consumer['product']}', which is "
                f"not in 'products' ({known})",
            )


@rule("TG116", "A consumer in a product takes the product's limits, not its own")
def product_consumer_without_limits(spec: LoadedSpec) -> Iterator[Finding]:
    for i, consumer in enumerate(spec.data.get("consumers", [])):
        own = [
            k
            for k in ("tokensPerMinute", "quota", "quotaPeriod", "budget", "models")
            if k in consumer
        ]
        if "product" in consumer and own:
            yield product_consumer_without_limits.finding(
                spec,
                ("consumers", i, own[0]),
                f"consumer '{consumer['name']}' is in product '{consumer['product']}', whose "
                f"limits it gets; remove {', '.join(own)} or take it out of the product",
                key=True,
            )


@rule("TG127", "A per-model limit names a deployment an account deploys, once per list")
def model_limit_deployments(spec: LoadedSpec) -> Iterator[Finding]:
    deployed = sorted(
        {d["name"] for account in spec.data["openai"] for d in account["deployments"]}
    )
    for path, block in limit_blocks(spec.data):
        items = list(enumerate(block.get("models", [])))
        for j, item in items:
            if item["deployment"] not in deployed:
                yield model_limit_deployments.finding(
                    spec,
                    (*path, "models", j, "deployment"),
                    f"per-model limit on deployment '{item['deployment']}', which no account "
                    f"deploys (deployments: {', '.join(deployed)}): it would never apply",
                )
        yield from duplicates(
            model_limit_deployments,
            spec,
            [((*path, "models", j, "deployment"), item["deployment"]) for j, item in items],
            "a per-model limit on deployment",
        )
