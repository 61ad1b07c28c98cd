"""The `deploy`, `up` and `down` commands: thin click wrappers around `generator.deploy`.

Only click is imported at module level (`tokengate --help` stays fast). `generator.cli` imports
this module while it loads, so its SPEC_ARGUMENT and handles_errors are taken in `register`.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import click

if TYPE_CHECKING:
    from generator.deploy.console import Console
    from generator.pipeline import Compiled
    from generator.pricing import PriceTable

Decorator = Callable[[Callable[..., Any]], Callable[..., Any]]

_SUBSCRIPTION = click.option(
    "--subscription", help="Subscription id or name (default: the one az is signed in to)."
)
_TIMEOUT = click.option(
    "--timeout",
    type=click.FloatRange(min=1),
    help=(
        "Stop az/azd and their children (SIGTERM, then SIGKILL) if one step, checks included, "
        "runs longer than this many seconds (default: 120 s for checks, none for deployments)."
    ),
)
_DRY_RUN = click.option(
    "--dry-run", is_flag=True, help="Print the az/azd commands, one per line, and run nothing."
)
_YES = click.option("--yes", "-y", "assume_yes", is_flag=True, help="Do not ask for confirmation.")
_PROJECT = click.option(
    "--project-dir",
    "project",
    default="azd",
    show_default=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder of the azd project (azure.yaml, infra/, azd's .azure/ state).",
)
_ENV = click.option("--env", "environment", help="azd environment name (default: the spec's name).")

DEPLOY_OPTIONS: Sequence[Decorator] = (
    click.option("--resource-group", "-g", help="Target resource group (default: the spec's)."),
    _SUBSCRIPTION,
    click.option(
        "--location",
        "-l",
        help="Region of the resource group and deployment record (default: the spec's location).",
    ),
    click.option(
        "--out",
        default="out",
        show_default=True,
        type=click.Path(file_okay=False, path_type=Path),
        help="Folder the templates are rendered into.",
    ),
    click.option("--what-if", "what_if_only", is_flag=True, help="Preview the changes only."),
    _DRY_RUN,
    _YES,
    click.option(
        "--force", is_flag=True, help="Overwrite files in OUT that tokengate did not write."
    ),
    _TIMEOUT,
)
UP_OPTIONS: Sequence[Decorator] = (
    _ENV,
    _SUBSCRIPTION,
    click.option(
        "--location", "-l", help="Region of a new azd environment (default: the spec's location)."
    ),
    _PROJECT,
    _DRY_RUN,
    _TIMEOUT,
)
DOWN_OPTIONS: Sequence[Decorator] = (
    click.option(
        "--resource-group",
        "-g",
        help="Delete this resource group (plain deployment) instead of the azd environment.",
    ),
    _SUBSCRIPTION,
    _ENV,
    _PROJECT,
    _DRY_RUN,
    _YES,
    _TIMEOUT,
    click.option(
        "--delete-foreign-resources",
        is_flag=True,
        help=(
            "Delete the resource group even if it holds resources not tagged "
            "tokengate-gateway=<this gateway> (without it, down refuses and lists them)."
        ),
    ),
)


def deploy(spec: Path | None, **options: Any) -> None:
    """Render SPEC and deploy it to a resource group with `az deployment`.

    Checks az, sign-in, Bicep and resource providers first, shows the what-if and asks before
    deploying (on a terminal; elsewhere pass --yes). Exit 3 when az fails, 130 on Ctrl-C.
    """
    from generator.deploy.az_flow import DeployOptions
    from generator.deploy.az_flow import deploy as run_deploy

    with _writing_nothing_on_dry_run(options):
        compiled = _compiled(spec, options.pop("prices"), options.get("out"))
        with _redacted_errors():
            run_deploy(compiled, DeployOptions(**options), _console())


def up(spec: Path | None, **options: Any) -> None:
    """Write an azd project for SPEC and run `azd up` in it.

    The project's infra/main.bicep works at subscription scope: it creates the resource group
    (deployment.resourceGroup in the spec, else rg-<env>) and deploys the gateway into it.
    """
    from generator.deploy.azd_flow import UpOptions
    from generator.deploy.azd_flow import up as run_up

    with _writing_nothing_on_dry_run(options):
        compiled = _compiled(spec, options.pop("prices"))
        with _redacted_errors():
            run_up(compiled, UpOptions(**options), _console())


def down(spec: Path | None, **options: Any) -> None:
    """Delete what `up` or `deploy` created for SPEC, and purge what Azure soft-deleted.

    With an azd project (from `up`): `azd down --purge --force`. Otherwise: delete the resource
    group, then purge its soft-deleted API Management and Azure OpenAI resources, which would
    block a redeploy with the same names. The group is deleted only when all it holds is tagged
    tokengate-gateway=<this gateway> (else --delete-foreign-resources). Always asks first,
    unless --yes.
    """
    from generator.deploy.teardown import DownOptions
    from generator.deploy.teardown import down as run_down

    with _writing_nothing_on_dry_run(options):
        compiled = _compiled(spec, options.pop("prices"))
        with _redacted_errors():
            run_down(compiled, DownOptions(**options), _console())


def _writing_nothing_on_dry_run(options: dict[str, Any]) -> AbstractContextManager[None]:
    """A dry run writes nothing anywhere: not even the compiled-template cache."""
    from generator import template_cache

    return template_cache.writing_nothing(bool(options.get("dry_run")))


def _compiled(spec: Path | None, prices: PriceTable | None, out: Path | None = None) -> Compiled:
    from generator.findings import format_report
    from generator.invocation import DEFAULT_OUT
    from generator.pipeline import compile_path

    compiled = compile_path(spec, out or DEFAULT_OUT, prices)
    if compiled.warnings:
        click.echo(format_report(compiled.warnings), err=True)
    return compiled


@contextmanager
def _redacted_errors() -> Iterator[None]:
    """Error messages quote az/ARM; redact them before the CLI edge prints them."""
    from generator.deploy.redact import redact
    from generator.errors import TokengateError

    try:
        yield
    except TokengateError as error:
        error.message = redact(error.message)
        raise


def _console() -> Console:
    """Click's streams, with every line redacted: results and commentary quote az output."""
    from generator.deploy.console import Console
    from generator.deploy.redact import redact

    stderr = sys.stderr

    def confirm(question: str) -> bool:
        try:
            return click.confirm(question, default=False, err=True)
        except click.Abort:  # Ctrl-C at the prompt: the same exit (130) as anywhere else
            raise KeyboardInterrupt from None

    return Console(
        out=lambda line: click.echo(redact(line)),
        err=lambda line: click.echo(redact(line), err=True),
        progress_stream=stderr,
        interactive=stderr.isatty(),
        confirm=confirm if sys.stdin.isatty() else None,
    )


def _decorated(function: Callable[..., Any], options: Sequence[Decorator]) -> Callable[..., Any]:
    for option in reversed(options):
        function = option(function)
    return function


def register(group: click.Group) -> None:
    """Add `deploy`, `up` and `down` to the top-level group."""
    from generator.commands.edge import PRICES_OPTION, SPEC_ARGUMENT, handles_errors

    spec_argument = cast(Decorator, SPEC_ARGUMENT)
    prices_option = cast(Decorator, PRICES_OPTION)
    for function, options in ((deploy, DEPLOY_OPTIONS), (up, UP_OPTIONS), (down, DOWN_OPTIONS)):
        callback = _decorated(handles_errors(function), (*options, prices_option))
        group.command(function.__name__, help=function.__doc__)(spec_argument(callback))
