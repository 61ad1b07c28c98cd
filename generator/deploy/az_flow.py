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
    stages = _stages(compiled, target, options.out)
    # A stage's what-if needs the resource group; at subscription scope stage 1 creates it.
    previewed = [] if target.at_subscription else stages
    if options.dry_run:
        todo = plan(options.out, files)
        console.err(
            f"{options.out}: would add {len(todo.added)}, change {len(todo.changed)}, "
            f"remove {len(todo.removed)} ({len(todo.unchanged)} unchanged); dry run, "
            "nothing written"
        )
        console.out(commands.shell_line(commands.what_if(target, template, parameters)))
        for stage, stage_template, stage_parameters in previewed:
            console.out(
                commands.shell_line(commands.what_if(stage, stage_template, stage_parameters))
            )
        if not options.what_if_only:
            console.out(commands.shell_line(commands.create(target, template, parameters)))
            for stage, stage_template, stage_parameters in stages:
                console.out(
                    commands.shell_line(commands.create(stage, stage_template, stage_parameters))
                )
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
    stages = _stages(compiled, target, options.out)  # pinned to that subscription too
    previewed = [] if target.at_subscription else stages
    if not target.at_subscription:
        preflight.check_resource_group(target, console.err, timeout=timeout)

    _what_if(target, template, parameters, options, console)
    for stage, stage_template, stage_parameters in previewed:
        _what_if(stage, stage_template, stage_parameters, options, console)
    if stages and not previewed:
        console.err(
            f"note: stages 2-{len(stages) + 1} are not previewed: their resource group "
            "exists only once stage 1 has run"
        )
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
    for number, (stage, stage_template, stage_parameters) in enumerate(stages, start=2):
        _create_stage(stage, stage_template, stage_parameters, options, console, number=number)
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


def _stages(compiled: Compiled, target: Target, out: Path) -> list[tuple[Target, Path, Path]]:
    """The deployment stages after the entry (generator/stages.py), in order, under `out`."""
    return [(stage, out / t, out / p) for stage, t, p in layout.later_stages(compiled, target)]


def _create_stage(
    stage: Target,
    template: Path,
    parameters: Path,
    options: DeployOptions,
    console: Console,
    *,
    number: int,
) -> None:
    """One deployment stage after the first (generator/stages.py), waited for before the next."""
    completed = watch(
        commands.create(stage, template, parameters),
        console,
        label=f"deploying stage {number} ({stage.deployment_name})",
        timeout=options.timeout,
        still_running_hint=_still_running(stage),
        poll=lambda: _operations(stage, options.timeout),
        poll_seconds=options.poll_seconds,
    )
    if not completed.ok:
        raise TokengateError(
            arm_errors.failure_message(
                f"stage {number}: az deployment group create failed (the stages before it are "
                "deployed; running `tokengate deploy` again redeploys every stage in order)",
                completed,
                subscription=stage.subscription,
            ),
            exit_code=ExitCode.DEPLOY_FAILED,
        )


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
