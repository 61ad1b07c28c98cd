"""`tokengate down`: remove a deployed gateway so the same spec can be deployed again.

An azd project (written by `up`) is taken down by azd. A plain deployment is taken down by
deleting its resource group, then purging the API Management services and Azure OpenAI accounts
that Azure soft-deleted from it: until purged they keep their names, and a redeploy with the same
names fails. Only soft-deleted resources that came from this resource group are purged. Running
`down` twice is safe: a resource group that is already gone is noted, not an error.

Deleting a resource group deletes everything in it, also what tokengate did not deploy. So the
group is deleted only when tokengate can show it is this gateway's: every resource in it carries
the tag `naming.GATEWAY_TAG` with this gateway's name (the templates tag everything they deploy),
and the group itself, when it carries the tag, names this gateway. An empty group is fine. Other
resources in it are listed and the deletion refused, unless `--delete-foreign-resources` says
otherwise; `--yes` only skips the question, it never widens what may be deleted.
"""

from __future__ import annotations

import dataclasses
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from generator.deploy import arm_errors, az_json, azd_flow, commands, preflight
from generator.deploy.console import Console
from generator.deploy.runner import Completed, run
from generator.deploy.target import (
    check_argument,
    check_location,
    check_path,
    check_resource_group,
    check_subscription,
)
from generator.deploy.watch import watch
from generator.errors import ExitCode, TokengateError
from generator.naming import GATEWAY_TAG
from generator.pipeline import Compiled

_GROUP_IN_ID = re.compile(r"/resourceGroups/(?P<group>[^/]+)/", re.IGNORECASE)
_DELETED_ACCOUNT_ID = re.compile(
    r"/locations/(?P<location>[^/]+)/resourceGroups/(?P<group>[^/]+)/deletedAccounts/(?P<name>[^/]+)$",
    re.IGNORECASE,
)
#: Foreign resources named in a refusal; the rest are counted.
_LISTED_FOREIGN = 20


@dataclass(frozen=True)
class DownOptions:
    project: Path
    environment: str | None = None
    resource_group: str | None = None
    subscription: str | None = None
    dry_run: bool = False
    assume_yes: bool = False
    timeout: float | None = None
    #: Delete the group even though it holds resources that are not this gateway's.
    delete_foreign_resources: bool = False


@dataclass(frozen=True)
class SoftDeleted:
    kind: str
    name: str
    location: str


@dataclass(frozen=True)
class Resource:
    """One resource of the group, as `az resource list` reports it."""

    name: str
    resource_type: str
    #: The value of GATEWAY_TAG, or None without it.
    gateway_tag: str | None

    def line(self) -> str:
        tag = (
            f"no {GATEWAY_TAG} tag"
            if self.gateway_tag is None
            else f"{GATEWAY_TAG}={self.gateway_tag}"
        )
        return f"{self.resource_type} {self.name} ({tag})"


@dataclass(frozen=True)
class Ownership:
    """Why tokengate may delete the group: the evidence, one line each, for the output."""

    evidence: tuple[str, ...]
    resource_count: int
    summary: str


def down(compiled: Compiled, options: DownOptions, console: Console) -> None:
    if options.resource_group is not None:  # a bad name is the first thing to hear about
        check_resource_group(options.resource_group, "--resource-group")
    if not (options.dry_run or options.assume_yes) and console.confirm is None:
        raise TokengateError(
            "stdin is not a terminal, so tokengate cannot ask before deleting: pass --yes "
            "(--dry-run prints the commands)"
        )
    check_path(options.project, "--project-dir")
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
    # `is None`, not `or`: `-g ""` is refused by the check, never replaced by the spec's group.
    given = options.resource_group
    group = compiled.gateway.target.resource_group if given is None else given
    if group is None:
        raise TokengateError(
            f"nothing to take down: {options.project} holds no azd project (`tokengate up` "
            "writes one) and no resource group is known: pass --resource-group NAME or set "
            f"deployment.resourceGroup in {compiled.spec.file}"
        )
    source = "--resource-group" if given is not None else "deployment.resourceGroup (spec)"
    _delete_group(
        check_resource_group(group, source),
        compiled.gateway.name,
        dataclasses.replace(options, subscription=check_subscription(options.subscription)),
        console,
    )


def _delete_group(group: str, gateway: str, options: DownOptions, console: Console) -> None:
    subscription = options.subscription
    if options.dry_run:
        console.out(f"# checks that {group} holds only resources tagged {GATEWAY_TAG}={gateway}:")
        for argv in (
            commands.show_group(group, subscription),
            commands.list_resources(group, subscription),
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

    timeout = options.timeout
    console.err("preflight:")
    preflight.check_az(console.err, timeout=timeout)
    account = preflight.signed_in_account(subscription, console.err, timeout=timeout)
    subscription = check_subscription(account.subscription_id, account.source)
    assert subscription is not None  # an account always names its subscription
    ownership = _ownership(group, gateway, subscription, options)
    already_gone = ownership is None
    if ownership is None:
        console.err(f"  note  resource group {group} was already deleted")
    else:
        for line in ownership.evidence:
            console.err(f"  ok    {line}")
        question = (
            f"Delete resource group {group} in subscription {account.subscription_name} "
            f"({ownership.summary}), then purge the API Management and Azure OpenAI resources "
            "soft-deleted from it? This cannot be undone."
        )
        if not options.assume_yes and console.confirm is not None and not console.confirm(question):
            console.err("nothing deleted")
            return
        deleted = watch(
            commands.delete_group(group, subscription),
            console,
            label=f"deleting {group}",
            timeout=timeout,
            still_running_hint="deletion may still be running in Azure: run `tokengate down` again",
        )
        if not deleted.ok:
            errors = arm_errors.parse(deleted.stderr)
            if not any(error.code == "ResourceGroupNotFound" for error in errors):
                raise _failed(f"az group delete {group} failed", deleted, subscription)
            console.err(f"  note  resource group {group} was already deleted")
            already_gone = True

    purged = _purge(group, subscription, options, console)
    console.out(
        f"resource group {group} was already deleted"
        if already_gone
        else f"deleted resource group {group}"
    )
    console.out(
        f"purged {', '.join(f'{s.kind} {s.name}' for s in purged)}"
        if purged
        else "nothing soft-deleted to purge"
    )


def _ownership(
    group: str, gateway: str, subscription: str, options: DownOptions
) -> Ownership | None:
    """The evidence that `group` is this gateway's, None when the group does not exist, or a
    refusal (exit 3) naming what in it is not this gateway's."""
    shown = run(commands.show_group(group, subscription), timeout=_probe(options))
    if not shown.ok:
        if any(e.code == "ResourceGroupNotFound" for e in arm_errors.parse(shown.stderr)):
            return None
        raise _failed(f"cannot read resource group {group}", shown, subscription)
    group_tag = _gateway_tag(_json_object(shown, f"`az group show --name {group}`"))
    resources = _resources(group, subscription, options)

    evidence = []
    if group_tag == gateway:
        evidence.append(
            f"resource group {group} carries {GATEWAY_TAG}={gateway} (tokengate made it)"
        )
    elif group_tag is None:
        evidence.append(f"resource group {group} has no {GATEWAY_TAG} tag (made outside tokengate)")
    foreign = [r for r in resources if r.gateway_tag != gateway]
    ours = len(resources) - len(foreign)
    if not resources:
        evidence.append(f"resource group {group} holds no resources")
    elif ours:
        evidence.append(f"{ours} of {len(resources)} resources carry {GATEWAY_TAG}={gateway}")
    refusals = []
    if group_tag is not None and group_tag != gateway:
        refusals.append(f"the group itself carries {GATEWAY_TAG}={group_tag}, not {gateway}")
    if foreign:
        refusals.append(
            f"{len(foreign)} of its {len(resources)} resources are not tagged "
            f"{GATEWAY_TAG}={gateway}:"
        )
    if refusals:
        if not options.delete_foreign_resources:
            raise TokengateError(
                "\n".join(
                    [f"refusing to delete resource group {group}:"]
                    + [f"  {line}" for line in evidence]
                    + [f"  {line}" for line in refusals]
                    + [f"    {r.line()}" for r in foreign[:_LISTED_FOREIGN]]
                    + (
                        [f"    … and {len(foreign) - _LISTED_FOREIGN} more"]
                        if len(foreign) > _LISTED_FOREIGN
                        else []
                    )
                    + [
                        "  hint: deleting a resource group deletes everything in it; move or "
                        "delete those resources yourself, or pass --delete-foreign-resources "
                        "to delete them with the group (--yes alone never does)"
                    ]
                ),
                exit_code=ExitCode.DEPLOY_FAILED,
            )
        evidence += [f"{line} (--delete-foreign-resources: deleted too)" for line in refusals]
        evidence += [f"  {r.line()}" for r in foreign[:_LISTED_FOREIGN]]
    names = sorted(r.name for r in resources)
    summary = (
        f"{len(names)} resources: " + ", ".join(names[:8]) + (", …" if len(names) > 8 else "")
        if names
        else "it holds no resources"
    )
    return Ownership(tuple(evidence), len(resources), summary)


def _resources(group: str, subscription: str, options: DownOptions) -> list[Resource]:
    """The group's resources with their gateway tag; an error when they cannot be listed, since
    a group whose contents are unknown is never deleted."""
    argv = commands.list_resources(group, subscription)
    completed = run(argv, timeout=_probe(options))
    if not completed.ok:
        raise _failed(
            f"cannot list the resources of {group}, so tokengate does not delete it",
            completed,
            subscription,
        )
    items = _json_list(completed, f"`{commands.shell_line(argv)}`")
    resources = []
    for item in items:
        if not isinstance(item, dict):
            raise _unexpected(f"`{commands.shell_line(argv)}`", "a list item that is not an object")
        resources.append(
            Resource(
                name=str(item.get("name") or item.get("id") or "?"),
                resource_type=str(item.get("type") or "?"),
                gateway_tag=_gateway_tag(item),
            )
        )
    return sorted(resources, key=lambda r: (r.resource_type.lower(), r.name.lower()))


def _gateway_tag(item: dict[str, Any]) -> str | None:
    """The GATEWAY_TAG value of a resource or group. ARM compares tag names case-insensitively,
    so `Tokengate-Gateway` counts too; a value that is not a string counts as no tag."""
    tags = item.get("tags")
    if not isinstance(tags, dict):
        return None
    for key, value in tags.items():
        if isinstance(key, str) and key.lower() == GATEWAY_TAG and isinstance(value, str):
            return value
    return None


def _probe(options: DownOptions) -> float:
    return preflight.probe_timeout(options.timeout)


def _purge(
    group: str, subscription: str, options: DownOptions, console: Console
) -> list[SoftDeleted]:
    found = _soft_deleted_apim(group, subscription, options) + _soft_deleted_accounts(
        group, subscription, options
    )
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


def _soft_deleted(kind: str, name: Any, location: Any) -> SoftDeleted:
    """A soft-deleted resource whose name and region, read from az, are safe to pass back."""
    where = f"a soft-deleted {kind} listed by az"
    try:
        return SoftDeleted(
            kind,
            check_argument(str(name), f"name of {where}"),
            check_location(str(location).replace(" ", "").lower(), f"region of {where}"),
        )
    except TokengateError as error:  # az's output, not the user's input: exit 3
        raise TokengateError(
            f"{error.message}; nothing purged", exit_code=ExitCode.DEPLOY_FAILED
        ) from None


def _soft_deleted_apim(group: str, subscription: str, options: DownOptions) -> list[SoftDeleted]:
    found = []
    for item in _listed(commands.deleted_apim_services(subscription), subscription, options):
        properties = item.get("properties")
        nested = properties.get("serviceId") if isinstance(properties, dict) else None
        service_id = str(item.get("serviceId") or nested or "")
        match = _GROUP_IN_ID.search(service_id + "/")
        if match and match["group"].lower() == group.lower():
            found.append(
                _soft_deleted("API Management", item.get("name", ""), item.get("location", ""))
            )
    return sorted(found, key=lambda s: s.name)


def _soft_deleted_accounts(
    group: str, subscription: str, options: DownOptions
) -> list[SoftDeleted]:
    found = []
    for item in _listed(commands.deleted_cognitive_accounts(subscription), subscription, options):
        match = _DELETED_ACCOUNT_ID.search(str(item.get("id", "")))
        if match and match["group"].lower() == group.lower():
            found.append(_soft_deleted("Azure OpenAI account", match["name"], match["location"]))
    return sorted(found, key=lambda s: s.name)


def _listed(argv: list[str], subscription: str, options: DownOptions) -> list[dict[str, Any]]:
    completed = run(argv, timeout=_probe(options))
    if not completed.ok:
        raise _failed(f"`{commands.shell_line(argv)}` failed", completed, subscription)
    command = f"`{commands.shell_line(argv)}`"
    return [item for item in _json_list(completed, command) if isinstance(item, dict)]


def _json_list(completed: Completed, command: str) -> list[Any]:
    """What az printed, as the JSON list it should be (empty output is an empty list)."""
    document = _json(completed, command)
    if document is None and not completed.stdout.strip():
        return []
    if not isinstance(document, list):
        raise _unexpected(command, f"{az_json.kind(document)}, not a list")
    return document


def _json_object(completed: Completed, command: str) -> dict[str, Any]:
    document = _json(completed, command)
    if not isinstance(document, dict):
        raise _unexpected(command, f"{az_json.kind(document)}, not an object")
    return document


def _json(completed: Completed, command: str) -> Any:
    if not completed.stdout.strip():
        return None
    try:
        return json.loads(completed.stdout)
    except ValueError:
        raise _unexpected(command, "text that is not JSON") from None


def _unexpected(command: str, what: str) -> TokengateError:
    return TokengateError(
        f"{command} printed {what}; tokengate deletes nothing it cannot read",
        exit_code=ExitCode.DEPLOY_FAILED,
    )


def _failed(summary: str, completed: Completed, subscription: str) -> TokengateError:
    return TokengateError(
        arm_errors.failure_message(summary, completed, subscription=subscription),
        exit_code=ExitCode.DEPLOY_FAILED,
    )
