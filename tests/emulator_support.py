"""`tokengate emulate` as a real subprocess on 127.0.0.1 (a free port it picks), for the tests.

Every wait is bounded: the banner within START_SECONDS, the stop within STOP_SECONDS (then the
process is killed and the test fails).
"""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from generator.resources import lab_spec_path

START_SECONDS = 30.0
STOP_SECONDS = 15.0
BANNER_END = "Ctrl-C stops it"


@dataclass
class Emulator:
    url: str
    keys: dict[str, str]
    banner: list[str]
    process: subprocess.Popen[str]
    lines: queue.Queue[str] = field(default_factory=queue.Queue)
    stopped_output: list[str] = field(default_factory=list)
    stderr: str = ""
    returncode: int | None = None

    def metrics(self) -> str:
        with urllib.request.urlopen(self.url + "/metrics", timeout=10) as response:
            body: bytes = response.read()
            return body.decode("utf-8")

    def requests_with_status(self, status: int) -> int:
        total = 0
        for line in self.metrics().splitlines():
            if line.startswith("tokengate_requests_total{") and f'status="{status}"' in line:
                total += int(line.rsplit(" ", 1)[1])
        return total


def lab_data() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(lab_spec_path().read_text(encoding="utf-8"))
    return data


def write_spec(folder: Path, data: dict[str, Any], name: str = "spec.yaml") -> Path:
    path = folder / name
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


def _pump(stream: Any, sink: queue.Queue[str]) -> None:
    for line in stream:
        sink.put(line.rstrip("\n"))
    sink.put("\0EOF")


@contextmanager
def running(
    spec: Path | None, folder: Path, *options: str, env: dict[str, str] | None = None
) -> Iterator[Emulator]:
    """Start the emulator with a keys file in `folder`; stop it with SIGINT (as Ctrl-C does)."""
    keys_file = folder / "keys.json"
    argv = [sys.executable, "-m", "generator", "emulate"]
    argv += [str(spec)] if spec else []
    argv += ["--port", "0", "--keys", str(keys_file), *options]
    process = subprocess.Popen(
        argv,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=folder,
        env={**os.environ, **(env or {})},
    )
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=_pump, args=(process.stdout, lines), daemon=True).start()
    banner: list[str] = []
    deadline = time.monotonic() + START_SECONDS
    try:
        while BANNER_END not in banner:
            try:
                line = lines.get(timeout=max(0.01, deadline - time.monotonic()))
            except queue.Empty:
                raise AssertionError(f"no banner within {START_SECONDS}s: {banner}") from None
            if line == "\0EOF":
                stderr = process.stderr.read() if process.stderr else ""
                raise AssertionError(f"emulate exited {process.wait()}: {banner} {stderr}")
            banner.append(line)
        url = banner[0].split(" at ", 1)[1].split(" ", 1)[0]
        keys = json.loads(keys_file.read_text(encoding="utf-8"))
        emulator = Emulator(url, keys, banner, process, lines)
        yield emulator
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(timeout=STOP_SECONDS)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
                raise AssertionError(f"emulate did not stop within {STOP_SECONDS}s") from None
    rest = []
    while True:
        line = lines.get(timeout=STOP_SECONDS)
        if line == "\0EOF":
            break
        rest.append(line)
    emulator.stopped_output = rest
    emulator.stderr = process.stderr.read() if process.stderr else ""
    emulator.returncode = process.returncode
