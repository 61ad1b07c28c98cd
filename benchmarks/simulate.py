"""Simulate benchmark: requests per second through the whole simulation, synthetic workloads.

    python benchmarks/simulate.py [--sizes 100000,1000000] [--repeat 3]

For each size, two gateways: the lab spec as shipped (most requests over its limits, refused
early) and the lab with roomy limits (nearly every request admitted, counted on arrival and on
response: the slow path). Times are the median of --repeat runs of: generate the synthetic
workload, resolve it against the plan and replay it, and build the report. One process, one
core. Target: 1M requests in under 10 s. Numbers, not pass/fail.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from functools import partial
from typing import Any

import yaml

from generator.load import load_text
from generator.pipeline import compile_spec
from generator.resources import lab_spec_path
from generator.simulate import plan as plans
from generator.simulate import report, simulation, synthetic
from generator.simulate.semantics import Assumptions

#: The synthetic workload spans one day; the rate is set to reach the requested size.
DAY_MS = 86_400_000


def gateway_plan(roomy: bool) -> plans.Plan:
    data: dict[str, Any] = yaml.safe_load(lab_spec_path().read_text(encoding="utf-8"))
    if roomy:
        data["openai"][0]["deployments"][0]["capacity"] = 30_000
        data["tokenLimit"].update(tokensPerMinute=10_000_000, quota=10**12)
        for consumer in data["consumers"]:
            consumer.update(tokensPerMinute=10_000_000)
            consumer.pop("quota", None)
            consumer.pop("quotaPeriod", None)
    spec = load_text(yaml.safe_dump(data, sort_keys=False), "bench.yaml")
    return plans.build(compile_spec(spec).gateway)


def timed(action: Callable[[], Any], repeat: int) -> tuple[float, Any]:
    samples, value = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        value = action()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples), value


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="100000,1000000")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    print(
        f"{'gateway':<14} {'requests':>10} {'generate s':>11} {'replay s':>9} {'report s':>9} "
        f"{'total s':>8} {'requests/s':>11} {'refused':>8}"
    )
    for size in (int(n) for n in args.sizes.split(",")):
        for label, roomy in (("lab", False), ("lab, roomy", True)):
            plan = gateway_plan(roomy)
            consumers = len(plan.gateway.consumers)
            profile = synthetic.Profile(
                duration_ms=DAY_MS, requests_per_minute=size / consumers / (DAY_MS / 60_000)
            )
            generate_s, workload = timed(partial(synthetic.generate, plan, profile), args.repeat)
            replay = partial(simulation.simulate, plan, workload, Assumptions())
            replay_s, result = timed(replay, args.repeat)
            report_s, _ = timed(partial(report.as_json, result), args.repeat)
            total = generate_s + replay_s + report_s
            tally = result.result.tally
            refused = (sum(tally.rate_limited) + sum(tally.quota_exceeded)) / len(workload)
            print(
                f"{label:<14} {len(workload):>10,} {generate_s:>11.2f} {replay_s:>9.2f} "
                f"{report_s:>9.2f} {total:>8.2f} {len(workload) / total:>11,.0f} "
                f"{refused:>8.0%}"
            )


if __name__ == "__main__":
    main()
