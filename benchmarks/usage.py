"""Usage benchmark: `tokengate usage --trace` on a large export against a plain Python floor.

    python benchmarks/usage.py [--rows 1000000] [--repeat 5] [--keep DIR] [--keep-bytecode-env]

Writes the lab spec with a second deployment (gpt-4o-mini) and a Log Analytics export of
--rows requests over three weeks that straddle a month boundary (the columns
`out/queries/llm-usage-export.kql` returns, as the portal exports them), then runs, --repeat
rounds in alternating order, whole processes:

- ours: `python -m generator usage SPEC --trace EXPORT --csv -`, the whole command (spec,
  reader, attribution, pricing, CSV);
- floor: a plain script (FLOOR below): csv.reader, the month as the timestamp's first seven
  characters, a dict of token sums per (month, subscription, deployment), one Decimal cost per
  group from literal prices. It checks nothing (no spec, no validation of cells).

Before timing, both answers (cost per month, consumer and deployment) must agree. Reported:
median CPU seconds (user + system) and wall seconds, and ours/floor.
"""

from __future__ import annotations

import argparse
import csv
import statistics
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml
from processes import child_env, run

from generator.load import load_text
from generator.pipeline import compile_spec
from generator.resources import lab_spec_path
from generator.simulate import plan as plans
from generator.simulate import synthetic
from generator.simulate.workload import iso, to_ms

DAY_MS = 86_400_000
DAYS = 21
START = datetime(2025, 1, 20, tzinfo=UTC)
COLUMNS = (
    "TimeGenerated [UTC]",
    "ApimSubscriptionId",
    "CallerIpAddress",
    "PromptTokens",
    "CompletionTokens",
    "TotalTokens",
    "IsStreamCompletion",
    "DeploymentName",
    "ModelName",
    "TotalTime",
)
MODEL_NAMES = {"gpt-4o": "gpt-4o-2024-11-20", "mini": "gpt-4o-mini-2024-07-18"}

FLOOR = r"""
import csv, sys
from decimal import Decimal
# Literal prices per 1M tokens (prices/azure-openai.json, Global): input, output.
PRICES = {"gpt-4o": (Decimal("2.50"), Decimal("10.00")), "mini": (Decimal("0.15"), Decimal("0.60"))}
sums = {}
with open(sys.argv[1], encoding="utf-8", newline="") as handle:
    rows = csv.reader(handle)
    header = next(rows)
    t, s, p, c, d = (header.index(n) for n in ("TimeGenerated [UTC]", "ApimSubscriptionId",
                     "PromptTokens", "CompletionTokens", "DeploymentName"))
    for row in rows:
        key = (row[t][:7], row[s], row[d])
        entry = sums.get(key)
        if entry is None:
            entry = sums[key] = [0, 0, 0]
        entry[0] += 1
        entry[1] += int(row[p])
        entry[2] += int(row[c])
out = csv.writer(sys.stdout, lineterminator="\n")
for (month, consumer, deployment), (requests, prompt, completion) in sorted(sums.items()):
    rate_in, rate_out = PRICES[deployment]
    cost = (prompt * rate_in + completion * rate_out) / 1_000_000
    cost = f"{cost.normalize():f}"
    out.writerow([month, consumer, deployment, requests, prompt, completion, cost])
"""


def spec_data() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(lab_spec_path().read_text(encoding="utf-8"))
    deployments = data["openai"][0]["deployments"]
    deployments.append(
        {
            "name": "mini",
            "model": "gpt-4o-mini",
            "version": "2024-07-18",
            "sku": "GlobalStandard",
            "capacity": 50,
        }
    )
    return data


def write_case(folder: Path, rows: int) -> tuple[Path, Path]:
    spec = folder / "usage.yaml"
    spec.write_text(yaml.safe_dump(spec_data(), sort_keys=False), encoding="utf-8")
    plan = plans.build(compile_spec(load_text(spec.read_text(), str(spec))).gateway)
    duration = DAYS * DAY_MS
    rate = rows / len(plan.gateway.consumers) / (duration / 60_000)
    workload = synthetic.generate(
        plan,
        synthetic.Profile(duration_ms=duration, requests_per_minute=rate, start_ms=to_ms(START)),
    )
    assert workload.durations is not None
    text = workload.text
    export = folder / "export.csv"
    with export.open("w", encoding="utf-8", newline="") as handle:
        out = csv.writer(handle, lineterminator="\n")
        out.writerow(COLUMNS)
        for i in range(len(workload)):
            prompt, completion = workload.prompt[i], workload.completion[i]
            deployment = text["deployment"][i]
            out.writerow(
                (
                    iso(workload.times[i]),
                    text["consumer"][i],
                    text["client_ip"][i],
                    prompt,
                    completion,
                    prompt + completion,
                    "True" if workload.stream[i] else "False",
                    deployment,
                    MODEL_NAMES[deployment],
                    workload.durations[i],
                )
            )
    return spec, export


def our_answer(output: str) -> list[str]:
    """Our CSV's usage rows in the floor's format."""
    found = []
    for row in csv.DictReader(output.splitlines()):
        if row["row"] == "usage":
            values = (
                row["month"],
                row["consumer"],
                row["deployment"],
                row["requests"],
                row["prompt_tokens"],
                row["completion_tokens"],
                row["cost"],
            )
            found.append(",".join(values))
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--keep", type=Path, help="write the spec and export here and keep them")
    parser.add_argument(
        "--keep-bytecode-env",
        action="store_true",
        help="leave PYTHONDONTWRITEBYTECODE set for the children (see benchmarks/run.py)",
    )
    args = parser.parse_args()
    env = child_env(args.keep_bytecode_env)
    with tempfile.TemporaryDirectory() as scratch:
        folder = args.keep or Path(scratch)
        folder.mkdir(parents=True, exist_ok=True)
        spec, export = write_case(folder, args.rows)
        floor_script = folder / "usage_floor.py"
        floor_script.write_text(FLOOR, encoding="utf-8")
        commands = {
            "ours": [
                *(sys.executable, "-m", "generator", "usage", str(spec)),
                *("--trace", str(export), "--csv", "-"),
            ],
            "floor": [sys.executable, str(floor_script), str(export)],
        }
        run(commands["ours"], env)  # fills the bytecode caches, as the first run after an install
        samples: dict[str, list[tuple[float, float]]] = {name: [] for name in commands}
        answers: dict[str, list[str]] = {}
        for round_number in range(args.repeat):
            names = list(commands)
            for name in names if round_number % 2 == 0 else names[::-1]:
                cpu, wall, output = run(commands[name], env)
                samples[name].append((cpu, wall))
                if round_number == 0:
                    answers[name] = output.splitlines() if name == "floor" else our_answer(output)
        if answers["ours"] != answers["floor"]:
            raise SystemExit(f"ours and the floor disagree:\n{answers['ours']}\n{answers['floor']}")
        rows = sum(int(line.split(",")[3]) for line in answers["floor"])
        median_cpu = {n: statistics.median(c for c, _ in s) for n, s in samples.items()}
        median_wall = {n: statistics.median(w for _, w in s) for n, s in samples.items()}
        paired = statistics.median(
            o[0] / f[0] for o, f in zip(samples["ours"], samples["floor"], strict=True)
        )
        print(
            f"{'export rows':>11} {'groups':>6} {'cpu s':>6} {'floor cpu s':>11} "
            f"{'cpu ratio':>9} {'paired':>6} {'wall s':>6} {'floor wall s':>12} {'wall ratio':>10}"
        )
        ours_cpu, floor_cpu = median_cpu["ours"], median_cpu["floor"]
        ours_wall, floor_wall = median_wall["ours"], median_wall["floor"]
        print(
            f"{rows:>11,} {len(answers['floor']):>6} {ours_cpu:>6.2f} {floor_cpu:>11.2f} "
            f"{ours_cpu / floor_cpu:>9.2f} {paired:>6.2f} {ours_wall:>6.2f} "
            f"{floor_wall:>12.2f} {ours_wall / floor_wall:>10.2f}"
        )


if __name__ == "__main__":
    main()
