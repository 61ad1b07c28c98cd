"""Run one `az`/`azd` child: stream its output, enforce a timeout, forward Ctrl-C and SIGTERM.

Why not `subprocess.run`: a deployment runs for many minutes, so its output has to reach the user
while it runs, the caller needs a regular tick (progress display, polling), a hung child must be
stopped cleanly (SIGTERM, then SIGKILL), and Ctrl-C must reach the child as an interrupt so `az`
and `azd` can stop their own work before tokengate exits with 130.

`az` is a shell script that starts Python, and `azd` starts `az`, `bicep` and terraform: stopping
only the direct child leaves its children running (and holding our pipes). So every child gets a
process group of its own (`start_new_session`) and is stopped as a group (`os.killpg`). A new
session also keeps the terminal's Ctrl-C away from the child; tokengate forwards it, once.
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

#: Default seconds a child group gets to exit after SIGINT/SIGTERM before SIGKILL.
GRACE_SECONDS = 10.0


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
    grace_seconds: float = GRACE_SECONDS,
) -> Completed:
    """Run `argv` (its first item looked up on PATH) to completion and return what it printed.

    Raises ToolMissing, TimedOut, or KeyboardInterrupt after the child's process group was
    interrupted (Ctrl-C) or terminated (tokengate got SIGTERM).
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
        start_new_session=os.name == "posix",
    )
    lines: queue.Queue[tuple[str, str]] = queue.Queue()
    captured: dict[str, list[str]] = {"stdout": [], "stderr": []}
    readers = [
        _reader(process.stdout, "stdout", lines),
        _reader(process.stderr, "stderr", lines),
    ]
    next_tick = started + tick_seconds
    previous_handler = _raise_on_sigterm()
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
    except _Terminated:
        _stop(process, grace_seconds)
        raise KeyboardInterrupt from None
    except BaseException:
        _stop(process, grace_seconds)
        raise
    finally:
        _restore_sigterm(previous_handler)
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


class _Terminated(Exception):
    """tokengate itself got SIGTERM (a CI job cancelled, `kill`): stop the child, then exit."""


def _on_sigterm(number: int, frame: object) -> None:
    raise _Terminated


def _raise_on_sigterm() -> object:
    """Turn SIGTERM into `_Terminated` while a child runs; returns the handler to restore."""
    try:
        return signal.signal(signal.SIGTERM, _on_sigterm)
    except ValueError:  # not the main thread: signals cannot be handled here
        return None


def _restore_sigterm(previous: object) -> None:
    if previous is not None:
        signal.signal(signal.SIGTERM, previous)  # type: ignore[arg-type]


def _signal_group(process: subprocess.Popen[str], number: int) -> bool:
    """Send `number` to the child's whole process group; False when nothing is left in it.

    The group id is the child's pid (`start_new_session`); it stays valid while any member
    lives, even after the child itself was reaped.
    """
    if os.name != "posix":
        if process.poll() is not None:
            return False
        process.terminate()
        return True
    try:
        os.killpg(process.pid, number)
    except ProcessLookupError:
        return False
    except PermissionError:  # a member changed its user: at least reach the child
        if process.poll() is None:
            process.send_signal(number)
    return True


def _group_alive(group: int) -> bool:
    """Whether any process of `group` still runs. Zombies do not count: an orphan stays one
    until its new parent reaps it, and a container's init may never do that."""
    proc = Path("/proc")
    if not proc.is_dir():
        try:
            os.killpg(group, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text(encoding="ascii", errors="replace")
        except OSError:
            continue
        # `pid (comm) state ppid pgrp ...`; comm may hold spaces and parentheses.
        fields = stat[stat.rfind(")") + 2 :].split()
        if len(fields) >= 3 and fields[2] == str(group) and fields[0] not in ("Z", "X"):
            return True
    return False


def _group_gone_within(process: subprocess.Popen[str], seconds: float) -> bool:
    """Wait for the child to exit (reaping it) and every other member of its group too."""
    deadline = time.monotonic() + seconds
    if not _exited_within(process, seconds):
        return False
    if os.name != "posix":
        return True
    while _group_alive(process.pid):
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.05)
    return True


def _interrupt(process: subprocess.Popen[str], grace_seconds: float) -> None:
    """Ctrl-C: let the child's group stop as it would on its own Ctrl-C, then stop it harder."""
    interrupted = os.name == "posix" and _signal_group(process, signal.SIGINT)
    if interrupted and _group_gone_within(process, grace_seconds):
        return
    _stop(process, grace_seconds)


def _stop(process: subprocess.Popen[str], grace_seconds: float) -> None:
    """SIGTERM to the group, SIGKILL to whatever ignores it; always reaps the child."""
    if _signal_group(process, signal.SIGTERM) and not _group_gone_within(process, grace_seconds):
        if os.name == "posix":
            _signal_group(process, signal.SIGKILL)
        else:
            process.kill()
    process.wait()


def _exited_within(process: subprocess.Popen[str], seconds: float) -> bool:
    try:
        process.wait(timeout=seconds)
    except subprocess.TimeoutExpired:
        return False
    return True
