"""The `emulate` command: the spec's gateway on this machine, its token limits enforced.

Only click is imported here; aiohttp (the optional extra `emulate`) loads when the command runs.
"""

from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import Any

import click

from generator.commands.edge import (
    PRICES_OPTION,
    SPEC_ARGUMENT,
    handles_errors,
    semantics_options,
)
from generator.errors import TokengateError
from generator.install import extra_hint

#: Printed when the extra is missing.
INSTALL_HINT = f"tokengate emulate needs aiohttp: {extra_hint('emulate')}"


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@click.command(short_help="Run SPEC's gateway locally with its limits.")
@SPEC_ARGUMENT
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=8080,
    show_default=True,
    help="Port to listen on; 0 picks a free one (the banner shows which).",
)
@click.option(
    "--keys",
    "keys_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="JSON file of consumer → subscription key: read, and created (mode 0600) or "
    "completed with new keys. Without it, fresh keys are printed.",
)
@click.option(
    "--backend",
    default="mock",
    show_default=True,
    help="`mock` (deterministic answers, documented token counts) or the URL of a real "
    "endpoint, e.g. https://NAME.openai.azure.com/openai; the path after the API path is appended.",
)
@click.option(
    "--backend-auth",
    type=click.Choice(["auto", "entra", "key"]),
    default="auto",
    show_default=True,
    help="How to authenticate to --backend URL: Entra ID (azure-identity), a key from "
    "--backend-key-env, or auto (Entra ID when azure-identity is installed).",
)
@click.option(
    "--backend-key-env",
    default="AZURE_OPENAI_API_KEY",
    show_default=True,
    help="Environment variable holding the --backend URL's key (--backend-auth key).",
)
@click.option(
    "--backend-timeout",
    type=click.FloatRange(min=0.1),
    default=120.0,
    show_default=True,
    help="Seconds a --backend URL gets to answer one request.",
)
@click.option(
    "--records",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Append Application Insights-shaped customMetrics rows (JSON Lines) to this file.",
)
@click.option(
    "--max-concurrency",
    type=click.IntRange(min=1),
    default=64,
    show_default=True,
    help="Requests handled at once; more wait for a slot.",
)
@click.option(
    "--latency-ms",
    type=click.IntRange(min=0),
    default=0,
    show_default=True,
    help="Mock backend: how long each answer takes.",
)
@click.option(
    "--speed",
    type=click.FloatRange(min=1.0),
    default=1.0,
    show_default=True,
    help="Run the emulated clock N times faster (tests, demos): at 60 a minute window lasts "
    "one second and Retry-After shrinks to match.",
)
@semantics_options
@PRICES_OPTION
@handles_errors
def emulate(spec: Path | None, **options: Any) -> None:
    """Run SPEC's gateway locally: its paths, keys, token limits and token metrics."""
    try:
        import aiohttp  # noqa: F401
    except ImportError as error:
        raise TokengateError(INSTALL_HINT) from error
    from generator.emulate.run import EmulateOptions, run

    host = options["host"]
    if not _is_loopback(host):
        click.echo(
            f"warning: listening on {host}: anyone who can reach it can use the keys' budgets",
            err=True,
        )
    prices = options.pop("prices")
    run(spec, EmulateOptions(**options), prices)


def register(group: click.Group) -> None:
    group.add_command(emulate)
