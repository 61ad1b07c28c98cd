"""The CLI edge shared by every command: the SPEC argument and the one place errors become exit
codes. It imports only click and `generator.errors`, so command modules can use it without
importing `generator.cli` (which imports them): no import cycle.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from functools import wraps
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from generator.errors import ExitCode, TokengateError

if TYPE_CHECKING:
    from generator.pricing import PriceTable

F = TypeVar("F", bound=Callable[..., Any])


def _choose_spec(ctx: click.Context, param: click.Parameter, value: Path | None) -> Path | None:
    """SPEC, else ./tokengate.yaml, else the built-in lab (None), announced on stderr."""
    from generator.invocation import choose_spec

    chosen, announcement = choose_spec(value)
    if announcement and not ctx.resilient_parsing:
        click.echo(announcement, err=True)
    return chosen


SPEC_ARGUMENT = click.argument(
    "spec",
    required=False,
    type=click.Path(dir_okay=False, path_type=Path),
    callback=_choose_spec,
)


def _read_prices(
    ctx: click.Context, param: click.Parameter, value: Path | None
) -> PriceTable | None:
    """`--prices FILE` → the base price table; a bad file is a usage error (exit 2)."""
    if value is None or ctx.resilient_parsing:
        return None
    from generator.retail_prices import read_price_file

    try:
        return read_price_file(value)
    except TokengateError as error:
        raise click.BadParameter(error.message) from None


#: `--prices FILE` on every command that builds the model: the command gets `prices`, the table
#: to pass on as `compile_path(..., prices=prices)`.
PRICES_OPTION = click.option(
    "--prices",
    "prices",
    metavar="FILE",
    type=click.Path(dir_okay=False, path_type=Path),
    callback=_read_prices,
    help="Price table instead of the shipped one: a saved Azure Retail Prices API page "
    "(JSON with Items) or tokengate's own format (see docs/pricing.md).",
)


def emit(text: str, output: Path | None) -> bool:
    """Print `text` (output None), or write it to `output`, its folder created, with `\n`
    line ends on every platform; True when a file was written. A file that cannot be written
    is a TokengateError naming it (exit code of `handles_errors`), never a traceback."""
    if output is None:
        click.echo(text, nl=False)
        return False
    try:
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(text, encoding="utf-8", newline="\n")
    except OSError as error:
        raise TokengateError(f"{output}: cannot write: {error.strerror or error}") from None
    return True


def handles_errors(command: F) -> F:
    """Print a TokengateError's message on stderr and exit with its code; never a traceback."""

    @wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except TokengateError as error:
            click.echo(error.message, err=True)
            sys.exit(int(error.exit_code))
        except KeyboardInterrupt:
            click.echo("interrupted", err=True)
            sys.exit(int(ExitCode.INTERRUPTED))
        except OSError as error:
            # The last line of defence for file-system trouble no stage turned into a message.
            where = f"{error.filename}: " if error.filename else ""
            click.echo(f"{where}{error.strerror or error}", err=True)
            sys.exit(int(ExitCode.INVALID))

    return wrapper  # type: ignore[return-value]


def semantics_options(command: F) -> F:
    """`--minute-window`, `--admission`, `--week-start`: where Learn is silent on how the token
    limits count, `simulate` and `emulate` take the same choices (stricter default first)."""
    options = (
        click.option(
            "--minute-window",
            type=click.Choice(["sliding", "fixed"]),
            default="sliding",
            show_default=True,
            help="How tokens per minute are counted: any 60 s, or per UTC calendar minute.",
        ),
        click.option(
            "--admission",
            type=click.Choice(["strict", "lenient"]),
            default="strict",
            show_default=True,
            help="With prompt estimation: refuse when the prompt does not fit (strict), or only "
            "once the limit is used up (lenient).",
        ),
        click.option(
            "--week-start",
            type=click.Choice(["monday", "sunday"]),
            default="monday",
            show_default=True,
            help="First day of Weekly quota periods.",
        ),
    )
    for option in reversed(options):
        command = option(command)
    return command
