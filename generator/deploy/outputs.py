"""What a user needs once the gateway runs: its URL, names, and the next command to try.

Read from the deployment's outputs (az) or the azd environment's values. Keys never appear: the
template outputs only subscription names, and the printed commands fetch a key into a shell
variable or show a placeholder for it.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from generator import azure
from generator.deploy.commands import shell_line
from generator.errors import TokengateError
from generator.model import Gateway


@dataclass(frozen=True)
class GatewayOutputs:
    gateway_url: str
    api_path: str
    apim_name: str
    app_insights_name: str | None
    consumer_subscriptions: tuple[str, ...]
    resource_group: str | None


class OutputsUnreadable(TokengateError):
    """The deployment result holds no readable outputs (the deployment itself succeeded)."""


def from_deployment(text: str) -> GatewayOutputs:
    """`az deployment ... create --output json` → outputs (`properties.outputs.<name>.value`).

    Raises OutputsUnreadable when the result is not that shape; the caller still reports the
    deployment as succeeded, since az said so with its exit code.
    """
    try:
        document: Any = json.loads(text)
    except ValueError:
        raise OutputsUnreadable("az printed no JSON result") from None
    properties = document.get("properties") if isinstance(document, dict) else None
    if not isinstance(properties, dict):
        raise OutputsUnreadable("the result has no `properties` object")
    raw = properties.get("outputs")
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise OutputsUnreadable("`properties.outputs` is not an object")
    values = {
        str(name): entry.get("value") if isinstance(entry, dict) else entry
        for name, entry in raw.items()
    }
    return from_values(values)


def from_values(values: Mapping[str, Any]) -> GatewayOutputs:
    """Outputs by name, case-insensitively (azd may upper-case them, and stores arrays as JSON)."""
    folded = {name.lower(): value for name, value in values.items()}

    def text(name: str) -> str:
        value = folded.get(name.lower())
        return value if isinstance(value, str) else ""

    consumers: Any = folded.get("consumersubscriptions") or []
    if isinstance(consumers, str):
        try:
            consumers = json.loads(consumers)
        except ValueError:
            consumers = [consumers]
    if not isinstance(consumers, list):
        consumers = []
    return GatewayOutputs(
        gateway_url=text("gatewayUrl"),
        api_path=text("apiPath"),
        apim_name=text("apimName"),
        app_insights_name=text("appInsightsName") or None,
        consumer_subscriptions=tuple(str(c) for c in consumers if isinstance(c, str | int)),
        resource_group=text("resourceGroupName") or None,
    )


def report(
    outputs: GatewayOutputs,
    gateway: Gateway,
    *,
    subscription_id: str | None,
    resource_group: str | None,
) -> list[str]:
    if not outputs.consumer_subscriptions:
        # Older templates do not output them; the spec names the same APIM subscriptions.
        names = tuple(consumer.name for consumer in gateway.consumers)
        outputs = dataclasses.replace(outputs, consumer_subscriptions=names)
    consumers = ", ".join(outputs.consumer_subscriptions) or "(none)"
    rows = [
        ("gateway URL", outputs.gateway_url or "(not reported)"),
        ("API path", outputs.api_path or "(root)"),
        ("API Management", outputs.apim_name or "(not reported)"),
    ]
    if outputs.app_insights_name:
        rows.append(("Application Insights", outputs.app_insights_name))
    rows.append(("consumers", f"{consumers} (APIM subscriptions; keys stay in Azure)"))
    width = max(len(label) for label, _ in rows)
    lines = [f"  {label:<{width}}  {value}" for label, value in rows]
    return lines + next_steps(
        outputs, gateway, subscription_id=subscription_id, resource_group=resource_group
    )


def next_steps(
    outputs: GatewayOutputs,
    gateway: Gateway,
    *,
    subscription_id: str | None,
    resource_group: str | None,
) -> list[str]:
    """How to get a consumer's key and call the gateway with it."""
    if not outputs.gateway_url:
        return []
    consumer = outputs.consumer_subscriptions[0] if outputs.consumer_subscriptions else None
    group = outputs.resource_group or resource_group
    lines = ["next: call the gateway with a consumer's APIM subscription key"]
    if consumer and group and outputs.apim_name:
        version = azure.API_VERSIONS["Microsoft.ApiManagement/service/subscriptions"]
        url = (
            f"/subscriptions/{subscription_id or '{subscriptionId}'}/resourceGroups/{group}"
            f"/providers/Microsoft.ApiManagement/service/{outputs.apim_name}"
            f"/subscriptions/{consumer}/listSecrets?api-version={version}"
        )
        fetch = ["az", "rest", "--method", "post", "--url", url]
        lines.append(f"  key=$({shell_line([*fetch, '--query', 'primaryKey', '--output', 'tsv'])})")
        key = "$key"
    else:
        key = f"<APIM subscription key{' of ' + consumer if consumer else ''}>"
    lines.append(f"  {curl(outputs, gateway, key)}")
    return lines


def curl(outputs: GatewayOutputs, gateway: Gateway, key: str) -> str:
    """A request to the first model deployment; `key` is a placeholder or `$key`."""
    deployment = gateway.accounts[0].deployments[0]
    base = "/".join(part.strip("/") for part in (outputs.gateway_url, outputs.api_path) if part)
    body: dict[str, Any]
    if "embedding" in deployment.model.lower():
        operation, body = "embeddings", {"input": "Hello"}
    else:
        operation, body = "chat/completions", {"messages": [{"role": "user", "content": "Hello"}]}
    url = f"{base}/deployments/{deployment.name}/{operation}?api-version={gateway.api.api_version}"
    argv = [
        "curl",
        url,
        "--header",
        "Content-Type: application/json",
        "--data",
        json.dumps(body),
    ]
    header = shell_line(argv[:2])
    # `$key` must stay expandable, so that one header is double-quoted by hand.
    rest = shell_line(argv[2:])
    return f'{header} --header "api-key: {key}" {rest}'
