"""Emulator benchmark: what the gateway adds on top of the mock model, over real loopback HTTP.

    python benchmarks/emulate.py [--requests 1000] [--concurrency 16]

Two servers, each in its own process on 127.0.0.1: the mock backend alone (the same aiohttp
server and MockBackend, no key check, no limits, no metrics), and `tokengate emulate` with the lab
spec and roomy limits (every request admitted: key check, counter-key resolution, two counts,
metrics; the slow path). For each: latency of sequential requests (median and p95), then
throughput with `--concurrency` requests in flight. The client is aiohttp in this process. Every
loop is bounded by --requests and a timeout. Numbers, not pass/fail; the machine is shared.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml
from aiohttp import ClientSession, ClientTimeout, TCPConnector, web

from generator.emulate import tokens
from generator.emulate.backend import Inbound, MockBackend
from generator.resources import lab_spec_path

PATH = "/openai/deployments/gpt-4o/chat/completions?api-version=2024-10-21"
BODY = {"messages": [{"role": "user", "content": "Say hello to the benchmark."}], "max_tokens": 8}
START_SECONDS = 30


def serve_mock_alone() -> None:
    """The baseline: the mock model behind the same HTTP server, nothing else."""
    backend = MockBackend()

    async def answer(request: web.Request) -> web.Response:
        body = json.loads(await request.read())
        prompt = tokens.prompt_tokens("chat", body)
        inbound = Inbound("chat", request.path, request.query_string, "gpt-4o", "gpt-4o",
                          body, b"", False, False, prompt)  # fmt: skip
        reply = await backend.answer(inbound)
        return web.Response(body=reply.body, content_type="application/json")

    app = web.Application()
    app.router.add_post("/{tail:.*}", answer)
    web.run_app(app, host="127.0.0.1", port=0, access_log=None, print=_print_url)


def _print_url(text: str) -> None:
    # run_app prints "======== Running on http://127.0.0.1:PORT ========"
    for word in text.split():
        if word.startswith("http://"):
            print(f"emulating mock alone at {word} (mock backend)", flush=True)
            print("Ctrl-C stops it", flush=True)


def start(argv: list[str]) -> tuple[subprocess.Popen[str], str]:
    process = subprocess.Popen(argv, stdout=subprocess.PIPE, text=True)
    deadline = time.monotonic() + START_SECONDS
    assert process.stdout is not None
    url = ""
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            break
        if " at http://" in line:
            url = line.split(" at ", 1)[1].split(" ", 1)[0]
        if line.startswith("Ctrl-C stops it"):
            return process, url
    process.kill()
    raise SystemExit(f"server did not start: {argv}")


async def measure(url: str, key: str, requests: int, concurrency: int) -> tuple[list[float], float]:
    headers = {"api-key": key, "Content-Type": "application/json"}
    data = json.dumps(BODY)
    timeout = ClientTimeout(total=30)
    async with ClientSession(connector=TCPConnector(limit=concurrency), timeout=timeout) as session:

        async def one() -> float:
            started = time.perf_counter()
            async with session.post(url + PATH, data=data, headers=headers) as response:
                await response.read()
                if response.status != 200:
                    raise SystemExit(f"{url}: status {response.status}")
            return time.perf_counter() - started

        for _ in range(20):  # warm up connections and caches
            await one()
        latencies = [await one() for _ in range(requests)]
        queue = iter(range(requests))

        async def worker() -> None:
            for _ in queue:
                await one()

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        throughput = requests / (time.perf_counter() - started)
    return latencies, throughput


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--serve-mock-alone", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_mock_alone:
        serve_mock_alone()
        return
    folder = Path(tempfile.mkdtemp(prefix="tokengate-bench-"))
    data = yaml.safe_load(lab_spec_path().read_text(encoding="utf-8"))
    data["openai"][0]["deployments"][0]["capacity"] = 30_000
    data["tokenLimit"].update(tokensPerMinute=10_000_000, quota=10**12)
    for consumer in data["consumers"]:
        consumer.update(tokensPerMinute=10_000_000)
        consumer.pop("quota", None)
        consumer.pop("quotaPeriod", None)
    spec = folder / "roomy.yaml"
    spec.write_text(yaml.safe_dump(data), encoding="utf-8")
    servers = {
        "mock alone": [sys.executable, __file__, "--serve-mock-alone"],
        "emulate": [sys.executable, "-m", "generator", "emulate", str(spec), "--port", "0",
                    "--keys", str(folder / "keys.json"), "--records", str(folder / "m.jsonl")],
    }  # fmt: skip
    results = {}
    for label, argv in servers.items():
        process, url = start(argv)
        try:
            key = ""
            if label == "emulate":
                key = json.loads((folder / "keys.json").read_text())["team-a"]
            results[label] = asyncio.run(measure(url, key, args.requests, args.concurrency))
        finally:
            process.terminate()
            process.wait(timeout=15)
    print(f"{args.requests} requests each; throughput with {args.concurrency} in flight")
    print(f"{'server':<12} {'median ms':>10} {'p95 ms':>8} {'requests/s':>11}")
    for label, (latencies, throughput) in results.items():
        print(
            f"{label:<12} {statistics.median(latencies) * 1000:>10.2f} "
            f"{percentile(latencies, 0.95) * 1000:>8.2f} {throughput:>11,.0f}"
        )
    base, full = results["mock alone"][0], results["emulate"][0]
    median = (statistics.median(full) - statistics.median(base)) * 1000
    p95 = (percentile(full, 0.95) - percentile(base, 0.95)) * 1000
    print(f"added by the gateway over HTTP: median {median:.2f} ms, p95 {p95:.2f} ms")
    print(
        f"the gate alone (admit + complete, in process): {gate_microseconds(spec):.1f} µs a request"
    )


def gate_microseconds(spec: Path, rounds: int = 20_000) -> float:
    """The policy decision without HTTP: resolve, decide, count, as the server calls it."""
    from generator.emulate import policy
    from generator.emulate.gate import Call, Gate
    from generator.pipeline import compile_path
    from generator.simulate import plan as plans

    compiled = compile_path(spec)
    gate = Gate(plans.build(compiled.gateway), policy.limit_headers(compiled.files))
    call = Call("team-a", "ChatCompletions_Create", "gpt-4o", "127.0.0.1",
                {"x-user-id": "bench"}, False, 12)  # fmt: skip
    started = time.perf_counter()
    for _ in range(rounds):
        decision = gate.admit(call)
        assert decision.ticket is not None
        gate.complete(decision.ticket, 12, 8)
    return (time.perf_counter() - started) / rounds * 1e6


if __name__ == "__main__":
    main()
