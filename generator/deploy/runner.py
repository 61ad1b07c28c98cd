"""Run one `az`/`azd` child: stream its output, enforce a timeout, forward Ctrl-C.

Why not `subprocess.run`: a deployment runs for many minutes, so its output has to reach the user
while it runs, the caller needs a regular tick (progress display, polling), a hung child must be
stopped cleanly (SIGTERM, then SIGKILL), and Ctrl-C must reach the child as an interrupt so `az`
and `azd` can stop their own work before tokengate exits with 130.
"""

from __future__ import annotations

import os
import queue
import shutil
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from generator.errors import ExitCode, TokengateError

#: Called with ("stdout" | "stderr", line without its line break) as lines arrive.
LineSink = Callable[[str, str], None]
#: Called about every `tick_seconds` with the seconds the child has run.
Tick = Callable[[float], None]

#: How long a terminal's own Ctrl-C (which reaches the child too) gets before we forward one.
_OWN_INTERRUPT_SECONDS = 0.5


@dataclass(frozen=True)
class Completed:
    argv: tuple[str, ...]
    returncode: int
    stdout: str
    stderr: str
    seconds: float

    @property
    def ok(self) -> bool:
        return self.returncode == 0


class ToolMissing(TokengateError):
    """The executable is not on PATH."""

    def __init__(self, tool: str) -> None:
        super().__init__(f"{tool} not found on PATH", exit_code=ExitCode.DEPLOY_FAILED)
        self.tool = tool


class TimedOut(TokengateError):
    """The child ran longer than allowed and was stopped."""

    def __init__(self, argv: Sequence[str], seconds: float) -> None:
        super().__init__(
            f"`{' '.join(argv[:4])} …` did not finish within {seconds:g}s; tokengate stopped it",
            exit_code=ExitCode.DEPLOY_FAILED,
        )


def run(
    argv: Sequence[str],
    *,
    cwd: Path | None = None,
    timeout: float | None = None,
    on_line: LineSink | None = None,
    on_tick: Tick | None = None,
    tick_seconds: float = 0.5,
    grace_seconds: float = 10.0,
) -> Completed:
    """Run `argv` (its first item looked up on PATH) to completion and return what it printed.

    Raises ToolMissing, TimedOut, or KeyboardInterrupt after the child was interrupted.
    """
    executable = shutil.which(argv[0])
    if executable is None:
        raise ToolMissing(argv[0])
    started = time.monotonic()
    process = subprocess.Popen(
        [executable, *argv[1:]],
        cwd=cwd,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        encoding="utf-8",
        errors="replace",
    )
    lines: queue.Queue[tuple[str, str]] = queue.Queue()
    captured: dict[str, list[str]] = {"stdout": [], "stderr": []}
    readers = [
        _reader(process.stdout, "stdout", lines),
        _reader(process.stderr, "stderr", lines),
    ]
    next_tick = started + tick_seconds
    try:
        while True:
            _drain(lines, captured, on_line, wait=min(tick_seconds, 0.1))
            now = time.monotonic()
            if process.poll() is not None:
                # The pipes close with the child, unless a grandchild still holds them.
                for reader in readers:
                    reader.join(timeout=2.0)
                break
            if timeout is not None and now - started > timeout:
                _stop(process, grace_seconds)
                raise TimedOut(argv, timeout)
            if on_tick is not None and now >= next_tick:
                next_tick = now + tick_seconds
                on_tick(now - started)
    except KeyboardInterrupt:
        _interrupt(process, grace_seconds)
        raise
    except BaseException:
        _stop(process, grace_seconds)
        raise
    _drain(lines, captured, on_line, wait=0)
    return Completed(
        argv=tuple(argv),
        returncode=process.returncode,
        stdout="".join(captured["stdout"]),
        stderr="".join(captured["stderr"]),
        seconds=time.monotonic() - started,
    )


def _reader(
    stream: IO[str] | None, name: str, lines: queue.Queue[tuple[str, str]]
) -> threading.Thread:
    def pump() -> None:
        if stream is None:
            return
        with stream:
            for line in stream:
                lines.put((name, line))

    thread = threading.Thread(target=pump, name=f"tokengate-{name}", daemon=True)
    thread.start()
    return thread


def _drain(
    lines: queue.Queue[tuple[str, str]],
    captured: dict[str, list[str]],
    on_line: LineSink | None,
    *,
    wait: float,
) -> None:
    try:
        name, line = lines.get(timeout=wait) if wait > 0 else lines.get_nowait()
    except queue.Empty:
        return
    while True:
        captured[name].append(line)
        if on_line is not None:
            on_line(name, line.rstrip("\r\n"))
        try:
            name, line = lines.get_nowait()
        except queue.Empty:
            return


def _interrupt(process: subprocess.Popen[str], grace_seconds: float) -> None:
    """Ctrl-C: let the child stop as it would on its own Ctrl-C, then stop it harder."""
    if _exited_within(process, _OWN_INTERRUPT_SECONDS):
        return
    if os.name == "posix":
        process.send_signal(signal.SIGINT)
        if _exited_within(process, grace_seconds):
            return
    _stop(process, grace_seconds)


def _stop(process: subprocess.Popen[str], grace_seconds: float) -> None:
    """SIGTERM, and SIGKILL if the child ignores it; always reaps the child."""
    if process.poll() is not None:
        return
    process.terminate()
    if not _exited_within(process, grace_seconds):
        process.kill()
        process.wait()


def _exited_within(process: subprocess.Popen[str], seconds: float) -> bool:
    try:
        process.wait(timeout=seconds)
    except subprocess.TimeoutExpired:
        return False
    return True
