"""`tokengate down`: remove a deployed gateway so the same spec can be deployed again.

An azd project (written by `up`) is taken down by azd. A plain deployment is taken down by
deleting its resource group, then purging the API Management services and Azure OpenAI accounts
that Azure soft-deleted from it: until purged they keep their names, and a redeploy with the same
names fails. Only soft-deleted resources that came from this resource group are purged. Running
`down` twice is safe: a resource group that is already gone is noted, not an error.
"""

from __future__ import annotations

import dataclasses
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from generator.deploy import arm_errors, azd_flow, commands, preflight
from generator.deploy.console import Console
from generator.deploy.runner import Completed, run
from generator.deploy.target import check_resource_group, check_subscription
from generator.deploy.watch import watch
from generator.errors import ExitCode, TokengateError
from generator.pipeline import Compiled

_GROUP_IN_ID = re.compile(r"/resourceGroups/(?P<group>[^/]+)/", re.IGNORECASE)
_DELETED_ACCOUNT_ID = re.compile(
    r"/locations/(?P<location>[^/]+)/resourceGroups/(?P<group>[^/]+)/deletedAccounts/(?P<name>[^/]+)$",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class DownOptions:
    project: Path
    environment: str | None = None
    resource_group: str | None = None
    subscription: str | None = None
    dry_run: bool = False
    assume_yes: bool = False
    timeout: float | None = None


@dataclass(frozen=True)
class SoftDeleted:
    kind: str
    name: str
    location: str


def down(compiled: Compiled, options: DownOptions, console: Console) -> None:
    if not (options.dry_run or options.assume_yes) and console.confirm is None:
        raise TokengateError(
            "stdin is not a terminal, so tokengate cannot ask before deleting: pass --yes "
            "(--dry-run prints the commands)"
        )
    if options.resource_group is None and (options.project / "azure.yaml").is_file():
        environment = azd_flow.environment_name(compiled, options.environment)
        azd_flow.down(
            options.project,
            environment,
            dry_run=options.dry_run,
            assume_yes=options.assume_yes,
            timeout=options.timeout,
            console=console,
        )
        return
    group = options.resource_group or compiled.gateway.target.resource_group
    if group is None:
        raise TokengateError(
            f"nothing to take down: {options.project} holds no azd project (`tokengate up` "
            "writes one) and no resource group is known: pass --resource-group NAME or set "
            f"deployment.resourceGroup in {compiled.spec.file}"
        )
    _delete_group(
        check_resource_group(group, "--resource-group"),
        dataclasses.replace(options, subscription=check_subscription(options.subscription)),
        console,
    )


def _delete_group(group: str, options: DownOptions, console: Console) -> None:
    subscription = options.subscription
    if options.dry_run:
        for argv in (
            commands.delete_group(group, subscription),
            commands.deleted_apim_services(subscription),
            commands.deleted_cognitive_accounts(subscription),
        ):
            console.out(commands.shell_line(argv))
        console.out(
            f"# then, for each soft-deleted service that was in {group}: "
            + commands.shell_line(commands.purge_apim("<name>", "<region>", subscription))
        )
        console.out(
            f"# and each soft-deleted account that was in {group}: "
            + commands.shell_line(
                commands.purge_cognitive("<name>", group, "<region>", subscription)
            )
        )
        return

    console.err("preflight:")
    preflight.check_az(console.err)
    account = preflight.signed_in_account(subscription, console.err)
    subscription = account.subscription_id
    contents = _resource_names(group, subscription)
    console.err(f"  ok    resource group {group}: {contents}")
    question = (
        f"Delete resource group {group} in subscription {account.subscription_name} "
        f"({contents}), then purge the API Management and Azure OpenAI resources soft-deleted "
        "from it? This cannot be undone."
    )
    if not options.assume_yes and console.confirm is not None and not console.confirm(question):
        console.err("nothing deleted")
        return

    deleted = watch(
        commands.delete_group(group, subscription),
        console,
        label=f"deleting {group}",
        timeout=options.timeout,
        still_running_hint="deletion may still be running in Azure: run `tokengate down` again",
    )
    if not deleted.ok:
        errors = arm_errors.parse(deleted.stderr)
        if not any(error.code == "ResourceGroupNotFound" for error in errors):
            raise _failed(f"az group delete {group} failed", deleted, subscription)
        console.err(f"  note  resource group {group} was already deleted")

    purged = _purge(group, subscription, options, console)
    console.out(f"deleted resource group {group}")
    console.out(
        f"purged {', '.join(f'{s.kind} {s.name}' for s in purged)}"
        if purged
        else "nothing soft-deleted to purge"
    )


def _resource_names(group: str, subscription: str) -> str:
    try:
        completed = run(
            commands.list_resources(group, subscription), timeout=preflight.PROBE_TIMEOUT
        )
        names = [str(item["name"]) for item in json.loads(completed.stdout)]
    except (TokengateError, ValueError, TypeError, KeyError):
        return "its contents could not be listed"
    shown = ", ".join(sorted(names)[:8]) + (", …" if len(names) > 8 else "")
    return f"{len(names)} resources: {shown}" if names else "it holds no resources"


def _purge(
    group: str, subscription: str, options: DownOptions, console: Console
) -> list[SoftDeleted]:
    found = _soft_deleted_apim(group, subscription) + _soft_deleted_accounts(group, subscription)
    for item in found:
        argv = (
            commands.purge_apim(item.name, item.location, subscription)
            if item.kind == "API Management"
            else commands.purge_cognitive(item.name, group, item.location, subscription)
        )
        completed = watch(
            argv,
            console,
            label=f"purging {item.kind} {item.name}",
            timeout=options.timeout,
            still_running_hint=f"run `{commands.shell_line(argv)}` again",
        )
        if not completed.ok:
            raise _failed(f"purging {item.kind} {item.name} failed", completed, subscription)
    return found


def _soft_deleted_apim(group: str, subscription: str) -> list[SoftDeleted]:
    found = []
    for item in _listed(commands.deleted_apim_services(subscription), subscription):
        properties = item.get("properties") or {}
        service_id = str(item.get("serviceId") or properties.get("serviceId") or "")
        match = _GROUP_IN_ID.search(service_id + "/")
        if match and match["group"].lower() == group.lower():
            location = str(item.get("location", "")).replace(" ", "").lower()
            found.append(SoftDeleted("API Management", str(item["name"]), location))
    return sorted(found, key=lambda s: s.name)


def _soft_deleted_accounts(group: str, subscription: str) -> list[SoftDeleted]:
    found = []
    for item in _listed(commands.deleted_cognitive_accounts(subscription), subscription):
        match = _DELETED_ACCOUNT_ID.search(str(item.get("id", "")))
        if match and match["group"].lower() == group.lower():
            found.append(SoftDeleted("Azure OpenAI account", match["name"], match["location"]))
    return sorted(found, key=lambda s: s.name)


def _listed(argv: list[str], subscription: str) -> list[dict[str, Any]]:
    completed = run(argv, timeout=preflight.PROBE_TIMEOUT)
    if not completed.ok:
        raise _failed(f"`{commands.shell_line(argv)}` failed", completed, subscription)
    try:
        items = json.loads(completed.stdout or "[]")
    except ValueError:
        raise TokengateError(
            f"`{commands.shell_line(argv)}` printed no JSON list", exit_code=ExitCode.DEPLOY_FAILED
        ) from None
    return [item for item in items if isinstance(item, dict)] if isinstance(items, list) else []


def _failed(summary: str, completed: Completed, subscription: str) -> TokengateError:
    return TokengateError(
        arm_errors.failure_message(summary, completed, subscription=subscription),
        exit_code=ExitCode.DEPLOY_FAILED,
    )
