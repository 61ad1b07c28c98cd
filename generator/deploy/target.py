"""Where a gateway is deployed: scope, resource group, region and the deployment's stable name.

The spec may say it (`deployment: {scope, resourceGroup}`); command-line options override it.
Every value that reaches `az`/`azd` as an argument is checked here: one rule for all of them
(`argument_problem`: not empty, no leading `-`, no control character, no surrounding whitespace)
and a pattern per kind, matched whole. So a value can never be read as an option (`--debug`),
carry a line break into a printed command, or silently fall back to a default (`-g ""`).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from generator.errors import TokengateError
from generator.model import Gateway
from generator.pipeline import Compiled

RESOURCE_GROUP_SCOPE = "resourceGroup"
SUBSCRIPTION_SCOPE = "subscription"

#: ARM's resource group rule: 1-90 letters, digits, `_-.()`, not ending in a period
#: (https://learn.microsoft.com/azure/azure-resource-manager/management/resource-name-rules);
#: tokengate also refuses a leading `-`, which az would read as an option.
_RESOURCE_GROUP = re.compile(r"(?!-)[-\w.()]{0,89}[-\w()]")
#: ARM's deployment name rule (same page): 1-64 letters, digits, `_-.()`.
_DEPLOYMENT = re.compile(r"(?!-)[-\w.()]{1,64}")
#: Azure region names as the CLI takes them (`swedencentral`).
_LOCATION = re.compile(r"[a-z][a-z0-9]{1,39}")
#: A subscription id or display name (display names may hold inner spaces).
_SUBSCRIPTION = re.compile(r"[^\x00-\x1f\x7f-\x9f]{1,128}")
#: azd environment names: letters, digits, `-_.()` (azd's own rule), at most 64.
_ENVIRONMENT = re.compile(r"[A-Za-z0-9][-A-Za-z0-9_.()]{0,63}")
#: Any other single value handed to az (names and regions read back from az's own output).
_ANY_VALUE = re.compile(r".{1,1024}", re.DOTALL)
#: Unicode categories that never belong in an argument: controls (C0, DEL, C1), format
#: characters (zero-width, bidi overrides), surrogates, private use, unassigned, and the line
#: and paragraph separators, which would break a printed command over two lines.
_CONTROL_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"})


_SPEC_GROUP = "deployment.resourceGroup (spec)"


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
    # `is None`, not `or`: `-g ""` is a mistake to report, not a request for the spec's group.
    group = spec.resource_group if resource_group is None else resource_group
    if group is None:
        raise TokengateError(
            f"{compiled.spec.file}: no resource group: pass --resource-group NAME "
            "or set deployment.resourceGroup in the spec"
        )
    return Target(
        scope=spec.scope,
        resource_group=check_resource_group(
            group, "--resource-group" if resource_group is not None else _SPEC_GROUP
        ),
        location=check_location(
            compiled.gateway.location if location is None else location,
            "--location" if location is not None else "location (spec)",
        ),
        subscription=check_subscription(subscription),
        deployment_name=check_deployment_name(deployment_name(compiled.gateway), "deployment name"),
    )


def argument_problem(value: str) -> str | None:
    """Why `value` may not be one argument of an `az`/`azd` command line, or None.

    The rules every value obeys, whatever its kind: it is not empty, does not start with `-`
    (az and azd would take it for an option: `--name --debug`), holds no control or format
    character (a newline would split a printed command, `\x1b` would drive the terminal), and
    does not start or end with whitespace (a trailing newline from `$(cat file)` is a typo, not a
    name; this also refuses whitespace-only values).
    """
    if not value:
        return "it is empty"
    if value.startswith("-"):
        return "it starts with '-', so az/azd would read it as an option"
    if any(unicodedata.category(char) in _CONTROL_CATEGORIES for char in value):
        return "it holds a control character (a line break, tab or escape)"
    if value != value.strip():
        return "it starts or ends with whitespace"
    return None


def _checked(pattern: re.Pattern[str], value: str, source: str, expected: str) -> str:
    """`value` if it obeys `argument_problem` and matches all of `pattern`, else an error
    naming where it came from.

    `fullmatch`, never `match` with `$`: Python's `$` also matches before a trailing newline, so
    `^rg$` accepts `"rg\n"`.
    """
    problem = argument_problem(value)
    if problem is None and pattern.fullmatch(value) is None:
        problem = f"not {expected}"
    if problem is not None:
        raise TokengateError(f"{source} {value!r}: {problem}")
    return value


def check_argument(value: str, source: str) -> str:
    """Any value bound for az/azd that has no narrower rule here (for example a service name
    read back from `az apim deletedservice list`)."""
    return _checked(_ANY_VALUE, value, source, "a value of at most 1024 characters")


def check_deployment_name(name: str, source: str) -> str:
    return _checked(
        _DEPLOYMENT,
        name,
        source,
        "a deployment name (1-64 letters, digits, '_', '-', '.', '(' or ')')",
    )


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


def check_subscription(value: str | None, source: str = "--subscription") -> str | None:
    """None stays None (az's current subscription); an empty string is an error, never "none"."""
    if value is None:
        return None
    return _checked(
        _SUBSCRIPTION, value, source, "a subscription id or name (at most 128 characters)"
    )


def check_environment(name: str, source: str) -> str:
    return _checked(
        _ENVIRONMENT,
        name,
        source,
        "an azd environment name "
        "(1-64 letters, digits, '-', '_', '.', '(' or ')', starting with a letter or digit)",
    )


def check_path(path: Path, source: str) -> Path:
    """A folder or file path bound for az/azd: no control characters (a leading `-` is made
    harmless where the argument is built, `commands.path_argument`)."""
    text = str(path)
    if any(unicodedata.category(char) in _CONTROL_CATEGORIES for char in text):
        raise TokengateError(
            f"{source} {text!r}: it holds a control character (a line break, tab or escape)"
        )
    return path
