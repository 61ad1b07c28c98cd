"""Stage 4: the model → the text of every output file, through Jinja2 templates.

One environment factory: StrictUndefined (a typo in a template fails loudly), XML autoescape for
`*.xml.j2`, and filters for Bicep and C# literals. Output is deterministic: sorted where order is
free, `\\n` line endings, no timestamps.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from functools import cache, partial
from typing import Any

import jinja2

from generator import (
    __version__,
    azure,
    batching,
    counter_keys,
    expressions,
    template_cache,
    tiers,
    token_limit_plan,
)
from generator.errors import TokengateError
from generator.insights_plan import insights_plan
from generator.model import Account, Gateway, Product
from generator.naming import GATEWAY_TAG, apim_name_prefix, subdomain_prefix
from generator.policy_features import policy_sections
from generator.resources import resource_dir
from generator.summary_plan import summary_plan


@dataclass(frozen=True)
class RenderedFile:
    path: str
    content: str

    @property
    def size(self) -> int:
        return len(self.content.encode("utf-8"))


_BICEP_ESCAPES = {"\\": "\\\\", "'": "\\'", "\n": "\\n", "\r": "\\r", "\t": "\\t"} | {
    chr(code): f"\\u{{{code:X}}}" for code in range(0x20) if chr(code) not in "\n\r\t"
}


def bicep_string(value: object) -> str:
    """A single-quoted Bicep string literal; `'`, `\\`, `${` and control characters escaped."""
    escaped = "".join(_BICEP_ESCAPES.get(char, char) for char in str(value))
    return "'" + escaped.replace("${", "\\${") + "'"


def one_line(value: object) -> str:
    """Text safe inside a `//` or `#` comment: no line breaks."""
    return " ".join(str(value).split())


def xml_comment(value: object) -> str:
    """Text safe inside an XML or HTML comment: no line breaks, no `--` (XML 1.0, 2.5)."""
    text = one_line(value)
    while "--" in text:
        text = text.replace("--", "- -")
    return text


_KQL_ESCAPES = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _is_control(char: str) -> bool:
    return unicodedata.category(char) in ("Cc", "Cs", "Zl", "Zp")


def kql_string(value: object) -> str:
    """A double-quoted KQL string literal.

    Kusto documents backslash escapes for the quote, the backslash, tab and newline ("The string
    data type", learn.microsoft.com/kusto/query/scalar-data-types/string); the spec's hygiene walk
    keeps every other control character out of the values that reach a query, so meeting one here
    is a bug in tokengate, reported as one instead of written into a query.
    """
    text = str(value)
    others = [c for c in text if _is_control(c) and c not in _KQL_ESCAPES]
    if others:
        raise TokengateError(
            f"internal error: U+{ord(others[0]):04X} cannot be written into a KQL string literal"
        )
    return '"' + "".join(_KQL_ESCAPES.get(char, char) for char in text) + '"'


def kql_real(value: Decimal | None) -> str:
    """A KQL `real` literal written digit for digit from a Decimal (a price: 2.50 stays 2.50, never
    2.4999...); None is `real(null)`. Kusto reads `1.5` and `10.0` as real ("The real data
    type", learn.microsoft.com/kusto/query/scalar-data-types/real)."""
    if value is None:
        return "real(null)"
    if not isinstance(value, Decimal) or not value.is_finite():
        raise TokengateError(f"internal error: {value!r} is not a finite Decimal for KQL")
    text = format(value, "f")
    return text if "." in text else text + ".0"


def kql_comment(value: object) -> str:
    """Text safe after `//`: on one line, without control or line-separator characters."""
    text = " ".join(str(value).split())
    return "".join(" " if _is_control(c) else c for c in text)


_MARKDOWN_ESCAPES = {
    "&": "&amp;",
    "<": "&lt;",
    ">": "&gt;",
    "\\": "\\\\",
    "|": "\\|",
    "`": "\\`",
    "*": "\\*",
    "[": "\\[",
    "]": "\\]",
}


def markdown_text(value: object) -> str:
    """Plain text in Markdown (a table cell, a list item): one line, HTML's `& < >` as entities,
    and the characters that would end a cell or start code, emphasis or a link escaped."""
    return "".join(_MARKDOWN_ESCAPES.get(char, char) for char in kql_comment(value))


#: A request header read in a policy expression: `Headers.GetValueOrDefault("name"...`.
_HEADER_READ = re.compile(r'Headers\.GetValueOrDefault\(\s*"([^"\\]*)"')
_HEADER_NAME = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")


def logged_headers(gateway: Gateway) -> list[str]:
    """The request headers the counter key and metric dimensions read (lowercase, sorted): the
    columns the usage export adds. Text that only looks like a header read is skipped."""
    texts = []
    if gateway.token_limit:
        texts.append(counter_keys.value_expression(gateway.token_limit.counter_key))
    if gateway.token_metrics:
        values = [expressions.dimension_value(d) for d in gateway.token_metrics.dimensions]
        texts += [value for value in values if value]
    names = {
        name.lower()
        for text in texts
        for name in _HEADER_READ.findall(text)
        if _HEADER_NAME.fullmatch(name)
    }
    return sorted(names)


def _autoescape(name: str | None) -> bool:
    return bool(name and name.endswith(".xml.j2"))


@cache
def environment() -> jinja2.Environment:
    """The one Jinja environment, loading templates from both template folders."""
    options: dict[str, Any] = {
        "undefined": jinja2.StrictUndefined,
        "keep_trailing_newline": True,
        "trim_blocks": True,
        "lstrip_blocks": True,
    }
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(
            [
                str(resource_dir("bicep_templates")),
                str(resource_dir("policy_templates")),
                str(resource_dir("query_templates")),
                str(resource_dir("report_templates")),
            ]
        ),
        autoescape=_autoescape,  # noqa: S701 - XML templates escape; Bicep uses `bicep`
        auto_reload=False,
        # Compiled once, reused by later runs; keyed by each template's checksum and by these
        # options (autoescape is decided per template name, by `_autoescape`).
        bytecode_cache=template_cache.bytecode_cache(f"{sorted(options.items())}|xml.j2"),
        **options,
    )
    env.filters["bicep"] = bicep_string
    env.filters["csharp"] = expressions.csharp_string
    env.filters["one_line"] = one_line
    env.filters["xml_comment"] = xml_comment
    env.filters["kql"] = kql_string
    env.filters["kql_comment"] = kql_comment
    env.filters["kql_real"] = kql_real
    env.filters["markdown"] = markdown_text
    env.globals["api_versions"] = azure.API_VERSIONS
    env.globals["azure"] = azure
    env.globals["gateway_tag"] = GATEWAY_TAG
    env.globals["version"] = __version__
    return env


def _render(template: str, **context: Any) -> str:
    text = environment().get_template(template).render(**context).replace("\r\n", "\n")
    if template.endswith(".xml.j2"):
        # markupsafe writes &#34; and &#39;; the named entities read better in review and are
        # what the APIM documentation uses. A user's literal "&#34;" was escaped to "&amp;#34;".
        text = text.replace("&#34;", "&quot;").replace("&#39;", "&apos;")
    return text


def policy_family_prefix(gateway: Gateway) -> str:
    """`azure-openai-*` policies for the Azure OpenAI API, `llm-*` for model inference APIs."""
    return "azure-openai" if gateway.api.family == "azure-openai" else "llm"


def product_policy_path(product: Product) -> str:
    return f"policies/product-{product.name}.xml"


def api_policy_path(gateway: Gateway) -> str:
    return f"policies/api-{gateway.api.name}.xml"


def bicep_modules(gateway: Gateway) -> list[str]:
    """The modules main.bicep calls (monitoring only when Log Analytics is on, insights only when
    the insights plan deploys something)."""
    monitoring = ["monitoring"] if gateway.monitoring.log_analytics else []
    insights = ["insights"] if insights_plan(gateway).deploys else []
    return [*monitoring, "apim", "openai", "api", *insights]


def parameters(gateway: Gateway) -> dict[str, Any]:
    """The values of main.bicep's parameters, as written into main.parameters.json."""
    values: dict[str, Any] = {
        "gatewayName": gateway.name,
        "location": gateway.location,
        "tags": dict(gateway.tags),
        "apimSku": gateway.apim.sku,
        "apimCapacity": gateway.apim.capacity,
        "publisherEmail": gateway.apim.publisher_email,
        "publisherName": gateway.apim.publisher_name,
        "openAIAccounts": [
            {
                "name": a.name,
                "namePrefix": subdomain_prefix(gateway.name, a.name),
                "priority": a.priority,
                "weight": a.weight,
                "location": a.location,
                "kind": a.kind,
                "sku": a.sku,
                "deployments": [
                    {
                        "name": d.name,
                        "model": d.model,
                        "version": d.version,
                        "sku": d.sku,
                        "capacity": d.capacity,
                    }
                    for d in a.deployments
                ],
            }
            for a in gateway.accounts
        ],
    }
    if gateway.monitoring.log_analytics:
        values["logRetentionDays"] = gateway.monitoring.retention_days
    return values


def parameters_json(gateway: Gateway, values: Mapping[str, Any] | None = None) -> str:
    """A parameters file: main.bicep's values, or `values` (a deployment stage's own)."""
    # JSON has no comments and the parameters schema allows `metadata` only per parameter, so
    # the "generated by" header rides on the first parameter.
    header = {
        "generatedBy": f"tokengate {__version__}",
        "source": gateway.source,
        "note": gateway.regenerate_note,
    }
    if values is None:
        values = parameters(gateway)
    document = {
        "$schema": "https://schema.management.azure.com/schemas/2019-04-01/deploymentParameters.json#",
        "contentVersion": "1.0.0.0",
        "parameters": {
            name: ({"metadata": header} if i == 0 else {}) | {"value": value}
            for i, (name, value) in enumerate(values.items())
        },
    }
    return _json(document)


@dataclass(frozen=True)
class Batch:
    """One module call of main.bicep over a slice of many similar resources."""

    symbol: str
    deployment_name: str
    module_path: str
    data_path: str = ""


#: Products per products module: 3 resources each, well under ARM's 800 per template.
PRODUCTS_TARGET, PRODUCTS_CEILING = 100, 260
#: Subscriptions per subscriptions module (one resource each).
SUBSCRIPTIONS_TARGET, SUBSCRIPTIONS_CEILING = 400, 790


def subscription_batches(gateway: Gateway) -> list[tuple[Batch, list[dict[str, str]]]]:
    entries = [
        {"name": c.name, "displayName": c.display_name, "scope": gateway.subscription_scope(c)}
        for c in gateway.consumers
    ]
    if not entries:
        return []
    groups = batching.batches(
        entries, lambda e: e["name"], target=SUBSCRIPTIONS_TARGET, ceiling=SUBSCRIPTIONS_CEILING
    )
    return [
        (
            Batch(
                f"subscriptions{i:03d}",
                f"subscriptions-{i:03d}",
                "modules/subscriptions.bicep",
                f"subscriptions/batch-{i:03d}.json",
            ),
            group,
        )
        for i, group in enumerate(groups)
    ]


def product_batches(gateway: Gateway) -> list[tuple[Batch, list[Product]]]:
    if not gateway.products:
        return []
    groups = batching.batches(
        list(gateway.products), lambda p: p.name, target=PRODUCTS_TARGET, ceiling=PRODUCTS_CEILING
    )
    if len(groups) == 1:
        return [(Batch("products", "products", "modules/products.bicep"), groups[0])]
    return [
        (Batch(f"products{i:03d}", f"products-{i:03d}", f"modules/products-{i:03d}.bicep"), group)
        for i, group in enumerate(groups)
    ]


def _backend_symbol(account: Account) -> str:
    """A Bicep symbol for an account's backend: `backend_` plus its name, hyphens as underscores."""
    return "backend_" + account.name.replace("-", "_")


def _product_identifier(product: Product) -> str:
    """A Bicep symbol for a product: `product_` plus its id with hyphens as underscores."""
    return "product_" + product.name.replace("-", "_")


@dataclass(frozen=True)
class TemplateJob:
    """One output file rendered from one template with its context."""

    path: str
    template: str
    context: Mapping[str, Any]


def base_context(
    gateway: Gateway,
    subscriptions: list[tuple[Batch, list[dict[str, str]]]],
    products: list[tuple[Batch, list[Product]]],
) -> dict[str, Any]:
    """What every template sees: the gateway, the batches main.bicep calls, helpers, plans."""
    return {
        "gw": gateway,
        "service_api_version": azure.service_api_version(gateway.apim.sku),
        "inference_role": azure.inference_role(gateway.api.family),
        "api_policy_path": api_policy_path(gateway),
        "apim_name_prefix": apim_name_prefix(gateway.name),
        "subscription_batches": [batch for batch, _ in subscriptions],
        "product_batches": [batch for batch, _ in products],
        "policy_prefix": policy_family_prefix(gateway),
        "jwt_variable": expressions.JWT_VARIABLE,
        "route_condition": expressions.route_condition,
        "dimension_value": expressions.dimension_value,
        "api_token_limits": lambda: token_limit_plan.api_token_limits(gateway),
        "product_token_limits": partial(token_limit_plan.product_token_limits, gateway),
        "product_identifier": _product_identifier,
        "llm_operations": [
            {
                "symbol": "operation_" + name.replace("-", "_"),
                "name": name,
                "method": method,
                "url": url,
                "display_name": title,
            }
            for name, method, url, title in azure.MODEL_INFERENCE_OPERATIONS
        ],
        "product_policy_path": product_policy_path,
        "logged_headers": logged_headers(gateway),
        "backend_symbol": _backend_symbol,
        "pooled_accounts": {a.name for route in gateway.pools for a in route.accounts},
        "breaker_accounts": {a.name for a in gateway.accounts if gateway.has_breaker(a)},
        "breakers_on_tier": tiers.supports(gateway.apim.sku, tiers.Feature.CIRCUIT_BREAKERS),
        "insights": insights_plan(gateway),
    }


def plan(gateway: Gateway) -> tuple[list[TemplateJob], dict[str, str]]:
    """What to render: template jobs, plus the files written directly (JSON data)."""
    subscriptions = subscription_batches(gateway)
    products = product_batches(gateway)
    base = base_context(gateway, subscriptions, products)
    jobs = [TemplateJob("main.bicep", "main.bicep.j2", base)]
    jobs += [
        TemplateJob(f"modules/{module}.bicep", f"modules/{module}.bicep.j2", base)
        for module in bicep_modules(gateway)
    ]
    if subscriptions:
        jobs.append(
            TemplateJob("modules/subscriptions.bicep", "modules/subscriptions.bicep.j2", base)
        )
    for number, (batch, group) in enumerate(products, start=1):
        context = {**base, "products": group, "batch_number": number, "batch_total": len(products)}
        jobs.append(TemplateJob(batch.module_path, "modules/products.bicep.j2", context))
    api_policy = {**base, "policy_sections": policy_sections(gateway)}
    jobs.append(TemplateJob(api_policy_path(gateway), "api-policy.xml.j2", api_policy))
    jobs += [
        TemplateJob(
            product_policy_path(product),
            "product-policy.xml.j2",
            {**base, "product": product, "policy_sections": policy_sections(gateway, product)},
        )
        for product in gateway.products
    ]
    jobs.append(TemplateJob("bicepconfig.json", "bicepconfig.json.j2", base))
    jobs.append(
        TemplateJob("SUMMARY.md", "SUMMARY.md.j2", {**base, "summary": summary_plan(gateway)})
    )
    for query in sorted(p.name for p in resource_dir("query_templates").glob("*.kql.j2")):
        jobs.append(TemplateJob(f"queries/{query.removesuffix('.j2')}", query, base))

    data = {batch.data_path: _json(entries) for batch, entries in subscriptions}
    data["main.parameters.json"] = parameters_json(gateway)
    return jobs, data


def render_template(template: str, context: Mapping[str, Any]) -> str:
    """One template rendered with `context` (stages.py renders main.bicep again with it)."""
    return _render(template, **context)


def _json(value: object) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False) + "\n"


def render(gateway: Gateway) -> dict[str, RenderedFile]:
    """Every output file of the gateway, keyed by its path relative to the output folder."""
    jobs, texts = plan(gateway)
    for job in jobs:
        texts[job.path] = _render(job.template, **job.context)
    return {path: RenderedFile(path, texts[path]) for path in sorted(texts)}
