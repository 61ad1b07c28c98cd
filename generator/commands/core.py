"""The core commands: `init`, `schema`, `validate`, `render` and `rules`.

Like every command module, it imports only click (and the CLI edge) at module level; the
stages load inside each command, so `tokengate --help` stays fast.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from generator.commands.edge import PRICES_OPTION, SPEC_ARGUMENT, handles_errors
from generator.errors import ExitCode, TokengateError

if TYPE_CHECKING:
    from generator.pipeline import Compiled
    from generator.pricing import PriceTable
    from generator.render import RenderedFile

#: What `init` calls the schema file it writes next to the spec for editors.
SCHEMA_FILE_NAME = "tokengate.schema.json"


@click.command()
@click.argument(
    "path",
    required=False,
    default="tokengate.yaml",
    type=click.Path(dir_okay=False, path_type=Path),
)
@click.option("--force", is_flag=True, help="Overwrite an existing file.")
@handles_errors
def init(path: Path, force: bool) -> None:
    """Write a commented starter spec (the lab scenario) to PATH."""
    import json

    from generator.invocation import shown
    from generator.resources import lab_spec_path, spec_schema

    schema_path = path.with_name(SCHEMA_FILE_NAME)
    for existing in (path, schema_path):
        if (existing.exists() or existing.is_symlink()) and not force:
            raise TokengateError(f"{existing} already exists; pass --force to overwrite it")
    lines = lab_spec_path().read_text(encoding="utf-8").splitlines(keepends=True)
    # Point the editor hint at a schema file written next to the spec.
    lines[0] = f"# yaml-language-server: $schema={SCHEMA_FILE_NAME}\n"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(lines), encoding="utf-8")
    schema_path.write_text(json.dumps(spec_schema(), indent=2) + "\n", encoding="utf-8")
    click.echo(f"wrote {path} and {schema_path}")
    click.echo(f"next: tokengate validate {shown(path)} && tokengate render {shown(path)}")


@click.command()
@handles_errors
def schema() -> None:
    """Print the JSON Schema (draft 2020-12) of the spec."""
    import json

    from generator.resources import spec_schema

    click.echo(json.dumps(spec_schema(), indent=2))


@click.command()
@handles_errors
def rules() -> None:
    """List every rule id the tool can print, grouped by the stage that checks it."""
    from itertools import groupby

    from generator.rules import every_rule

    groups = [
        "\n".join(
            [f"{stage.label}: {stage.description}"]
            + [f"  {rule.rule_id}  {rule.title}" for rule in stage_rules]
        )
        for stage, stage_rules in groupby(every_rule(), key=lambda rule: rule.stage)
    ]
    click.echo("\n\n".join(groups))


@click.command()
@SPEC_ARGUMENT
@PRICES_OPTION
@handles_errors
def validate(spec: Path | None, prices: PriceTable | None) -> None:
    """Check SPEC against the schema and the rules; print its warnings."""
    from generator.findings import format_report
    from generator.pipeline import compile_path

    compiled = compile_path(spec, prices=prices)
    if compiled.warnings:
        click.echo(format_report(compiled.warnings), err=True)
    click.echo(f"{compiled.spec.file}: valid")


@click.command()
@SPEC_ARGUMENT
@click.option(
    "--out",
    "out",
    default="out",
    show_default=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Output folder.",
)
@click.option(
    "--check", is_flag=True, help="Write nothing; exit 1 and list the files that would change."
)
@click.option("--force", is_flag=True, help="Overwrite files in OUT that tokengate did not write.")
@PRICES_OPTION
@handles_errors
def render(
    spec: Path | None, out: Path, check: bool, force: bool, prices: PriceTable | None
) -> None:
    """Render SPEC into Bicep modules, policy XML, queries and SUMMARY.md under OUT."""
    from generator import template_cache
    from generator.findings import format_report
    from generator.invocation import render_command
    from generator.pipeline import compile_path
    from generator.write import plan, write

    with template_cache.writing_nothing(check):
        compiled = compile_path(spec, out, prices)
    if compiled.warnings:
        click.echo(format_report(compiled.warnings), err=True)
    files = _rendered_set(compiled)
    if check:
        todo = plan(out, files)
        if todo.interrupted:
            click.echo(
                f"{out}: an earlier render or deploy was interrupted while publishing, so the "
                "folder may mix old and new files",
                err=True,
            )
        if todo.has_changes:
            click.echo(f"{out}: out of date with {compiled.spec.file}:")
            for line in todo.lines():
                click.echo(f"  {line}")
            click.echo(f"run `{render_command(spec, out)}` to update it")
            sys.exit(int(ExitCode.CHANGED))
        click.echo(f"{out}: up to date ({len(todo.unchanged)} files)")
        return
    done = write(out, files, force=force)
    if done.interrupted:
        click.echo(f"{out}: finished an earlier write that was interrupted")
    for line in done.lines():
        click.echo(f"  {line}")
    click.echo(
        f"{out}: {len(done.added)} added, {len(done.changed)} changed, "
        f"{len(done.removed)} removed, {len(done.unchanged)} unchanged"
    )


def _rendered_set(compiled: Compiled) -> dict[str, RenderedFile]:
    """What `render` writes: the set `deploy` writes for the spec's own target, so the two never
    remove each other's files. At subscription scope with the resource group named in the spec
    that adds `subscription.bicep` and `subscription.parameters.json`."""
    from generator.deploy.target import SUBSCRIPTION_SCOPE, resolve

    wanted = compiled.gateway.target
    if wanted.scope != SUBSCRIPTION_SCOPE or wanted.resource_group is None:
        return compiled.files
    from generator.deploy import layout  # only here: most renders never need it

    target = resolve(compiled, resource_group=None, location=None, subscription=None)
    return layout.deploy_files(compiled, target)


def register(group: click.Group) -> None:
    """Add the core commands to the top-level group."""
    for command in (init, schema, validate, render, rules):
        group.add_command(command)
