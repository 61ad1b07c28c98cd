"""The hostile corpus, run as a user runs it: every bad and warn spec and every broken output
folder through the real `tokengate` command line, one fresh process each.

    python benchmarks/corpus.py

Prints, per kind, the count, the exit codes seen, tracebacks, unlocated errors, files touched
outside the output folder, and the slowest and median wall time. Figures, not pass/fail; the
tests assert the same properties in-process.
"""

from __future__ import annotations

import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SPECS = REPO / "tests" / "fixtures" / "specs"
OUTPUTS = REPO / "tests" / "fixtures" / "outputs" / "bad"
LOCATED = re.compile(r"^[^:\n]+:\d+:\d+: TG\d{3} ", re.M)


def tree(root: Path) -> dict[str, tuple[int, int]]:
    found = {}
    for folder, _, files in os.walk(root):
        for name in files:
            path = Path(folder) / name
            info = path.lstat()
            found[str(path.relative_to(root))] = (info.st_size, info.st_mtime_ns)
    return found


def run(argv: list[str], cwd: Path) -> tuple[int, str, float]:
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "generator", *argv],
        cwd=cwd, capture_output=True, text=True, timeout=60, check=False,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )  # fmt: skip
    return done.returncode, done.stdout + done.stderr, time.perf_counter() - started


def main() -> None:
    kinds = {
        "bad spec": [
            (p, ["render", str(p), "--out", "out"]) for p in sorted((SPECS / "bad").glob("*.yaml"))
        ],
        "warn spec": [
            (p, ["render", str(p), "--out", "out"]) for p in sorted((SPECS / "warn").glob("*.yaml"))
        ],
        "broken output": [
            (p, ["verify", "OUT", "--no-checkov"]) for p in sorted(OUTPUTS.iterdir()) if p.is_dir()
        ],
    }
    for kind, cases in kinds.items():
        codes: Counter[int] = Counter()
        times, tracebacks, unlocated, touched = [], 0, 0, 0
        for source, argv in cases:
            with tempfile.TemporaryDirectory() as scratch:
                cwd = Path(scratch)
                (cwd / "sentinel.txt").write_text("not tokengate's", encoding="utf-8")
                if kind == "broken output":
                    shutil.copytree(source, cwd / "OUT", symlinks=True)
                before = {k: v for k, v in tree(cwd).items() if not k.startswith(("out/", "OUT/"))}
                code, text, elapsed = run(argv, cwd)
                after = {k: v for k, v in tree(cwd).items() if not k.startswith(("out/", "OUT/"))}
                codes[code] += 1
                times.append(elapsed)
                tracebacks += "Traceback" in text
                unlocated += code == 2 and kind == "bad spec" and not LOCATED.search(text)
                touched += before != after or (kind == "bad spec" and (cwd / "out").exists())
        print(
            f"{kind:14} {len(cases):4} cases  exit codes {dict(sorted(codes.items()))}  "
            f"tracebacks {tracebacks}  unlocated {unlocated}  touched outside out/ {touched}  "
            f"median {statistics.median(times):.2f} s  max {max(times):.2f} s"
        )


if __name__ == "__main__":
    main()
