"""Speed figures of issue 12, each against its floor measured in the same run.

    python benchmarks/run.py [--rounds 15] [--keep-bytecode-env] [--all]

Every sample is a fresh process. The runs of one round (ours and each floor) go in a shuffled
order, so a burst of load from other work on the machine hits both sides alike; figures are
medians over the rounds, with the spread (interquartile range) beside them; `ratio` is the
ratio of the medians (what `met?` judges), `paired` the median of each round's own ratio and
`best` the ratio of the fastest runs, two readings less sensitive to load. The machine this
was written on has 2 cores shared with other jobs: compare the CPU columns (user + system time
of the child, what load disturbs least); wall time is shown too.

Figures and their floors:
- lab render: `python -m generator render` (built-in lab, fresh `out/`) against
  `benchmarks/floor.py render` (bare Jinja2 + PyYAML writing the same files; see there).
  Target: at most 1.15x.
- --help: the `tokengate` console script against `python -c` importing click and printing the
  help of a one-command click group. Target: under 100 ms CPU (the ratio is for reading).
- validate: `python -m generator validate` against `render` of the same spec. Target: at most 1x.

With --all, the figures of the other two scripts follow in the same run, each against its own
floor or target: scale (`benchmarks/render.py --scale`: 10,000 and 75,000 consumers, shared and
distinct budgets; growth exponent <= 1.05, peak RSS under 500 MB) and simulate
(`benchmarks/simulate.py`: a 1M-row CSV against the plain Python reference; ratio <= 1.00).

One warm-up run of each command comes first: it fills tokengate's template cache and Python's
bytecode cache, as the first run after an install does. Python writes no `.pyc` files when
PYTHONDONTWRITEBYTECODE is set (it is on the machine this was written on), which makes every
process compile tokengate's own modules from source; an installed wheel has its `.pyc` files
from pip, so the children run without that variable unless `--keep-bytecode-env` is given.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
CLICK_FLOOR = """
import click

@click.group()
def main():
    "A trivial group."

@main.command()
def hello():
    "Say hello."

main(["--help"])
"""


@dataclass
class Samples:
    cpu: list[float] = field(default_factory=list)
    wall: list[float] = field(default_factory=list)


def run_once(argv: list[str], cwd: Path, env: dict[str, str]) -> tuple[float, float]:
    """(CPU seconds, wall seconds) of one child process, which must succeed."""
    start = time.perf_counter()
    child = subprocess.Popen(
        argv, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    _, status, usage = os.wait4(child.pid, 0)
    wall = time.perf_counter() - start
    child.returncode = os.waitstatus_to_exitcode(status)
    stderr = child.stderr.read().decode() if child.stderr else ""
    if child.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} failed ({child.returncode}): {stderr[-2000:]}")
    return usage.ru_utime + usage.ru_stime, wall


def fresh_folder(root: Path) -> Path:
    return Path(tempfile.mkdtemp(dir=root))


def quartiles(values: list[float]) -> tuple[float, float, float]:
    if len(values) < 4:
        middle = statistics.median(values)
        return min(values), middle, max(values)
    q1, q2, q3 = statistics.quantiles(values, n=4)
    return q1, q2, q3


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--keep-bytecode-env", action="store_true")
    parser.add_argument("--all", action="store_true", help="also the scale and simulate figures")
    args = parser.parse_args()

    env = dict(os.environ)
    if not args.keep_bytecode_env:
        env.pop("PYTHONDONTWRITEBYTECODE", None)
    python = sys.executable
    script = shutil.which("tokengate", path=str(Path(python).parent)) or ""
    help_ours = [script, "--help"] if script else [python, "-m", "generator", "--help"]

    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch)
        data = root / "floor.pickle"
        subprocess.run(
            [python, str(HERE / "floor.py"), "prepare", str(data)], check=True, cwd=root, env=env
        )

        def in_fresh(argv: list[str]) -> Callable[[], tuple[float, float]]:
            return lambda: run_once(argv, fresh_folder(root), env)

        commands: dict[str, Callable[[], tuple[float, float]]] = {
            "render": in_fresh([python, "-m", "generator", "render"]),
            "render floor": in_fresh([python, str(HERE / "floor.py"), "render", str(data), "out"]),
            "help": lambda: run_once(help_ours, root, env),
            "help floor": lambda: run_once([python, "-c", CLICK_FLOOR], root, env),
            "validate": in_fresh([python, "-m", "generator", "validate"]),
        }
        for command in commands.values():  # warm-up: caches filled as after a first run
            command()
        samples = {name: Samples() for name in commands}
        order = list(commands)
        for _ in range(args.rounds):
            random.shuffle(order)
            for name in order:
                cpu, wall = commands[name]()
                samples[name].cpu.append(cpu)
                samples[name].wall.append(wall)

    figures = [
        ("lab render", "render", "render floor", 1.15, None),
        ("--help", "help", "help floor", None, 0.100),
        ("validate vs render", "validate", "render", 1.0, None),
    ]
    print(
        f"{args.rounds} rounds, medians; CPU = user+system of the child; "
        f"PYTHONDONTWRITEBYTECODE {'kept' if args.keep_bytecode_env else 'unset'}"
    )
    header = (
        f"{'figure':<20} {'ours ms':>8} {'(IQR)':>11} {'floor ms':>9} {'(IQR)':>11} "
        f"{'ratio':>6} {'paired':>6} {'best':>6} {'wall ours':>9} {'wall floor':>10} "
        f"{'w.ratio':>7} {'target':>9} met?"
    )
    print(header)
    for label, ours_name, floor_name, ratio_target, absolute_target in figures:
        ours, base = samples[ours_name], samples[floor_name]
        oq1, om, oq3 = quartiles(ours.cpu)
        fq1, fm, fq3 = quartiles(base.cpu)
        wall_ours, wall_floor = statistics.median(ours.wall), statistics.median(base.wall)
        ratio = om / fm
        # Ours and its floor of the same round ran seconds apart, under much the same load.
        paired = statistics.median(o / f for o, f in zip(ours.cpu, base.cpu, strict=True))
        best = min(ours.cpu) / min(base.cpu)  # the least disturbed run of each
        if ratio_target is not None:
            target, met = f"<= {ratio_target:.2f}x", ratio <= ratio_target
        else:
            assert absolute_target is not None
            target, met = f"< {absolute_target * 1e3:.0f} ms", om < absolute_target
        print(
            f"{label:<20} {om * 1e3:>8.0f} {f'{oq1 * 1e3:.0f}-{oq3 * 1e3:.0f}':>11} "
            f"{fm * 1e3:>9.0f} {f'{fq1 * 1e3:.0f}-{fq3 * 1e3:.0f}':>11} {ratio:>5.2f}x "
            f"{paired:>5.2f}x {best:>5.2f}x "
            f"{wall_ours * 1e3:>9.0f} {wall_floor * 1e3:>10.0f} {wall_ours / wall_floor:>6.2f}x "
            f"{target:>9} {'yes' if met else 'NO'}"
        )

    if args.all:
        keep = ["--keep-bytecode-env"] if args.keep_bytecode_env else []
        for title, script, extra in (
            ("scale (target: exponent <= 1.05, peak RSS < 500 MB)", "render.py", ["--scale"]),
            ("simulate, 1M-row CSV (target: cpu ratio <= 1.00)", "simulate.py", keep),
        ):
            print(f"\n{title}", flush=True)
            subprocess.run([python, str(HERE / script), *extra], check=True, env=env)


if __name__ == "__main__":
    main()
