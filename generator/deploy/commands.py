"""Every `az` and `azd` command tokengate runs, built as an argument list.

Pure functions: no process is started here. Values are separate list items, so nothing from the
spec or the command line is ever parsed by a shell; `shell_line` quotes a command for display
(`--dry-run`, hints) so that copying it into a POSIX shell runs exactly the same argument list.
"""

from __future__ import annotations

import shlex
from collections.abc import Sequence
from pathlib import Path

from generator.deploy.target import Target

Argv = list[str]


def shell_line(argv: Sequence[str]) -> str:
    return shlex.join(argv)


def _subscription(subscription: str | None) -> Argv:
    return [] if subscription is None else ["--subscription", subscription]


def path_argument(path: Path) -> str:
    """`path` as one argument that cannot be read as an option (`-out` becomes `./-out`)."""
    text = str(path)
    return f"./{text}" if text.startswith("-") else text


# --- preflight ------------------------------------------------------------------------------


def az_version() -> Argv:
    return ["az", "version", "--output", "json"]


def az_account_show(subscription: str | None) -> Argv:
    return ["az", "account", "show", "--output", "json", *_subscription(subscription)]


def az_bicep_version() -> Argv:
    return ["az", "bicep", "version"]


def az_provider_states(subscription: str | None) -> Argv:
    query = "[].{namespace:namespace, state:registrationState}"
    return [
        "az",
        "provider",
        "list",
        "--query",
        query,
        "--output",
        "json",
        *_subscription(subscription),
    ]


def az_group_exists(target: Target) -> Argv:
    return [
        "az",
        "group",
        "exists",
        "--name",
        target.resource_group,
        "--output",
        "json",
        *_subscription(target.subscription),
    ]


def azd_version() -> Argv:
    return ["azd", "version", "--output", "json"]


def azd_login_status() -> Argv:
    return ["azd", "auth", "login", "--check-status", "--output", "json"]


# --- az deployment --------------------------------------------------------------------------


def _deployment(target: Target, template: Path, parameters: Path) -> Argv:
    """The arguments `what-if` and `create` share, at the target's scope."""
    where = (
        ["--location", target.location]
        if target.at_subscription
        else ["--resource-group", target.resource_group]
    )
    return [
        "--name",
        target.deployment_name,
        *where,
        "--template-file",
        path_argument(template),
        "--parameters",
        f"@{parameters}",
        *_subscription(target.subscription),
    ]


def _scope_word(target: Target) -> str:
    return "sub" if target.at_subscription else "group"


def what_if(target: Target, template: Path, parameters: Path) -> Argv:
    return [
        "az",
        "deployment",
        _scope_word(target),
        "what-if",
        *_deployment(target, template, parameters),
        "--no-pretty-print",
        "--output",
        "json",
    ]


def create(target: Target, template: Path, parameters: Path) -> Argv:
    return [
        "az",
        "deployment",
        _scope_word(target),
        "create",
        *_deployment(target, template, parameters),
        "--output",
        "json",
    ]


def operations(target: Target) -> Argv:
    """Operations of the resource-group deployment (at subscription scope, the gateway module
    runs as a resource-group deployment of the same name)."""
    return [
        "az",
        "deployment",
        "operation",
        "group",
        "list",
        "--resource-group",
        target.resource_group,
        "--name",
        target.deployment_name,
        "--output",
        "json",
        *_subscription(target.subscription),
    ]


def show(target: Target) -> Argv:
    where = ["sub"] if target.at_subscription else ["group"]
    scope = [*where, "show"]
    if not target.at_subscription:
        scope += ["--resource-group", target.resource_group]
    return [
        "az",
        "deployment",
        *scope,
        "--name",
        target.deployment_name,
        *_subscription(target.subscription),
    ]


def cancel(target: Target) -> Argv:
    scope = (
        ["sub", "cancel"]
        if target.at_subscription
        else ["group", "cancel", "--resource-group", target.resource_group]
    )
    return [
        "az",
        "deployment",
        *scope,
        "--name",
        target.deployment_name,
        *_subscription(target.subscription),
    ]


# --- down (plain deployments) ---------------------------------------------------------------


def show_group(resource_group: str, subscription: str | None) -> Argv:
    return [
        "az",
        "group",
        "show",
        "--name",
        resource_group,
        "--output",
        "json",
        *_subscription(subscription),
    ]


def list_resources(resource_group: str, subscription: str | None) -> Argv:
    """Every resource in the group with its tags (no `--query`: `down` reads the tags)."""
    return [
        "az",
        "resource",
        "list",
        "--resource-group",
        resource_group,
        "--output",
        "json",
        *_subscription(subscription),
    ]


def delete_group(resource_group: str, subscription: str | None) -> Argv:
    return [
        "az",
        "group",
        "delete",
        "--name",
        resource_group,
        "--yes",
        *_subscription(subscription),
    ]


def deleted_apim_services(subscription: str | None) -> Argv:
    return [
        "az",
        "apim",
        "deletedservice",
        "list",
        "--output",
        "json",
        *_subscription(subscription),
    ]


def purge_apim(name: str, location: str, subscription: str | None) -> Argv:
    return [
        "az",
        "apim",
        "deletedservice",
        "purge",
        "--service-name",
        name,
        "--location",
        location,
        *_subscription(subscription),
    ]


def deleted_cognitive_accounts(subscription: str | None) -> Argv:
    return [
        "az",
        "cognitiveservices",
        "account",
        "list-deleted",
        "--output",
        "json",
        *_subscription(subscription),
    ]


def purge_cognitive(
    name: str, resource_group: str, location: str, subscription: str | None
) -> Argv:
    return [
        "az",
        "cognitiveservices",
        "account",
        "purge",
        "--name",
        name,
        "--resource-group",
        resource_group,
        "--location",
        location,
        *_subscription(subscription),
    ]


# --- azd ------------------------------------------------------------------------------------


def azd_env_new(project: Path, environment: str, location: str, subscription: str | None) -> Argv:
    return [
        "azd",
        "env",
        "new",
        environment,
        "--location",
        location,
        *_subscription(subscription),
        "--cwd",
        path_argument(project),
        "--no-prompt",
    ]


def azd_up(project: Path, environment: str) -> Argv:
    return [
        "azd",
        "up",
        "--environment",
        environment,
        "--cwd",
        path_argument(project),
        "--no-prompt",
    ]


def azd_env_values(project: Path, environment: str) -> Argv:
    return [
        "azd",
        "env",
        "get-values",
        "--environment",
        environment,
        "--cwd",
        path_argument(project),
    ]


def azd_down(project: Path, environment: str) -> Argv:
    return [
        "azd",
        "down",
        "--environment",
        environment,
        "--purge",
        "--force",
        "--cwd",
        path_argument(project),
        "--no-prompt",
    ]
