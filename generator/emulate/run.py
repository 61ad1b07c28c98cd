"""`tokengate emulate` end to end: compile the spec, build the gate, print the banner, serve."""

from __future__ import annotations

import asyncio
import os
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import click

from generator.emulate import policy
from generator.emulate.backend import Credential, ForwardingBackend, MockBackend
from generator.emulate.gate import Gate
from generator.emulate.keys import consumer_keys
from generator.emulate.metrics import RECORDS_PATH, Metrics
from generator.emulate.server import Backend, Emulator, serve
from generator.errors import TokengateError
from generator.findings import format_report
from generator.model import Gateway, Limit
from generator.pipeline import compile_path
from generator.pricing import PriceTable
from generator.simulate import plan as plans
from generator.simulate.semantics import Assumptions


@dataclass(frozen=True)
class EmulateOptions:
    host: str
    port: int
    keys_file: Path | None
    backend: str
    backend_auth: str
    backend_key_env: str
    backend_timeout: float
    records: Path | None
    max_concurrency: int
    latency_ms: int
    speed: float
    minute_window: str
    admission: str
    week_start: str


def describe(limit: Limit | None) -> str:
    if limit is None or limit.is_empty:
        return "no token limit"
    parts = []
    if limit.tokens_per_minute is not None:
        parts.append(f"{limit.tokens_per_minute:,} tokens/min")
    if limit.quota is not None:
        parts.append(f"{limit.quota:,} tokens {limit.quota_period}")
    return ", ".join(parts)


def example_path(gateway: Gateway) -> str:
    prefix = "/" + gateway.api.path.strip("/") if gateway.api.path.strip("/") else ""
    if gateway.api.family == "llm":
        return f"POST {prefix}/chat/completions (model in the body)"
    deployment = gateway.accounts[0].deployments[0].name
    return (
        f"POST {prefix}/deployments/{deployment}/chat/completions"
        f"?api-version={gateway.api.api_version}"
    )


def _backend(options: EmulateOptions) -> Backend:
    if options.backend == "mock":
        return MockBackend(options.latency_ms)
    if not options.backend.startswith(("https://", "http://")):
        raise TokengateError(f"--backend {options.backend!r}: use `mock` or an http(s) URL")
    import aiohttp

    credential = Credential(options.backend_auth, options.backend_key_env)
    return ForwardingBackend(
        options.backend, credential, aiohttp.ClientSession, options.backend_timeout
    )


def run(spec: Path | None, options: EmulateOptions, prices: PriceTable | None = None) -> None:
    compiled = compile_path(spec, prices=prices)
    if compiled.warnings:
        click.echo(format_report(compiled.warnings), err=True)
    gateway = compiled.gateway
    gateway_plan = plans.build(gateway)
    unread = [
        b.counter_key_text for b in gateway_plan.budgets for f in b.counter_key.fields if f.source
    ]
    if unread:
        click.echo(
            f"warning: the emulator cannot evaluate {unread[0]}; such a counter key reads as "
            "empty, so all requests under it share one counter",
            err=True,
        )
    assumptions = Assumptions(
        minute_window=options.minute_window,  # type: ignore[arg-type]
        admission=options.admission,  # type: ignore[arg-type]
        week_start=options.week_start,  # type: ignore[arg-type]
    )
    gate = Gate(gateway_plan, policy.limit_headers(compiled.files), assumptions, options.speed)
    names = policy.key_names(compiled.files)
    keys = consumer_keys((c.name for c in gateway.consumers), options.keys_file)
    backend = _backend(options)
    metrics = Metrics(
        gateway.token_metrics.namespace if gateway.token_metrics else "", options.records
    )
    emulator = Emulator(
        gateway, gate, keys, names, backend, metrics, max_concurrency=options.max_concurrency
    )
    limits = {c.name: c.limit for c in gateway.consumers}
    default = gateway.token_limit.default if gateway.token_limit else None
    products = {c.name: c.product for c in gateway.consumers}

    def ready(url: str) -> None:
        which = "mock backend" if options.backend == "mock" else f"backend {options.backend}"
        click.echo(f"emulating {compiled.spec.file} at {url} ({which})")
        click.echo(f"  call     {example_path(gateway)}")
        click.echo(f"  key      header {names.header} or query parameter {names.query}")
        width = max(len(name) for name in keys)
        for name, key in keys.items():
            shown = f"{key[:4]}… in {options.keys_file}" if options.keys_file else key
            where = f"product {products[name]}, " if products.get(name) else ""
            budget = where + describe(limits.get(name, default))
            click.echo(f"  {name:<{width}}  {shown}  ({budget})")
        click.echo(f"  metrics  {url}/metrics (Prometheus), {url}{RECORDS_PATH} (customMetrics)")
        if options.records:
            click.echo(f"  records  appended to {options.records}")
        if options.speed != 1:
            click.echo(f"  clock    {options.speed:g}x real time")
        click.echo("Ctrl-C stops it")

    try:
        asyncio.run(serve(emulator, options.host, options.port, ready))
    except OSError as error:
        reason = os.strerror(error.errno).lower() if error.errno else str(error)
        raise TokengateError(f"cannot listen on {options.host}:{options.port}: {reason}") from error
    by_status: Counter[int] = Counter()
    for (_, status), count in metrics.requests.items():
        by_status[status] += count
    summary = ", ".join(f"{count} x {status}" for status, count in sorted(by_status.items()))
    click.echo(
        f"stopped after {sum(by_status.values())} requests" + (f": {summary}" if summary else "")
    )
