"""Render benchmark: the whole pipeline (load, validate, model, render, limit checks, write) for
the lab spec and for platform-scale specs, against the floor of rendering the same template jobs
with bare Jinja2.

    python benchmarks/render.py [--repeat 3] [--sizes 10,100,1000,5000,10000]
    python benchmarks/render.py --scale [--scale-sizes 10000,75000]

`--scale` (issue 12, item 4) renders two shapes up to the Premium tier's 75,000 subscriptions:
`shared` (consumers spread over three products) and `distinct` (every consumer with its own
budget, 2,000 distinct values: the tier's product limit, as generated tiers). It prints CPU
seconds and peak RSS per size and the growth exponent log(t_large / t_small) / log(n_large /
n_small) between the first and last size (1.0 is linear; target <= 1.05, under 500 MB).

Prints numbers, not pass/fail. Each size runs in a fresh process, so peak memory (max RSS) is
that size's own. Targets (issue 7): 10,000 consumers in under 3 s and 300 MB; time per consumer
flat within 2x from 100 to 10,000 (the ms/consumer column is the marginal cost: total minus
the lab spec's fixed cost, divided by the consumers); `tokengate --help` under 150 ms.
"""

from __future__ import annotations

import argparse
import json
import math
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import jinja2
import yaml

from generator import model
from generator.limits import footprints
from generator.load import load_text
from generator.pipeline import compile_spec
from generator.render import environment, plan
from generator.resources import lab_spec_path
from generator.write import write

TIERS = ("bronze", "silver", "gold")
#: Budgets of the consumers with their own limits (past 100 they become generated tiers).
OWN_BUDGETS = (2_000, 4_000, 8_000, 16_000, 32_000)


def spec_text(consumers: int | None) -> str:
    """The lab spec, or a platform-scale one: consumers spread over three products (tiers),
    every 50th with its own budget from a handful of values."""
    data: dict[str, Any] = yaml.safe_load(lab_spec_path().read_text(encoding="utf-8"))
    if consumers is None:
        return yaml.safe_dump(data, sort_keys=False)
    data["apim"]["sku"] = "PremiumV2"
    data["openai"][0]["deployments"][0]["capacity"] = 30_000
    data["products"] = [
        {"name": "bronze", "tokensPerMinute": 1_000, "quota": 1_000_000, "quotaPeriod": "Monthly"},
        {"name": "silver", "tokensPerMinute": 5_000, "quota": 5_000_000, "quotaPeriod": "Monthly"},
        {"name": "gold", "tokensPerMinute": 20_000},
    ]
    data["consumers"] = [
        {"name": f"app-{i:05d}", "tokensPerMinute": OWN_BUDGETS[(i // 50) % len(OWN_BUDGETS)]}
        if i % 50 == 0
        else {"name": f"app-{i:05d}", "product": TIERS[i % 3]}
        for i in range(consumers)
    ]
    return yaml.safe_dump(data, sort_keys=False)


#: Distinct budgets of the `distinct` scale shape: Premium's product limit.
DISTINCT_BUDGETS = 2_000


def scale_spec_text(consumers: int, shape: str) -> str:
    """A spec of `consumers` consumers, all-shared or all-distinct budgets (see `--scale`)."""
    data: dict[str, Any] = yaml.safe_load(spec_text(consumers))
    if shape == "distinct":
        data["products"] = []
        data["consumers"] = [
            {
                "name": f"app-{i:05d}",
                "tokensPerMinute": 300,
                "quota": 100_000 + i % DISTINCT_BUDGETS,
                "quotaPeriod": "Daily",
            }
            for i in range(consumers)
        ]
    else:
        data["consumers"] = [
            {"name": f"app-{i:05d}", "product": TIERS[i % 3]} for i in range(consumers)
        ]
    return yaml.safe_dump(data, sort_keys=False)


def peak_rss_mib() -> float:
    """This process's own peak RSS. Linux's `ru_maxrss` is not that: `exec` carries over the
    peak of the memory it replaces (the parent's, when spawned), so a child started by a parent
    that had just generated a 75,000-consumer spec reported the parent's peak (distinct 10,000:
    340 MiB shown, 144 MiB real). `VmHWM` belongs to the process's own address space."""
    try:
        with Path("/proc/self/status").open(encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def measure_scale(path: Path) -> dict[str, Any]:
    """Run in a child process: load the spec file, compile and write once; CPU seconds and peak
    RSS (the parent wrote the file, so generating the spec does not count)."""
    from generator.pipeline import load_spec
    from generator.stages import stage_paths

    with tempfile.TemporaryDirectory() as folder:
        start, wall = time.process_time(), time.perf_counter()
        compiled = compile_spec(load_spec(path))
        write(Path(folder) / "out", compiled.files)
        seconds, wall = time.process_time() - start, time.perf_counter() - wall
    prints = footprints(compiled.gateway, compiled.files)
    return {
        "cpu_seconds": seconds,
        "wall_seconds": wall,
        "max_rss_mib": peak_rss_mib(),
        "files": len(compiled.files),
        "stages": 1 + len(stage_paths(compiled.files)),
        "products": len(compiled.gateway.products),
        "largest_template_bytes": max(fp.estimated_bytes for fp in prints.values()),
        "most_resources": max(fp.resources for fp in prints.values()),
    }


def scale_report(sizes: list[int]) -> None:
    print(
        f"{'shape':<9} {'consumers':>9} {'cpu s':>7} {'wall s':>7} {'max RSS MiB':>11} "
        f"{'files':>6} {'stages':>6} {'products':>8} {'largest tmpl B':>14} {'resources':>9}"
    )
    for shape in ("shared", "distinct"):
        cpu: list[float] = []
        for size in sizes:
            with tempfile.TemporaryDirectory() as folder:
                path = Path(folder) / "bench.yaml"
                path.write_text(scale_spec_text(size, shape), encoding="utf-8")
                child = subprocess.run(
                    [sys.executable, __file__, "--scale-child", str(path)],
                    check=True,
                    capture_output=True,
                    text=True,
                )
            r = json.loads(child.stdout)
            cpu.append(r["cpu_seconds"])
            print(
                f"{shape:<9} {size:>9,} {r['cpu_seconds']:>7.2f} {r['wall_seconds']:>7.2f} "
                f"{r['max_rss_mib']:>11.1f} {r['files']:>6} {r['stages']:>6} "
                f"{r['products']:>8} {r['largest_template_bytes']:>14,} {r['most_resources']:>9}"
            )
        if len(sizes) > 1:
            exponent = math.log(cpu[-1] / cpu[0]) / math.log(sizes[-1] / sizes[0])
            print(f"{shape:<9} growth exponent {sizes[0]:,} -> {sizes[-1]:,}: {exponent:.3f}")


def measure_one(consumers: int | None, repeat: int) -> dict[str, Any]:
    """Run in a child process: time the pipeline end to end and report its numbers."""
    text = spec_text(consumers)
    samples = []
    with tempfile.TemporaryDirectory() as folder:
        for attempt in range(repeat):
            out = Path(folder) / f"out{attempt}"
            start = time.perf_counter()
            compiled = compile_spec(load_text(text, "bench.yaml"))
            write(out, compiled.files)
            samples.append(time.perf_counter() - start)
    prints = footprints(compiled.gateway, compiled.files)
    largest = max(prints.items(), key=lambda item: item[1].resources)
    policies = [f.size for p, f in compiled.files.items() if p.endswith(".xml")]
    return {
        "seconds": statistics.median(samples),
        "max_rss_mib": peak_rss_mib(),
        "files": len(compiled.files),
        "bytes": sum(f.size for f in compiled.files.values()),
        "largest_template": largest[0],
        "largest_resources": largest[1].resources,
        "largest_template_bytes": max(fp.estimated_bytes for fp in prints.values()),
        "largest_policy_bytes": max(policies),
        "floor_seconds": bare_jinja_floor(text, repeat),
    }


def bare_jinja_floor(text: str, repeat: int) -> float:
    """The same template jobs through a plain Environment: no validation, model or checks."""
    gateway = model.build(yaml.safe_load(text), source="bench.yaml")
    jobs, _ = plan(gateway)
    ours = environment()
    bare = jinja2.Environment(
        loader=ours.loader,
        trim_blocks=True,
        lstrip_blocks=True,
        autoescape=jinja2.select_autoescape(["xml.j2"]),
    )
    bare.filters.update(ours.filters)
    bare.globals.update(ours.globals)
    compiled = [(bare.get_template(job.template), job.context) for job in jobs]
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        for template, context in compiled:
            template.render(**context)
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def help_time(repeat: int) -> float:
    """Wall time of `tokengate --help` in a fresh interpreter (heavy imports must be lazy)."""
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        subprocess.run(
            [sys.executable, "-m", "generator", "--help"], check=True, capture_output=True
        )
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--sizes", default="10,100,1000,5000,10000")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--scale", action="store_true", help="the 10k-75k growth report")
    parser.add_argument("--scale-sizes", default="10000,75000")
    parser.add_argument("--scale-child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.scale_child is not None:
        print(json.dumps(measure_scale(Path(args.scale_child))))
        return
    if args.scale:
        scale_report([int(size) for size in args.scale_sizes.split(",")])
        return
    if args.child is not None:
        size = None if args.child == "lab" else int(args.child)
        print(json.dumps(measure_one(size, args.repeat)))
        return

    print(f"tokengate --help: {help_time(args.repeat) * 1e3:.0f} ms\n")
    header = (
        f"{'spec':<8} {'total ms':>9} {'ms/consumer':>11} {'jinja floor ms':>14} "
        f"{'max RSS MiB':>11} {'files':>6} {'bytes out':>10} {'most resources':>15} "
        f"{'largest tmpl B':>14} {'largest policy B':>16}"
    )
    print(header)
    baseline = 0.0
    for label in ["lab", *args.sizes.split(",")]:
        child = subprocess.run(
            [sys.executable, __file__, "--child", label, "--repeat", str(args.repeat)],
            check=True,
            capture_output=True,
            text=True,
        )
        r = json.loads(child.stdout)
        if label == "lab":
            baseline = r["seconds"]
        # Marginal cost: what each consumer adds on top of the lab's fixed cost.
        per = "" if label == "lab" else f"{(r['seconds'] - baseline) * 1e3 / int(label):.3f}"
        print(
            f"{label:<8} {r['seconds'] * 1e3:>9.1f} {per:>11} {r['floor_seconds'] * 1e3:>14.1f} "
            f"{r['max_rss_mib']:>11.1f} {r['files']:>6} {r['bytes']:>10,} "
            f"{r['largest_resources']:>6} {r['largest_template']:>8} "
            f"{r['largest_template_bytes']:>14,} {r['largest_policy_bytes']:>16,}"
        )


if __name__ == "__main__":
    main()
