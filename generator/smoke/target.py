"""Where smoke sends its requests, and the consumer's key.

On Azure the gateway URL comes from the deployment's outputs (`az deployment group show`) and
the key from the subscription's listSecrets (`az rest`), both at run time: the key lives in this
process only, is never written anywhere and is shown as its first four characters.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from generator import azure
from generator.deploy.outputs import GatewayOutputs, from_deployment
from generator.deploy.runner import run
from generator.deploy.target import check_resource_group, deployment_name
from generator.emulate.keys import ANONYMOUS_CONSUMER, read_keys
from generator.errors import ExitCode, TokengateError
from generator.model import Gateway
from generator.smoke.http import Unreachable

#: Seconds one `az` call gets.
AZ_TIMEOUT_S = 120.0


@dataclass(frozen=True)
class AzureContext:
    """What `--monitoring` needs to query Application Insights."""

    resource_group: str
    subscription: str
    app_insights: str | None


@dataclass(frozen=True)
class Target:
    #: Gateway URL with the API path, no trailing slash.
    base: str
    key: str
    consumer: str
    #: Where the key came from, for the banner.
    key_source: str
    azure: AzureContext | None = None

    @property
    def shown_key(self) -> str:
        return self.key[:4] + "…"


def api_base(gateway_url: str, api_path: str) -> str:
    return "/".join(part.strip("/") for part in (gateway_url, api_path) if part.strip("/"))


def default_consumer(gateway: Gateway, consumer: str | None, names: Sequence[str] = ()) -> str:
    known = [c.name for c in gateway.consumers] or list(names)
    if consumer is not None:
        if gateway.consumers and consumer not in known:
            raise TokengateError(
                f"--consumer {consumer}: not a consumer of the spec ({', '.join(known)})"
            )
        return consumer
    return known[0] if known else ANONYMOUS_CONSUMER


def from_url(
    gateway: Gateway,
    url: str,
    *,
    key: str | None,
    keys_file: Path | None,
    consumer: str | None,
) -> Target:
    base = api_base(url, gateway.api.path)
    if key is not None:
        return Target(base, key, default_consumer(gateway, consumer), "--key")
    if keys_file is None:
        raise TokengateError("--url needs a key: --key KEY, or --keys FILE with --consumer NAME")
    if not keys_file.is_file():
        raise TokengateError(
            f"--keys {keys_file}: no such file (tokengate emulate --keys writes it)"
        )
    keys = read_keys(keys_file)
    name = default_consumer(gateway, consumer, sorted(keys))
    if name not in keys:
        raise TokengateError(f"--keys {keys_file} has no key for consumer {name}")
    return Target(base, keys[name], name, str(keys_file))


def _az(argv: list[str], what: str) -> str:
    completed = run(argv, timeout=AZ_TIMEOUT_S)
    if not completed.ok:
        detail = completed.stderr.strip().splitlines()
        raise TokengateError(
            f"{what} failed: {detail[-1] if detail else f'exit {completed.returncode}'}",
            exit_code=ExitCode.DEPLOY_FAILED,
        )
    return completed.stdout


def _subscription_args(subscription: str | None) -> list[str]:
    return ["--subscription", subscription] if subscription else []


def deployment_outputs(gateway: Gateway, group: str, subscription: str | None) -> GatewayOutputs:
    name = deployment_name(gateway)
    at_subscription = gateway.target.scope == "subscription"
    where = [] if at_subscription else ["--resource-group", group]
    argv = ["az", "deployment", "sub" if at_subscription else "group", "show", "--name", name]
    text = _az(
        [*argv, *where, "--output", "json", *_subscription_args(subscription)],
        f"az deployment show {name}",
    )
    outputs = from_deployment(text)
    if not outputs.gateway_url:
        raise Unreachable(f"deployment {name} in {group} reports no gatewayUrl: deploy it first")
    return outputs


def from_azure(
    gateway: Gateway,
    resource_group: str,
    *,
    consumer: str | None,
    subscription: str | None,
) -> Target:
    group = check_resource_group(resource_group, "--resource-group")
    outputs = deployment_outputs(gateway, group, subscription)
    name = default_consumer(gateway, consumer, outputs.consumer_subscriptions)
    subscription_id = _az(
        [
            "az",
            "account",
            "show",
            "--query",
            "id",
            "--output",
            "tsv",
            *_subscription_args(subscription),
        ],
        "az account show",
    ).strip()
    version = azure.API_VERSIONS["Microsoft.ApiManagement/service/subscriptions"]
    url = (
        f"/subscriptions/{subscription_id}/resourceGroups/{outputs.resource_group or group}"
        f"/providers/Microsoft.ApiManagement/service/{outputs.apim_name}"
        f"/subscriptions/{name}/listSecrets?api-version={version}"
    )
    completed = run(
        [
            "az",
            "rest",
            "--method",
            "post",
            "--url",
            url,
            "--query",
            "primaryKey",
            "--output",
            "tsv",
        ],
        timeout=AZ_TIMEOUT_S,
    )
    key = completed.stdout.strip()
    if not completed.ok or not key:
        raise Unreachable(f"cannot read the key of subscription {name} (az rest listSecrets)")
    return Target(
        api_base(outputs.gateway_url, outputs.api_path or gateway.api.path),
        key,
        name,
        "az rest listSecrets",
        AzureContext(outputs.resource_group or group, subscription_id, outputs.app_insights_name),
    )
