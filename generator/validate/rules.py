"""Semantic rules: what the schema cannot say. Each rule has an id, a title and a check function.

Rules run only on schema-valid data, so they may index required keys without guarding types.
The README's rule table is generated from `RULES` (see `tokengate rules`).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from generator import azure
from generator.findings import Finding, Severity
from generator.load import LoadedSpec, PathKey

Check = Callable[[LoadedSpec], Iterator[Finding]]


@dataclass(frozen=True)
class Rule:
    rule_id: str
    title: str
    check: Check


RULES: list[Rule] = []


def rule(rule_id: str, title: str) -> Callable[[Check], Check]:
    def register(check: Check) -> Check:
        RULES.append(Rule(rule_id, title, check))
        return check

    return register


def _limit_blocks(data: dict[str, Any]) -> Iterator[tuple[PathKey, dict[str, Any]]]:
    """Every place a token budget is written: the default, products and consumer overrides."""
    if "tokenLimit" in data:
        yield ("tokenLimit",), data["tokenLimit"]
    for i, product in enumerate(data.get("products", [])):
        yield ("products", i), product
    for i, consumer in enumerate(data.get("consumers", [])):
        yield ("consumers", i), consumer


def _duplicates(
    spec: LoadedSpec, items: list[tuple[PathKey, str]], what: str, *, fold_case: bool = False
) -> Iterator[Finding]:
    seen: dict[str, PathKey] = {}
    for path, name in items:
        key = name.casefold() if fold_case else name
        if key in seen:
            first = spec.mark_of(seen[key])
            yield spec.finding(
                path, "TG101", f"{what} '{name}' is already defined at line {first.line}"
            )
        else:
            seen[key] = path


@rule("TG101", "Names are unique: accounts, deployments, products, consumers, dimensions")
def unique_names(spec: LoadedSpec) -> Iterator[Finding]:
    data = spec.data
    accounts = data["openai"]
    yield from _duplicates(
        spec, [(("openai", i, "name"), a["name"]) for i, a in enumerate(accounts)], "account"
    )
    for i, account in enumerate(accounts):
        yield from _duplicates(
            spec,
            [
                (("openai", i, "deployments", j, "name"), d["name"])
                for j, d in enumerate(account["deployments"])
            ],
            "deployment",
        )
    yield from _duplicates(
        spec,
        [(("products", i, "name"), p["name"]) for i, p in enumerate(data.get("products", []))],
        "product",
        fold_case=True,
    )
    # APIM resource names are case-insensitive: team-a and Team-A would be the same subscription.
    yield from _duplicates(
        spec,
        [(("consumers", i, "name"), c["name"]) for i, c in enumerate(data.get("consumers", []))],
        "consumer",
        fold_case=True,
    )
    dims = data.get("tokenMetrics", {}).get("dimensions", [])
    yield from _duplicates(
        spec,
        [
            (("tokenMetrics", "dimensions", i), d if isinstance(d, str) else d["name"])
            for i, d in enumerate(dims)
        ],
        "dimension",
    )


@rule("TG102", "Accounts sharing a deployment name serve the same model (they form a pool)")
def pooled_deployments_match(spec: LoadedSpec) -> Iterator[Finding]:
    first: dict[str, tuple[str, str, str]] = {}
    for i, account in enumerate(spec.data["openai"]):
        for j, deployment in enumerate(account["deployments"]):
            name = deployment["name"]
            served = (deployment["model"], deployment["version"])
            if name not in first:
                first[name] = (account["name"], *served)
                continue
            other, model, version = first[name]
            if (model, version) != served:
                yield spec.finding(
                    ("openai", i, "deployments", j, "model"),
                    "TG102",
                    f"deployment '{name}' is {served[0]} {served[1]} here but {model} {version} "
                    f"on account '{other}'; accounts sharing a deployment name form a backend "
                    "pool and must serve the same model and version",
                )


@rule("TG103", "A quota comes with its period, and a period with its quota")
def quota_needs_period(spec: LoadedSpec) -> Iterator[Finding]:
    for path, block in _limit_blocks(spec.data):
        if "quota" in block and "quotaPeriod" not in block:
            yield spec.finding(
                (*path, "quota"),
                "TG103",
                "'quota' needs a 'quotaPeriod' (Hourly, Daily, Weekly, Monthly, "
                "Yearly) in the same block",
                key=True,
            )
        if "quotaPeriod" in block and "quota" not in block:
            yield spec.finding(
                (*path, "quotaPeriod"),
                "TG103",
                "'quotaPeriod' is set but 'quota' is missing",
                key=True,
            )


@rule("TG104", "A token limit sets tokensPerMinute or quota; every consumer ends up limited")
def limit_not_empty(spec: LoadedSpec) -> Iterator[Finding]:
    data = spec.data
    default = data.get("tokenLimit")
    if default is not None and "tokensPerMinute" not in default and "quota" not in default:
        yield spec.finding(
            ("tokenLimit",),
            "TG104",
            "'tokenLimit' sets neither 'tokensPerMinute' nor 'quota'",
            key=True,
        )
    for i, product in enumerate(data.get("products", [])):
        if "tokensPerMinute" not in product and "quota" not in product:
            yield Finding(
                spec.file,
                *_line_col(spec, ("products", i)),
                "TG104",
                f"product '{product['name']}' sets no token limit, so its consumers are unlimited",
                severity=Severity.WARNING,
            )
    if default is None:
        for i, consumer in enumerate(data.get("consumers", [])):
            if "product" in consumer:
                continue
            if "tokensPerMinute" not in consumer and "quota" not in consumer:
                limited = [
                    c for c in data["consumers"] if {"tokensPerMinute", "quota", "product"} & set(c)
                ]
                if limited:
                    yield Finding(
                        spec.file,
                        *_line_col(spec, ("consumers", i)),
                        "TG104",
                        f"consumer '{consumer['name']}' has no token limit: add one or a "
                        "default 'tokenLimit'",
                        severity=Severity.WARNING,
                    )


@rule("TG115", "A consumer's product is one of the spec's products")
def product_references(spec: LoadedSpec) -> Iterator[Finding]:
    products = {p["name"] for p in spec.data.get("products", [])}
    for i, consumer in enumerate(spec.data.get("consumers", [])):
        if "product" in consumer and consumer["product"] not in products:
            known = ", ".join(sorted(products)) or "none defined"
            yield spec.finding(
                ("consumers", i, "product"),
                "TG115",
                f"consumer '{consumer['name']}' names product '{consumer['product']}', which is "
                f"not in 'products' ({known})",
            )


@rule("TG116", "A consumer in a product takes the product's limits, not its own")
def product_consumer_without_limits(spec: LoadedSpec) -> Iterator[Finding]:
    for i, consumer in enumerate(spec.data.get("consumers", [])):
        own = [k for k in ("tokensPerMinute", "quota", "quotaPeriod") if k in consumer]
        if "product" in consumer and own:
            yield spec.finding(
                ("consumers", i, own[0]),
                "TG116",
                f"consumer '{consumer['name']}' is in product '{consumer['product']}', whose "
                f"limits it gets; remove {', '.join(own)} or take it out of the product",
                key=True,
            )


@rule("TG117", "Product ids starting with 'tokengate-' are reserved for generated tiers")
def reserved_product_names(spec: LoadedSpec) -> Iterator[Finding]:
    for i, product in enumerate(spec.data.get("products", [])):
        if product["name"].startswith("tokengate-"):
            yield spec.finding(
                ("products", i, "name"),
                "TG117",
                f"product '{product['name']}': ids starting with 'tokengate-' are reserved for "
                "the tiers tokengate generates",
            )


@rule("TG119", "Without subscription keys, callers are identified by Entra ID tokens")
def keyless_needs_entra(spec: LoadedSpec) -> Iterator[Finding]:
    auth = spec.data.get("auth", {})
    if auth.get("subscriptionRequired", True):
        return
    if "entra" not in auth:
        yield spec.finding(
            ("auth", "subscriptionRequired"),
            "TG119",
            "with 'subscriptionRequired: false' and no 'auth.entra', anyone could call the API",
        )
    elif spec.data.get("tokenLimit", {}).get("counterKey", "subscription") == "subscription":
        yield spec.finding(
            ("auth", "subscriptionRequired"),
            "TG119",
            "keys are optional, so counting tokens per subscription would lump every keyless "
            "caller together: set 'tokenLimit.counterKey' to a claim, e.g. 'claim:appid'",
        )


@rule("TG140", "The llm API family needs AI Services accounts that all serve the same models")
def llm_family(spec: LoadedSpec) -> Iterator[Finding]:
    if spec.data.get("api", {}).get("family") != "llm":
        return
    accounts = spec.data["openai"]
    for i, account in enumerate(accounts):
        if account.get("kind", "OpenAI") != "AIServices":
            yield spec.finding(
                ("openai", i, "name"),
                "TG140",
                f"account '{account['name']}' must be kind AIServices for the llm family (the "
                "model inference endpoint lives on AI Services accounts)",
            )
    served = [sorted(d["name"] for d in a["deployments"]) for a in accounts]
    if any(names != served[0] for names in served[1:]):
        yield spec.finding(
            ("openai",),
            "TG140",
            "with the llm family the model is named in the request body, so the gateway cannot "
            "route by deployment: every account must serve the same deployments (one pool)",
            key=True,
        )


def _line_col(spec: LoadedSpec, path: PathKey) -> tuple[int, int]:
    mark = spec.mark_of(path)
    return mark.line, mark.column


@rule("TG105", f"At most {azure.MAX_DIMENSIONS} metric dimensions")
def dimension_count(spec: LoadedSpec) -> Iterator[Finding]:
    dims = spec.data.get("tokenMetrics", {}).get("dimensions", [])
    if len(dims) > azure.MAX_DIMENSIONS:
        yield spec.finding(
            ("tokenMetrics", "dimensions", azure.MAX_DIMENSIONS),
            "TG105",
            f"{len(dims)} dimensions; the emit-token-metric policy takes at most "
            f"{azure.MAX_DIMENSIONS}",
        )


@rule("TG106", "Token limits are not available on the Consumption tier")
def no_token_limit_on_consumption(spec: LoadedSpec) -> Iterator[Finding]:
    sku = spec.data["apim"].get("sku")
    if sku not in azure.NO_TOKEN_LIMIT_SKUS:
        return
    overrides = any(
        k in c for c in spec.data.get("consumers", []) for k in ("tokensPerMinute", "quota")
    )
    if "tokenLimit" in spec.data or overrides:
        yield spec.finding(
            ("apim", "sku"),
            "TG106",
            f"the token-limit policy is not available on the {sku} tier; "
            "choose BasicV2, StandardV2 or a classic tier",
        )


_APIM_NAME = re.compile(r"^[a-zA-Z](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?$")
_SUBDOMAIN = re.compile(r"^[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?$")


def apim_name_prefix(gateway: str) -> str:
    """The APIM service name before the unique suffix."""
    return f"apim-{gateway}-"


def subdomain_prefix(gateway: str, account: str) -> str:
    """The Cognitive Services account name and custom subdomain before the unique suffix."""
    return f"{gateway}-{account}-"


@rule("TG107", "The APIM service name fits APIM's rules (1-50 chars, letter first, a-z 0-9 -)")
def apim_name(spec: LoadedSpec) -> Iterator[Finding]:
    length = len(apim_name_prefix(spec.data["name"])) + azure.UNIQUE_SUFFIX_LENGTH
    if length > azure.APIM_NAME_MAX:
        yield spec.finding(
            ("name",),
            "TG107",
            f"the APIM name would be {length} characters "
            f"(max {azure.APIM_NAME_MAX}); shorten 'name'",
        )
    if not _APIM_NAME.match(apim_name_prefix(spec.data["name"]) + "x"):
        yield spec.finding(("name",), "TG107", "the APIM name would not be valid")


@rule("TG108", "Cognitive Services names and subdomains fit (2-64 chars, a-z 0-9 -)")
def subdomain_name(spec: LoadedSpec) -> Iterator[Finding]:
    for i, account in enumerate(spec.data["openai"]):
        prefix = subdomain_prefix(spec.data["name"], account["name"])
        length = len(prefix) + azure.UNIQUE_SUFFIX_LENGTH
        if length > azure.SUBDOMAIN_MAX:
            yield spec.finding(
                ("openai", i, "name"),
                "TG108",
                f"the custom subdomain '{prefix}<13 chars>' would be {length} "
                f"characters (max {azure.SUBDOMAIN_MAX}); shorten the gateway "
                "or account name",
            )
        elif not _SUBDOMAIN.match(prefix + "x"):
            yield spec.finding(
                ("openai", i, "name"),
                "TG108",
                f"the custom subdomain '{prefix}...' would not be a valid host name",
            )


@rule("TG109", "Capacities are within the SKU's bounds (model deployments and APIM units)")
def capacity_bounds(spec: LoadedSpec) -> Iterator[Finding]:
    for i, account in enumerate(spec.data["openai"]):
        for j, deployment in enumerate(account["deployments"]):
            sku = deployment.get("sku", "GlobalStandard")
            low, high = azure.DEPLOYMENT_CAPACITY[sku]
            capacity = deployment["capacity"]
            if not low <= capacity <= high:
                unit = "PTU" if "Provisioned" in sku else "thousand tokens per minute"
                yield spec.finding(
                    ("openai", i, "deployments", j, "capacity"),
                    "TG109",
                    f"capacity {capacity} is outside {low}..{high} ({unit}) for the {sku} SKU",
                )
    apim = spec.data["apim"]
    sku = apim.get("sku", "BasicV2")
    capacity = apim.get("capacity", 1)
    if capacity > azure.MAX_SKU_CAPACITY[sku]:
        yield spec.finding(
            ("apim", "capacity"),
            "TG109",
            f"the {sku} tier allows at most {azure.MAX_SKU_CAPACITY[sku]} unit(s), got {capacity}",
        )


@rule("TG110", "A custom dimension has a value (only built-in dimensions may omit it)")
def dimension_values(spec: LoadedSpec) -> Iterator[Finding]:
    known = azure.BUILTIN_DIMENSIONS | set(azure.KNOWN_DIMENSION_VALUES)
    for i, dim in enumerate(spec.data.get("tokenMetrics", {}).get("dimensions", [])):
        name = dim if isinstance(dim, str) else dim["name"]
        has_value = isinstance(dim, dict) and ("value" in dim or "header" in dim)
        if not has_value and name not in known:
            builtins = ", ".join(sorted(known))
            yield spec.finding(
                ("tokenMetrics", "dimensions", i),
                "TG110",
                f"dimension '{name}' is not built in, so it needs a 'value' or "
                f"'header' (built in: {builtins})",
            )


@rule("TG111", "Token metrics need Application Insights")
def metrics_need_app_insights(spec: LoadedSpec) -> Iterator[Finding]:
    monitoring = spec.data.get("monitoring", {})
    if "tokenMetrics" in spec.data and monitoring.get("appInsights", True) is False:
        yield spec.finding(
            ("monitoring", "appInsights"),
            "TG111",
            "'tokenMetrics' sends metrics to Application Insights; "
            "set 'monitoring.appInsights: true' or remove 'tokenMetrics'",
        )


@rule("TG118", "Workbook and alerts read Application Insights and Log Analytics, and do something")
def insights_need_monitoring(spec: LoadedSpec) -> Iterator[Finding]:
    data = spec.data
    if "insights" not in data:
        return
    if data.get("monitoring", {}).get("appInsights", True) is False:
        yield spec.finding(
            ("insights",),
            "TG118",
            "'insights' (workbook, alerts) reads Application Insights and Log Analytics; "
            "turn monitoring on or remove 'insights'",
            key=True,
        )
        return
    insights = data["insights"]
    alerts = insights.get("alerts", {})
    if insights.get("workbook", True) is False and not alerts:
        yield _warning(
            spec,
            ("insights",),
            "TG118",
            "'insights' turns the workbook off and sets no alerts, so it deploys nothing",
        )
    if "quotaPercent" in alerts and not any("quota" in block for _, block in _limit_blocks(data)):
        yield _warning(
            spec,
            ("insights", "alerts", "quotaPercent"),
            "TG118",
            "no token limit sets a quota, so the quota alert has nothing to watch",
        )


def _warning(spec: LoadedSpec, path: PathKey, rule_id: str, message: str) -> Finding:
    line, column = _line_col(spec, path)
    return Finding(spec.file, line, column, rule_id, message, severity=Severity.WARNING)


@rule("TG112", "Application Insights is workspace-based, so it needs Log Analytics")
def app_insights_needs_workspace(spec: LoadedSpec) -> Iterator[Finding]:
    monitoring = spec.data.get("monitoring", {})
    if monitoring.get("appInsights", True) and monitoring.get("logAnalytics", True) is False:
        yield spec.finding(
            ("monitoring", "logAnalytics"),
            "TG112",
            "classic Application Insights is retired; workspace-based "
            "Application Insights needs 'logAnalytics: true'",
        )


_CLAIM = re.compile(r"^[A-Za-z0-9_.:/-]{1,128}$")
_HEADER = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")


def _balanced(expression: str) -> bool:
    depth = 0
    in_string = False
    escaped = False
    for char in expression:
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
            continue
        if char == '"':
            in_string = True
        elif char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
            if depth < 0:
                return False
    return depth == 0 and not in_string


@rule(
    "TG113",
    "The counter key is subscription, ip, header:<name>, claim:<name> (Entra ID) or one @(...)",
)
def counter_key_form(spec: LoadedSpec) -> Iterator[Finding]:
    key = spec.data.get("tokenLimit", {}).get("counterKey")
    if key is None or key in ("subscription", "ip"):
        return
    path = ("tokenLimit", "counterKey")
    if key.startswith("header:"):
        if not _HEADER.match(key.removeprefix("header:")):
            yield spec.finding(
                path, "TG113", f"'{key}' does not name a valid HTTP header after 'header:'"
            )
        return
    if key.startswith("claim:"):
        if not _CLAIM.match(key.removeprefix("claim:")):
            yield spec.finding(path, "TG113", f"'{key}' does not name a token claim after 'claim:'")
        elif "entra" not in spec.data.get("auth", {}):
            yield spec.finding(
                path,
                "TG113",
                f"'{key}' reads a claim of the caller's Entra ID token: configure 'auth.entra' "
                "so the gateway validates one",
            )
        return
    text = key.strip()
    if not (text.startswith("@(") and text.endswith(")") and _balanced(text[1:])):
        yield spec.finding(
            path,
            "TG113",
            f"counterKey {key!r} is not subscription, ip, header:<name> or a "
            "single policy expression of the form @(...)",
        )


@rule("TG114", "Consumers' tokens per minute fit the model deployments' capacity")
def tpm_within_capacity(spec: LoadedSpec) -> Iterator[Finding]:
    data = spec.data
    standard_tpm = sum(
        d["capacity"] * 1000
        for a in data["openai"]
        for d in a["deployments"]
        if "Provisioned" not in d.get("sku", "GlobalStandard")
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
        "Provisioned" in d.get("sku", "GlobalStandard")
        for a in data["openai"]
        for d in a["deployments"]
    )
    if consumers and not has_provisioned and total > standard_tpm:
        yield Finding(
            spec.file,
            *_line_col(spec, ("consumers",)),
            "TG114",
            f"consumers may use {total:,} tokens per minute in all, more than the "
            f"{standard_tpm:,} the model deployments provide; expect 429s from the "
            "backend",
            severity=Severity.WARNING,
        )


def semantic_findings(spec: LoadedSpec) -> list[Finding]:
    findings: list[Finding] = []
    for registered in RULES:
        findings.extend(registered.check(spec))
    return findings
