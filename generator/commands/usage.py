"""The `usage` command: chargeback from a Log Analytics export (generator/usage.py).

Only click is imported here; the reader and the price arithmetic load when the command runs.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from generator.commands.edge import PRICES_OPTION, SPEC_ARGUMENT, emit, handles_errors

if TYPE_CHECKING:
    from generator.pricing import PriceTable

STDOUT = "-"


@click.command()
@SPEC_ARGUMENT
@click.option(
    "--trace",
    "export",
    required=True,
    metavar="EXPORT",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="The Log Analytics export (out/queries/llm-usage-export.kql run and saved as CSV, "
    "JSON Lines or a JSON array).",
)
@click.option(
    "--trace-format",
    type=click.Choice(["csv", "jsonl", "json"]),
    help="The export's format when its file name does not say.",
)
@click.option(
    "--csv",
    "csv_file",
    metavar="FILE|-",
    help="Write the figures as CSV (exact costs) to FILE, or to stdout with -.",
)
@click.option(
    "--markdown",
    "markdown_file",
    metavar="FILE|-",
    help="Write them as a Markdown table (costs to the cent) to FILE, or to stdout with -; "
    "the default when neither is given.",
)
@PRICES_OPTION
@handles_errors
def usage(
    spec: Path | None,
    export: Path,
    trace_format: str | None,
    csv_file: str | None,
    markdown_file: str | None,
    prices: PriceTable | None,
) -> None:
    """Chargeback: tokens and cost per consumer, model deployment and month from an export.

    Each request is attributed to its subscription, deployment and calendar month (UTC) and
    priced with SPEC's deployments and price table. Deployments without a price are counted in
    tokens, shown as "no price" and named on stderr. Exit code 2 for a bad spec or export.
    """
    if csv_file == STDOUT and markdown_file == STDOUT:
        raise click.UsageError("only one of --csv and --markdown can write to stdout (-)")
    if csv_file is None and markdown_file is None:
        markdown_file = STDOUT
    from generator import usage as chargeback
    from generator.pipeline import compile_path
    from generator.simulate.traces import read_trace

    gateway = compile_path(spec, prices=prices).gateway
    workload = read_trace(export, chargeback.NEEDS, trace_format=trace_format)
    figures = chargeback.aggregate(gateway, workload)
    for warning in figures.warnings:
        click.echo(f"warning: {warning}", err=True)
    if csv_file is not None:
        _write(csv_file, chargeback.as_csv(figures))
    if markdown_file is not None:
        _write(markdown_file, chargeback.as_markdown(figures))


def _write(target: str, text: str) -> None:
    """`-` is standard output; anything else a file."""
    output = None if target == STDOUT else Path(target)
    if emit(text, output):
        click.echo(f"wrote {target}", err=True)


def register(group: click.Group) -> None:
    """Add this module's commands to the top-level group."""
    group.add_command(usage)
