"""Timing whole child processes, the same way in every benchmark script.

The children run without PYTHONDONTWRITEBYTECODE (unless asked to keep it), as
benchmarks/run.py explains: after one warm-up run tokengate's modules load from `.pyc` files,
as from an installed wheel, instead of being compiled from source in every timed run.
"""

from __future__ import annotations

import os
import resource
import subprocess
import time


def child_env(keep_bytecode_env: bool) -> dict[str, str]:
    env = dict(os.environ)
    if not keep_bytecode_env:
        env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


def run(command: list[str], env: dict[str, str]) -> tuple[float, float, str]:
    """CPU seconds (user + system) and wall seconds of one whole process, and its stdout."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, check=False, env=env)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode:
        raise SystemExit(f"{command} failed ({done.returncode}):\n{done.stderr}")
    cpu = after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime
    return cpu, wall, done.stdout
