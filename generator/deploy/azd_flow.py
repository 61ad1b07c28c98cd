"""`tokengate up` and the azd half of `tokengate down`: write the azd project, run azd in it.

The project lives in its own folder (default `azd/`) because azd keeps each environment's state
under `.azure/` there, and `down` needs that state later. A new environment is created with the
spec's region and the subscription the user is signed in to, so `azd up` never has to prompt.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from generator.deploy import arm_errors, commands, layout, preflight
from generator.deploy.console import Console
from generator.deploy.outputs import from_values, report
from generator.deploy.runner import run
from generator.deploy.target import (
    RESOURCE_GROUP_SCOPE,
    Target,
    check_environment,
    check_location,
    check_path,
    check_resource_group,
    check_subscription,
    deployment_name,
)
from generator.deploy.watch import watch
from generator.errors import ExitCode, TokengateError
from generator.pipeline import Compiled
from generator.stages import stage_paths
from generator.write import plan, write

_ESCAPES = {"n": "\n", "r": "\r"}


@dataclass(frozen=True)
class UpOptions:
    project: Path
    environment: str | None = None
    subscription: str | None = None
    location: str | None = None
    dry_run: bool = False
    timeout: float | None = None


def environment_name(compiled: Compiled, given: str | None) -> str:
    """`--env`, or the spec's name (what a second `up` and `down` will find again); `--env ""`
    is an error, not a request for the default."""
    if given is None:
        return check_environment(compiled.gateway.name, "gateway name (spec)")
    return check_environment(given, "--env")


def environment_exists(project: Path, environment: str) -> bool:
    return (project / ".azure" / environment / ".env").is_file()


def up(compiled: Compiled, options: UpOptions, console: Console) -> None:
    environment = environment_name(compiled, options.environment)
    location = (
        check_location(compiled.gateway.location, "location (spec)")
        if options.location is None
        else check_location(options.location, "--location")
    )
    subscription = check_subscription(options.subscription)
    check_path(options.project, "--project-dir")
    group = compiled.gateway.target.resource_group
    if group is not None:
        check_resource_group(group, "deployment.resourceGroup (spec)")
    files = layout.azd_files(compiled, group)
    new_environment = not environment_exists(options.project, environment)
    if options.dry_run:
        todo = plan(options.project, files)
        console.err(
            f"{options.project}: would add {len(todo.added)}, change {len(todo.changed)}, "
            f"remove {len(todo.removed)} ({len(todo.unchanged)} unchanged); dry run, "
            "nothing written"
        )
        if new_environment:
            new = commands.azd_env_new(options.project, environment, location, subscription)
            console.out(commands.shell_line(new))
        console.out(commands.shell_line(commands.azd_up(options.project, environment)))
        # azd's default group (infra/main.bicep) is rg-<environment>.
        stage_group = group if group is not None else f"rg-{environment}"
        stages = _stages(compiled, options.project, stage_group, subscription)
        for stage, template, stage_parameters in stages:
            console.out(commands.shell_line(commands.create(stage, template, stage_parameters)))
        return
    done = write(options.project, files)
    console.err(
        f"{options.project}: {len(done.added)} added, {len(done.changed)} changed, "
        f"{len(done.removed)} removed, {len(done.unchanged)} unchanged"
    )

    timeout = options.timeout
    console.err("preflight:")
    preflight.check_azd(console.err, timeout=timeout)
    preflight.check_azd_login(console.err, timeout=timeout)
    if new_environment:
        if subscription is None:
            subscription = _signed_in_subscription(console, timeout)
        _create_environment(options.project, environment, location, subscription, console, timeout)
    else:
        console.err(f"  ok    azd environment {environment} exists")

    completed = watch(
        commands.azd_up(options.project, environment),
        console,
        label=f"azd up ({environment})",
        timeout=options.timeout,
        still_running_hint=(
            "the deployment may still be running in Azure: see the portal's "
            "Deployments page of the subscription, or run `tokengate up` again"
        ),
        echo_stdout=True,
    )
    if not completed.ok:
        raise TokengateError(
            arm_errors.failure_message("azd up failed", completed),
            exit_code=ExitCode.DEPLOY_FAILED,
        )
    values = _environment_values(options.project, environment, timeout)
    outputs = from_values(values)
    _deploy_stages(compiled, options, outputs.resource_group, values, console)
    console.out(f"deployed {compiled.gateway.name} with azd (environment {environment})")
    for line in report(
        outputs,
        compiled.gateway,
        subscription_id=values.get("AZURE_SUBSCRIPTION_ID"),
        resource_group=outputs.resource_group,
    ):
        console.out(line)


def _stages(
    compiled: Compiled, project: Path, resource_group: str, subscription: str | None
) -> list[tuple[Target, Path, Path]]:
    """The deployment stages after azd's (generator/stages.py), in order, under infra/."""
    target = Target(
        scope=RESOURCE_GROUP_SCOPE,
        resource_group=resource_group,
        location=compiled.gateway.location,
        subscription=subscription,
        deployment_name=deployment_name(compiled.gateway),
    )
    infra = project / layout.AZD_INFRA
    return [(stage, infra / t, infra / p) for stage, t, p in layout.later_stages(compiled, target)]


def _deploy_stages(
    compiled: Compiled,
    options: UpOptions,
    resource_group: str | None,
    values: dict[str, str],
    console: Console,
) -> None:
    """azd provisions one deployment (stage 1); the later stages run with az, in order, into
    the resource group azd reported. Each is idempotent, so `up` again redeploys them all."""
    if not stage_paths(compiled.files):
        return
    if resource_group is None:
        raise TokengateError(
            "azd up succeeded, but its outputs name no resource group, so the later deployment "
            "stages cannot run; run `tokengate deploy -g <group>` to deploy them",
            exit_code=ExitCode.DEPLOY_FAILED,
        )
    preflight.check_az(console.err, timeout=options.timeout)
    subscription = values.get("AZURE_SUBSCRIPTION_ID") or options.subscription
    stages = _stages(compiled, options.project, resource_group, subscription)
    for number, (stage, template, parameters) in enumerate(stages, start=2):
        completed = watch(
            commands.create(stage, template, parameters),
            console,
            label=f"deploying stage {number} ({stage.deployment_name})",
            timeout=options.timeout,
            still_running_hint="the stage may still be running in Azure: run `tokengate up` again",
        )
        if not completed.ok:
            raise TokengateError(
                arm_errors.failure_message(
                    f"stage {number}: az deployment group create failed (running `tokengate up` "
                    "again redeploys every stage in order)",
                    completed,
                ),
                exit_code=ExitCode.DEPLOY_FAILED,
            )


def _signed_in_subscription(console: Console, timeout: float | None) -> str | None:
    """The az CLI's current subscription, so azd uses the same one; None without az."""
    try:
        account = preflight.signed_in_account(None, console.err, timeout=timeout)
        return check_subscription(account.subscription_id, account.source)
    except preflight.PreflightFailed:
        console.err("  note  no az subscription to copy: azd uses its own default subscription")
        return None


def _create_environment(
    project: Path,
    environment: str,
    location: str,
    subscription: str | None,
    console: Console,
    timeout: float | None,
) -> None:
    argv = commands.azd_env_new(project, environment, location, subscription)
    completed = run(argv, timeout=preflight.probe_timeout(timeout))
    if not completed.ok:
        raise TokengateError(
            arm_errors.failure_message(f"`{commands.shell_line(argv)}` failed", completed),
            exit_code=ExitCode.DEPLOY_FAILED,
        )
    console.err(f"  ok    azd environment {environment} created ({location})")


def _environment_values(project: Path, environment: str, timeout: float | None) -> dict[str, str]:
    argv = commands.azd_env_values(project, environment)
    completed = run(argv, timeout=preflight.probe_timeout(timeout))
    if not completed.ok:
        raise TokengateError(
            arm_errors.failure_message(f"`{commands.shell_line(argv)}` failed", completed),
            exit_code=ExitCode.DEPLOY_FAILED,
        )
    return parse_env_values(completed.stdout)


def parse_env_values(text: str) -> dict[str, str]:
    """`azd env get-values` output (`KEY="value"` lines, dotenv escapes) → a dict."""
    values: dict[str, str] = {}
    for line in text.splitlines():
        key, sep, raw = line.partition("=")
        if not sep or not key.strip() or key.lstrip().startswith("#"):
            continue
        raw = raw.strip()
        if len(raw) >= 2 and raw[0] == raw[-1] and raw[0] in "\"'":
            raw = raw[1:-1]
        values[key.strip()] = _unescape(raw)
    return values


def _unescape(text: str) -> str:
    out: list[str] = []
    chars = iter(text)
    for char in chars:
        if char == "\\":
            following = next(chars, "")
            out.append(_ESCAPES.get(following, following))
        else:
            out.append(char)
    return "".join(out)


def down(
    project: Path,
    environment: str,
    *,
    dry_run: bool,
    assume_yes: bool,
    timeout: float | None,
    console: Console,
) -> None:
    """`azd down --purge --force`: azd deletes what it provisioned and purges soft-deleted
    resources (API Management, Azure OpenAI) so the same names deploy again."""
    argv = commands.azd_down(project, environment)
    if dry_run:
        console.out(commands.shell_line(argv))
        return
    console.err("preflight:")
    preflight.check_azd(console.err, timeout=timeout)
    preflight.check_azd_login(console.err, timeout=timeout)
    question = (
        f"Delete every Azure resource of azd environment {environment} ({project}) and purge "
        "its soft-deleted ones? This cannot be undone."
    )
    if not assume_yes and console.confirm is not None and not console.confirm(question):
        console.err("nothing deleted")
        return
    completed = watch(
        argv,
        console,
        label=f"azd down ({environment})",
        timeout=timeout,
        still_running_hint="deletion may still be running in Azure: run `tokengate down` again",
        echo_stdout=True,
    )
    if not completed.ok:
        raise TokengateError(
            arm_errors.failure_message("azd down failed", completed),
            exit_code=ExitCode.DEPLOY_FAILED,
        )
    console.out(f"deleted and purged the resources of azd environment {environment}")
