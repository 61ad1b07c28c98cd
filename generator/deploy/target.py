"""Where a gateway is deployed: scope, resource group, region and the deployment's stable name.

The spec may say it (`deployment: {scope, resourceGroup}`); command-line options override it.
Names that reach `az`/`azd` as arguments are checked here, so a value can never be read as an
option (`--debug`) or carry a line break into a printed command.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from generator.errors import TokengateError
from generator.model import Gateway
from generator.pipeline import Compiled

RESOURCE_GROUP_SCOPE = "resourceGroup"
SUBSCRIPTION_SCOPE = "subscription"

#: ARM's resource group rule: 1-90 letters, digits, `_-.()`, not ending in a period.
_RESOURCE_GROUP = re.compile(r"^[-\w.()]{0,89}[-\w()]$")
#: Azure region names as the CLI takes them (`swedencentral`).
_LOCATION = re.compile(r"^[a-z][a-z0-9]{1,39}$")
#: A subscription id or display name: no leading `-`, no control characters.
_SUBSCRIPTION = re.compile(r"^[^-\x00-\x1f\x7f][^\x00-\x1f\x7f]{0,127}$")
#: azd environment names: letters, digits, `-_.()` (azd's own rule), at most 64.
_ENVIRONMENT = re.compile(r"^[A-Za-z0-9][-A-Za-z0-9_.()]{0,63}$")


@dataclass(frozen=True)
class Target:
    """One resolved deployment target."""

    scope: str
    resource_group: str
    #: Region of the resource group and, at subscription scope, of the deployment record.
    location: str
    subscription: str | None
    deployment_name: str

    @property
    def at_subscription(self) -> bool:
        return self.scope == SUBSCRIPTION_SCOPE


def deployment_name(gateway: Gateway) -> str:
    """The same name on every run, so a redeploy updates the deployment instead of adding one."""
    return f"tokengate-{gateway.name}"


def resolve(
    compiled: Compiled,
    *,
    resource_group: str | None,
    location: str | None,
    subscription: str | None,
) -> Target:
    """Combine the spec's `deployment` block with the command-line options."""
    spec = compiled.gateway.target
    group = resource_group or spec.resource_group
    if group is None:
        raise TokengateError(
            f"{compiled.spec.file}: no resource group: pass --resource-group NAME "
            "or set deployment.resourceGroup in the spec"
        )
    return Target(
        scope=spec.scope,
        resource_group=check_resource_group(group, "--resource-group"),
        location=check_location(location or compiled.gateway.location, "--location"),
        subscription=check_subscription(subscription),
        deployment_name=deployment_name(compiled.gateway),
    )


def _checked(pattern: re.Pattern[str], value: str, source: str, expected: str) -> str:
    """`value` if it matches `pattern`, else an error naming where it came from."""
    if not pattern.match(value):
        raise TokengateError(f"{source} {value!r}: not {expected}")
    return value


def check_resource_group(name: str, source: str) -> str:
    return _checked(
        _RESOURCE_GROUP,
        name,
        source,
        "a resource group name "
        "(1-90 letters, digits, '_', '-', '.', '(' or ')', not ending in '.')",
    )


def check_location(name: str, source: str) -> str:
    return _checked(
        _LOCATION,
        name,
        source,
        "an Azure region name (lowercase letters and digits, for example swedencentral)",
    )


def check_subscription(value: str | None) -> str | None:
    if value is None:
        return None
    return _checked(
        _SUBSCRIPTION,
        value,
        "--subscription",
        "a subscription id or name (it may not start with '-' or hold control characters)",
    )


def check_environment(name: str, source: str) -> str:
    return _checked(
        _ENVIRONMENT,
        name,
        source,
        "an azd environment name "
        "(1-64 letters, digits, '-', '_', '.', '(' or ')', starting with a letter or digit)",
    )
