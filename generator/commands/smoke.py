"""The `smoke` command: the lab's "Test out the policy" and "Test monitoring" against a gateway.

Only click is imported here; the smoke modules load when the command runs.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from generator.commands.edge import PRICES_OPTION, SPEC_ARGUMENT, handles_errors


@click.command(short_help="Test a gateway's limits and metrics.")
@SPEC_ARGUMENT
@click.option("-g", "--resource-group", help="The deployed gateway's resource group (uses az).")
@click.option("--subscription", help="Azure subscription id or name (with -g).")
@click.option("--url", help="Gateway URL (without the API path), e.g. http://127.0.0.1:8080.")
@click.option(
    "--key", help="Subscription key to send (with --url). Prefer --keys: shells keep history."
)
@click.option(
    "--keys",
    "keys_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="JSON file of consumer → key, as tokengate emulate --keys writes it.",
)
@click.option("--consumer", help="Whose key to use  [default: the spec's first consumer]")
@click.option("--deployment", help="Model deployment to call  [default: the first chat model]")
@click.option(
    "--max-requests",
    type=click.IntRange(min=1),
    default=50,
    show_default=True,
    help="Stop after this many requests, refused or not.",
)
@click.option(
    "--max-tokens",
    type=click.IntRange(min=1),
    help="max_tokens of each request  [default: a fifth of the limit, at most 1000]",
)
@click.option(
    "--quota", is_flag=True, help="After the 429, go on (waiting out Retry-After) until 403."
)
@click.option(
    "--max-wait",
    type=click.FloatRange(min=0),
    default=300,
    show_default=True,
    help="With --quota: seconds of Retry-After waits allowed in all.",
)
@click.option("--monitoring", is_flag=True, help="Then wait for the requests' token metrics.")
@click.option(
    "--monitoring-timeout",
    type=click.FloatRange(min=0),
    default=600,
    show_default=True,
    help="Seconds to wait for the metrics (Application Insights ingestion takes minutes).",
)
@click.option(
    "--poll-seconds",
    type=click.FloatRange(min=0.1),
    default=30,
    show_default=True,
    help="Seconds between two looks at the metrics.",
)
@click.option(
    "--request-timeout",
    type=click.FloatRange(min=0.1),
    default=60,
    show_default=True,
    help="Seconds one request may take.",
)
@PRICES_OPTION
@handles_errors
def smoke(spec: Path | None, **options: Any) -> None:
    """Test SPEC's limits and metrics on a running gateway: exit 0 agree, 1 not, 3 unreachable."""
    from generator.smoke.run import SmokeOptions, run

    prices = options.pop("prices")
    run(spec, SmokeOptions(**options), prices)


def register(group: click.Group) -> None:
    group.add_command(smoke)
