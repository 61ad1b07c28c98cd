"""The `prices` commands: `prices show` (the table in effect) and `prices import` (saved Azure
Retail Prices API pages → tokengate's own format).

Only click is imported here; the price modules load when a command runs.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from generator.commands.edge import PRICES_OPTION, SPEC_ARGUMENT, emit, handles_errors

if TYPE_CHECKING:
    from generator.pricing import Price, PriceTable

_COLUMNS = ("model", "version", "type", "region", "input", "cached", "output", "currency")


@click.group()
def prices() -> None:
    """Show the token prices in effect, or import them from the Azure Retail Prices API."""


@prices.command()
@SPEC_ARGUMENT
@PRICES_OPTION
@handles_errors
def show(spec: Path | None, prices: PriceTable | None) -> None:
    """Print the price table SPEC is costed with: per model, version and deployment type, per
    1M tokens (the shipped table, or --prices FILE, with the spec's own overrides)."""
    from generator import budgets
    from generator.errors import SpecInvalid
    from generator.findings import has_errors
    from generator.pipeline import load_spec
    from generator.pricing import shipped
    from generator.validate import field_findings

    # Only the fields are checked: the table is what a spec whose budgets the rules refuse
    # (TG160, TG161: no price, another currency) needs to be looked at with.
    loaded = load_spec(spec)
    problems = field_findings(loaded)
    if has_errors(problems):
        raise SpecInvalid(problems)
    base = prices or shipped()
    table = budgets.spec_prices(loaded.data, prices)
    click.echo(f"prices: {table.source}")
    click.echo(f"effective: {table.effective}, currency: {table.currency}, per 1M tokens")
    click.echo(_table(table, set(base.prices), "shipped" if prices is None else "--prices"))


def _table(table: PriceTable, from_base: set[Price], base_name: str) -> str:
    from generator.retail_prices import money_text, price_order

    rows = [(*_COLUMNS, "from")]
    for price in sorted(table.prices, key=price_order):
        rows.append(
            (
                price.model,
                price.version or "any",
                price.deployment_type,
                price.region or "-",
                money_text(price.input),
                "-" if price.cached_input is None else money_text(price.cached_input),
                money_text(price.output),
                table.currency,
                base_name if price in from_base else "spec",
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = ("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) for row in rows)
    return "\n".join(line.rstrip() for line in lines)


@prices.command("import")
@click.argument("pages", nargs=-1, required=True, type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--output",
    "-o",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write the table to FILE (for --prices FILE) instead of standard output.",
)
@handles_errors
def import_(pages: tuple[Path, ...], output: Path | None) -> None:
    """Turn saved Azure Retail Prices API pages (PAGES, JSON with Items) into one price table
    in tokengate's own format, sorted, prices as exact decimals; see docs/pricing.md."""
    from generator.retail_prices import import_pages, table_json

    report = import_pages(pages)
    text = table_json(report.table)
    click.echo(report.summary(), err=True)
    if emit(text, output):
        click.echo(f"wrote {output} ({len(report.table.prices)} prices)", err=True)


def register(group: click.Group) -> None:
    """Add `prices` to the top-level group."""
    group.add_command(prices)
