"""The `simulate` command: replay a trace or a synthetic workload through the spec's limits.

Only click is imported here; the simulation modules load when the command runs.
"""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from generator.commands.edge import (
    PRICES_OPTION,
    SPEC_ARGUMENT,
    handles_errors,
    semantics_options,
)

if TYPE_CHECKING:
    from generator.simulate.plan import Plan
    from generator.simulate.simulation import Simulation
    from generator.simulate.workload import Workload

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|min|h|d)?\s*$")
_UNIT_MS = {"ms": 1, "s": 1000, "m": 60_000, "min": 60_000, "h": 3_600_000, "d": 86_400_000}
#: A synthetic workload holds every request in memory (tens of bytes each, plus text); beyond
#: this many the machine runs out of memory or patience long before the replay says anything.
MAX_SYNTHETIC_REQUESTS = 5_000_000
#: Mean tokens per request beyond any model's context window (a typo, not a workload).
MAX_MEAN_TOKENS = 10_000_000
#: Workloads live between these years: quota periods are calendar dates, which end in 9999.
FIRST_YEAR, LAST_YEAR = 1970, 9998


def _duration_ms(ctx: click.Context, param: click.Parameter, value: str) -> int:
    """`90s`, `30m`, `2h`, `7d` (a bare number is seconds) → milliseconds."""
    match = _DURATION.match(value)
    if not match or float(match.group(1)) <= 0:
        raise click.BadParameter(f"{value!r} is not a duration like 90s, 30m, 2h or 7d")
    milliseconds = int(float(match.group(1)) * _UNIT_MS[match.group(2) or "s"])
    if milliseconds > _MAX_SPAN_MS:
        raise click.BadParameter(f"{value!r} is longer than workloads can last")
    return milliseconds


#: From the first moment of FIRST_YEAR to the last of LAST_YEAR.
_MAX_SPAN_MS = (LAST_YEAR + 1 - FIRST_YEAR) * 366 * _UNIT_MS["d"]


def _finite(ctx: click.Context, param: click.Parameter, value: float) -> float:
    """click's FloatRange lets `inf` and `nan` through; neither is a rate."""
    if not math.isfinite(value):
        raise click.BadParameter(f"{value!r} is not a finite number")
    return value


def _start_ms(ctx: click.Context, param: click.Parameter, value: str | None) -> int | None:
    if value is None:
        return None
    from datetime import datetime

    from generator.simulate.workload import to_ms

    try:
        moment = datetime.fromisoformat(value)
    except ValueError as error:
        raise click.BadParameter(f"{value!r} is not an ISO 8601 date and time") from error
    if moment.tzinfo is None:
        raise click.BadParameter(f"{value!r} has no UTC offset: add Z for UTC")
    if not FIRST_YEAR <= moment.year <= LAST_YEAR:
        raise click.BadParameter(f"{value!r} is outside the years {FIRST_YEAR} to {LAST_YEAR}")
    return to_ms(moment)


SYNTHETIC_OPTIONS = "Synthetic workload (with --synthetic)"


@click.command()
@SPEC_ARGUMENT
@click.option(
    "--trace",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Replay this trace: CSV, JSON Lines (.jsonl) or a JSON array; native columns or a "
    "Log Analytics export (out/queries/llm-usage-export.kql).",
)
@click.option(
    "--trace-format",
    type=click.Choice(["csv", "jsonl", "json"]),
    help="The trace's format when its file name does not say.",
)
@click.option("--synthetic", is_flag=True, help="Generate a seeded workload instead of a trace.")
@click.option("--seed", type=int, default=1, show_default=True, help="Synthetic: random seed.")
@click.option(
    "--duration",
    default="1h",
    show_default=True,
    callback=_duration_ms,
    help="Synthetic: how long (90s, 30m, 2h, 7d).",
)
@click.option(
    "--start",
    callback=_start_ms,
    help="Synthetic: first moment, ISO 8601 with offset  [default: 2025-01-06T00:00:00Z]",
)
@click.option(
    "--rate",
    type=click.FloatRange(min=0, min_open=True),
    callback=_finite,
    default=2.0,
    show_default=True,
    help="Synthetic: requests per minute per consumer.",
)
@click.option(
    "--prompt-tokens",
    type=click.IntRange(min=1, max=MAX_MEAN_TOKENS),
    default=600,
    show_default=True,
    help="Synthetic: mean prompt tokens per request.",
)
@click.option(
    "--completion-tokens",
    type=click.IntRange(min=0, max=MAX_MEAN_TOKENS),
    default=200,
    show_default=True,
    help="Synthetic: mean completion tokens per request.",
)
@click.option(
    "--stream-share",
    type=click.FloatRange(0, 1),
    default=0.25,
    show_default=True,
    help="Synthetic: share of streamed requests.",
)
@click.option(
    "--bursts",
    type=click.IntRange(min=0),
    default=2,
    show_default=True,
    help="Synthetic: one-minute bursts of 10x one consumer's rate.",
)
@semantics_options
@click.option(
    "--latency-ms",
    type=click.IntRange(min=0),
    default=0,
    show_default=True,
    help="Response time of trace rows without one.",
)
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["table", "json"]),
    default="table",
    show_default=True,
    help="A table for people, or one JSON document for scripts.",
)
@click.option(
    "--chart",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Also write a PNG: tokens per minute per counter, limits, refusals (needs matplotlib).",
)
@click.option(
    "--suggest",
    is_flag=True,
    help="Print the smallest limits that refuse at most --max-refused percent of each "
    "counter's requests, as a spec excerpt.",
)
@click.option(
    "--max-refused",
    type=click.FloatRange(0, 100),
    default=1.0,
    show_default=True,
    help="Target of --suggest: percent of a counter's requests that may be refused.",
)
@PRICES_OPTION
@handles_errors
def simulate(spec: Path | None, **options: Any) -> None:
    """Replay traffic through SPEC's token limits: who gets 429 or 403, which limits to pick.

    The report also shows what the token metrics will record.

    Give either --trace FILE or --synthetic. Exit code 2 for a bad spec, trace or option.
    """
    from generator.pipeline import compile_path
    from generator.simulate import plan, report, simulation
    from generator.simulate.semantics import Assumptions

    if bool(options["trace"]) == bool(options["synthetic"]):
        raise click.UsageError("give either --trace FILE or --synthetic")
    if options["chart"]:
        from generator.simulate.chart import require_matplotlib

        require_matplotlib()
    compiled = compile_path(spec, prices=options["prices"])
    gateway_plan = plan.build(compiled.gateway)
    workload = _workload(gateway_plan, options)
    assumptions = Assumptions(
        minute_window=options["minute_window"],
        admission=options["admission"],
        week_start=options["week_start"],
        latency_ms=options["latency_ms"],
    )
    result = simulation.simulate(
        gateway_plan, workload, assumptions, minute_series=bool(options["chart"])
    )
    suggestions: dict[str, Any] = {}
    excerpt = ""
    if options["suggest"]:
        excerpt, suggestions = _suggestions(result, options["max_refused"])
    if options["output_format"] == "json":
        click.echo(report.as_json(result, suggestions), nl=False)
    else:
        click.echo(report.as_table(result), nl=False)
        if excerpt:
            click.echo("\n" + excerpt, nl=False)
    if options["chart"]:
        from generator.simulate.chart import write_chart

        write_chart(result, options["chart"])
        click.echo(f"wrote {options['chart']}", err=True)


def _workload(gateway_plan: Plan, options: dict[str, Any]) -> Workload:
    if options["trace"]:
        from generator.simulate.traces import read_trace

        return read_trace(
            options["trace"], gateway_plan.needs(), trace_format=options["trace_format"]
        )
    from generator.simulate import synthetic

    profile = synthetic.Profile(
        seed=options["seed"],
        duration_ms=options["duration"],
        requests_per_minute=options["rate"],
        prompt_tokens=options["prompt_tokens"],
        completion_tokens=options["completion_tokens"],
        stream_share=options["stream_share"],
        bursts=options["bursts"],
        **({"start_ms": options["start"]} if options["start"] is not None else {}),
    )
    _check_synthetic_size(gateway_plan, profile)
    workload = synthetic.generate(gateway_plan, profile)
    if not len(workload):
        raise click.UsageError("the synthetic workload is empty: raise --rate or --duration")
    return workload


def _check_synthetic_size(gateway_plan: Plan, profile: Any) -> None:
    """Refuse, before generating, a profile whose requests would not fit in memory or whose last
    moment is past the dates quota periods can be computed for."""
    from datetime import UTC, datetime

    from generator.simulate.synthetic import CALLERS_WITHOUT_CONSUMERS
    from generator.simulate.workload import to_ms

    end_ms = profile.start_ms + profile.duration_ms
    if end_ms >= to_ms(datetime(LAST_YEAR + 1, 1, 1, tzinfo=UTC)):
        raise click.UsageError(f"the synthetic workload would end after the year {LAST_YEAR}")
    callers = len(gateway_plan.gateway.consumers) or len(CALLERS_WITHOUT_CONSUMERS)
    minutes = profile.duration_ms / _UNIT_MS["m"]
    burst_minutes = profile.bursts * profile.burst_ms / _UNIT_MS["m"] * profile.burst_factor
    expected = profile.requests_per_minute * (minutes * callers + burst_minutes)
    if expected > MAX_SYNTHETIC_REQUESTS:
        raise click.UsageError(
            f"the synthetic workload would hold {_about(expected)} requests, more than "
            f"{MAX_SYNTHETIC_REQUESTS:,}: lower --rate or --duration"
        )


def _about(count: float) -> str:
    return f"about {count:,.0f}" if math.isfinite(count) else "unboundedly many"


def _suggestions(result: Simulation, max_refused: float) -> tuple[str, dict[str, Any]]:
    """The spec excerpt for the table, and the `suggestions` entry of the JSON report."""
    from generator.simulate import suggest

    found = suggest.suggest(result, max_refused)
    excerpt = suggest.excerpt(result, found, max_refused) if found else ""
    document = {"suggestions": suggest.as_json(found, excerpt, max_refused)}
    return excerpt or "# --suggest: no request is under a token limit\n", document


def register(group: click.Group) -> None:
    """Add this module's commands to the top-level group."""
    group.add_command(simulate)
