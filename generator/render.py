"""Stage 4: the model → the text of every output file, through Jinja2 templates.

One environment factory: StrictUndefined (a typo in a template fails loudly), XML autoescape for
`*.xml.j2`, and filters for Bicep and C# literals. Output is deterministic: sorted where order is
free, `\\n` line endings, no timestamps.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any

import jinja2

from generator import __version__, azure, expressions
from generator.model import Gateway
from generator.resources import resource_dir
from generator.validate.rules import apim_name_prefix, subdomain_prefix


@dataclass(frozen=True)
class RenderedFile:
    path: str
    content: str

    @property
    def size(self) -> int:
        return len(self.content.encode("utf-8"))


def bicep_string(value: object) -> str:
    """A single-quoted Bicep string literal; `'`, `\\`, `${` and control characters escaped."""
    text = str(value)
    escaped = (
        text.replace("\\", "\\\\")
        .replace("'", "\\'")
        .replace("${", "\\${")
        .replace("\n", "\\n")
        .replace("\r", "\\r")
        .replace("\t", "\\t")
    )
    return f"'{escaped}'"


def one_line(value: object) -> str:
    """Text safe inside a `//` comment or an XML comment: no line breaks, no `--`."""
    return " ".join(str(value).split()).replace("--", "- -")


def _autoescape(name: str | None) -> bool:
    return bool(name and name.endswith(".xml.j2"))


@cache
def environment() -> jinja2.Environment:
    """The one Jinja environment, loading templates from both template folders."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(
            [
                str(resource_dir("bicep_templates")),
                str(resource_dir("policy_templates")),
                str(resource_dir("query_templates")),
            ]
        ),
        undefined=jinja2.StrictUndefined,
        autoescape=_autoescape,  # noqa: S701 - XML templates escape; Bicep uses `bicep`
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        auto_reload=False,
    )
    env.filters["bicep"] = bicep_string
    env.filters["csharp"] = expressions.csharp_string
    env.filters["one_line"] = one_line
    env.globals["api_versions"] = azure.API_VERSIONS
    env.globals["azure"] = azure
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
    """`azure-openai` for Azure OpenAI APIs (the only family so far)."""
    return "azure-openai"


def policy_files(gateway: Gateway) -> dict[str, str]:
    """Policy documents by output path."""
    prefix = policy_family_prefix(gateway)
    context = {
        "gw": gateway,
        "gw_policy": lambda name: f"{prefix}-{name}",
        "route_condition": expressions.route_condition,
        "subscription_condition": expressions.subscription_condition,
        "limit_scope": lambda consumer: expressions.limit_scope(gateway, consumer),
    }
    return {api_policy_path(gateway): _render("api-policy.xml.j2", **context)}


def api_policy_path(gateway: Gateway) -> str:
    return f"policies/api-{gateway.api.name}.xml"


def bicep_modules(gateway: Gateway) -> list[str]:
    """The modules main.bicep calls (monitoring only when Application Insights is on)."""
    optional = ["monitoring"] if gateway.monitoring.app_insights else []
    return [*optional, "apim", "openai", "api"]


def query_files(gateway: Gateway) -> dict[str, str]:
    """KQL queries for the gateway's logs and metrics: every `query_templates/*.kql.j2`."""
    names = sorted(p.name for p in resource_dir("query_templates").glob("*.kql.j2"))
    return {f"queries/{name.removesuffix('.j2')}": _render(name, gw=gateway) for name in names}


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
        "consumers": [{"name": c.name, "displayName": c.display_name} for c in gateway.consumers],
    }
    if gateway.monitoring.app_insights:
        values["logRetentionDays"] = gateway.monitoring.retention_days
    return values


def parameters_json(gateway: Gateway) -> str:
    # JSON has no comments and the parameters schema allows `metadata` only per parameter, so
    # the "generated by" header rides on the first parameter.
    header = {
        "generatedBy": f"tokengate {__version__}",
        "source": gateway.source,
        "note": "Do not edit: change the spec and run `tokengate render`.",
    }
    values = parameters(gateway)
    document = {
        "$schema": "https://schema.management.azure.com/schemas/2019-04-01/deploymentParameters.json#",
        "contentVersion": "1.0.0.0",
        "parameters": {
            name: ({"metadata": header} if i == 0 else {}) | {"value": value}
            for i, (name, value) in enumerate(values.items())
        },
    }
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def render(gateway: Gateway) -> dict[str, RenderedFile]:
    """Every output file of the gateway, keyed by its path relative to the output folder."""
    policies = policy_files(gateway)
    context: Mapping[str, Any] = {
        "gw": gateway,
        "api_policy_path": api_policy_path(gateway),
        "apim_name_prefix": apim_name_prefix(gateway.name),
    }
    texts: dict[str, str] = {"main.bicep": _render("main.bicep.j2", **context)}
    for module in bicep_modules(gateway):
        texts[f"modules/{module}.bicep"] = _render(f"modules/{module}.bicep.j2", **context)
    texts.update(policies)
    texts["main.parameters.json"] = parameters_json(gateway)
    texts["bicepconfig.json"] = _render("bicepconfig.json.j2", **context)
    texts.update(query_files(gateway))
    return {path: RenderedFile(path, texts[path]) for path in sorted(texts)}
