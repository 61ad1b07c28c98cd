"""`tokengate deploy`: render and check, preflight, what-if, confirm, deploy, report.

Safe to run twice: the deployment name is stable and ARM's incremental mode updates what exists.
Nothing is asked when stdin is not a terminal; then `--yes` is required, and that is checked
before any command runs. `--dry-run` writes nothing: it says what rendering would change in OUT
and prints the commands that would run on those files.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path

from generator.deploy import arm_errors, commands, layout, preflight, whatif
from generator.deploy.console import Console
from generator.deploy.outputs import OutputsUnreadable, from_deployment, report
from generator.deploy.progress import Operation, parse_operations
from generator.deploy.runner import run
from generator.deploy.target import Target, check_path, check_subscription, resolve
from generator.deploy.watch import watch
from generator.errors import ExitCode, TokengateError
from generator.pipeline import Compiled
from generator.write import plan, write


@dataclass(frozen=True)
class DeployOptions:
    out: Path
    resource_group: str | None = None
    subscription: str | None = None
    location: str | None = None
    what_if_only: bool = False
    dry_run: bool = False
    assume_yes: bool = False
    force: bool = False
    timeout: float | None = None
    #: Seconds between reads of the deployment's operations (progress display).
    poll_seconds: float = 10.0


def deploy(compiled: Compiled, options: DeployOptions, console: Console) -> None:
    target = resolve(
        compiled,
        resource_group=options.resource_group,
        location=options.location,
        subscription=options.subscription,
    )
    asks = not (options.dry_run or options.what_if_only or options.assume_yes)
    if asks and console.confirm is None:
        raise TokengateError(
            "stdin is not a terminal, so tokengate cannot ask before deploying: pass --yes "
            "(--what-if previews the changes, --dry-run prints the commands)"
        )
    check_path(options.out, "--out")
    files = layout.deploy_files(compiled, target)
    template, parameters = (options.out / path for path in layout.entry_paths(target))
    if options.dry_run:
        todo = plan(options.out, files)
        console.err(
            f"{options.out}: would add {len(todo.added)}, change {len(todo.changed)}, "
            f"remove {len(todo.removed)} ({len(todo.unchanged)} unchanged); dry run, "
            "nothing written"
        )
        console.out(commands.shell_line(commands.what_if(target, template, parameters)))
        if not options.what_if_only:
            console.out(commands.shell_line(commands.create(target, template, parameters)))
        return
    done = write(options.out, files, force=options.force)
    console.err(
        f"{options.out}: {len(done.added)} added, {len(done.changed)} changed, "
        f"{len(done.removed)} removed, {len(done.unchanged)} unchanged"
    )

    timeout = options.timeout
    console.err("preflight:")
    preflight.check_az(console.err, timeout=timeout)
    account = preflight.signed_in_account(target.subscription, console.err, timeout=timeout)
    preflight.check_bicep(console.err, timeout=timeout)
    preflight.note_providers(
        preflight.required_namespaces(files.values()),
        target.subscription,
        console.err,
        timeout=timeout,
    )
    # Pin the subscription the preflight showed, whatever `az account set` says later.
    target = dataclasses.replace(
        target, subscription=check_subscription(account.subscription_id, account.source)
    )
    if not target.at_subscription:
        preflight.check_resource_group(target, console.err, timeout=timeout)

    _what_if(target, template, parameters, options, console)
    if options.what_if_only:
        return
    where = f"resource group {target.resource_group} in subscription {account.subscription_name}"
    question = f"Deploy these changes to {where}?"
    if not options.assume_yes and console.confirm is not None and not console.confirm(question):
        console.err("nothing deployed")
        return

    completed = watch(
        commands.create(target, template, parameters),
        console,
        label=f"deploying {target.deployment_name}",
        timeout=options.timeout,
        still_running_hint=_still_running(target),
        poll=lambda: _operations(target, timeout),
        poll_seconds=options.poll_seconds,
    )
    if not completed.ok:
        raise TokengateError(
            arm_errors.failure_message(
                f"az deployment {'sub' if target.at_subscription else 'group'} create failed",
                completed,
                subscription=target.subscription,
            ),
            exit_code=ExitCode.DEPLOY_FAILED,
        )
    console.out(f"deployed {compiled.gateway.name} to {where} ({target.deployment_name})")
    try:
        outputs = from_deployment(completed.stdout)
    except OutputsUnreadable as unreadable:
        console.err(
            f"warning: the deployment succeeded, but its outputs could not be read "
            f"({unreadable.message}); see them with `{commands.shell_line(commands.show(target))}`"
        )
        return
    for line in report(
        outputs,
        compiled.gateway,
        subscription_id=account.subscription_id,
        resource_group=target.resource_group,
    ):
        console.out(line)


def _what_if(
    target: Target, template: Path, parameters: Path, options: DeployOptions, console: Console
) -> None:
    completed = watch(
        commands.what_if(target, template, parameters),
        console,
        label="what-if",
        timeout=options.timeout,
        still_running_hint="what-if changes nothing; run `tokengate deploy` again",
    )
    if not completed.ok:
        raise TokengateError(
            arm_errors.failure_message(
                "what-if failed", completed, subscription=target.subscription
            ),
            exit_code=ExitCode.DEPLOY_FAILED,
        )
    for line in whatif.summary(whatif.parse(completed.stdout)):
        console.out(line)


def _operations(target: Target, timeout: float | None) -> list[Operation] | None:
    """The deployment's operations, or None while they cannot be read (not started yet)."""
    try:
        completed = run(commands.operations(target), timeout=preflight.probe_timeout(timeout))
    except TokengateError:
        return None
    return parse_operations(completed.stdout) if completed.ok else None


def _still_running(target: Target) -> str:
    return (
        "the deployment may still be running in Azure: watch it with "
        f"`{commands.shell_line(commands.show(target))}`, stop it with "
        f"`{commands.shell_line(commands.cancel(target))}`"
    )
