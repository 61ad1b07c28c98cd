"""The command line: the top-level group; every command is registered one way, by its module's
`register(group)` (generator/commands/). Errors become exit codes only in
`generator.commands.edge.handles_errors`.

Heavy modules (jinja2, jsonschema, the Azure CLI) are imported inside commands, so
`tokengate --help` starts fast.
"""

from __future__ import annotations

import gc

import click

from generator import __version__
from generator.commands.core import SCHEMA_FILE_NAME

__all__ = ["SCHEMA_FILE_NAME", "WORKFLOW_ORDER", "main"]

#: `tokengate --help` lists commands in the order of the workflow, not alphabetically.
WORKFLOW_ORDER = (
    "init",
    "schema",
    "validate",
    "render",
    "verify",
    "diff",
    "simulate",
    "emulate",
    "smoke",
    "deploy",
    "up",
    "down",
    "prices",
    "usage",
    "ci",
    "rules",
)


class WorkflowGroup(click.Group):
    """Commands in workflow order, each with its whole first sentence (click cuts at ~45)."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        known = [name for name in WORKFLOW_ORDER if name in self.commands]
        return known + sorted(set(self.commands) - set(known))

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = []
        for name in self.list_commands(ctx):
            command = self.get_command(ctx, name)
            if command is not None and not command.hidden:
                rows.append((name, command.get_short_help_str(limit=10_000)))
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)


@click.group(cls=WorkflowGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="tokengate")
def main() -> None:
    """Turn one YAML spec into an Azure AI gateway: Azure OpenAI behind API Management, with
    token limits (control) and token metrics (monitoring).

    SPEC defaults to ./tokengate.yaml when it exists, else the built-in lab spec (said on
    stderr). Exit codes: 0 ok, 1 would change (--check) or disagree, 2 invalid input, 3 deploy
    failed or unreachable, 130 interrupted.
    """
    # A command imports ~200 modules and builds many objects but few reference cycles: the
    # default collection every 700 allocations cost ~7% of a lab render (benchmarks/run.py).
    # Collections still run, 1/14th as often; memory held by cycles stays bounded.
    gc.set_threshold(10_000, 10, 10)


def _register_commands() -> None:
    from generator.commands import register_all

    register_all(main)


_register_commands()
