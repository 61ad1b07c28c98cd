"""What is deploying and for how long: a status line on a terminal, plain lines otherwise.

A deployment of API Management runs for many minutes with nothing to read; users need to see it
is alive and where it is. On a terminal one line is rewritten in place; in a CI log (not a
terminal) a line is printed only when a resource changes state, plus a heartbeat, so logs stay
short and readable. The child's own output lines pass through either way.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from typing import Any, TextIO

import click

_CLEAR_LINE = "\r\x1b[K"
_DONE = frozenset({"Succeeded", "Failed", "Canceled"})


@dataclass(frozen=True)
class Operation:
    """One deployment operation: a resource (or a module's nested deployment) and its state."""

    name: str
    resource_type: str
    state: str


def parse_operations(text: str) -> list[Operation] | None:
    """`az deployment operation group list` JSON → operations; None when it is not that."""
    try:
        items: Any = json.loads(text)
    except ValueError:
        return None
    if not isinstance(items, list):
        return None
    operations = []
    for item in items:
        properties = item.get("properties") if isinstance(item, dict) else None
        if not isinstance(properties, dict):
            continue
        target = properties.get("targetResource")
        if not isinstance(target, dict) or not target.get("resourceName"):
            continue  # e.g. the operation that evaluates outputs
        operations.append(
            Operation(
                str(target["resourceName"]),
                str(target.get("resourceType", "")),
                str(properties.get("provisioningState", "")),
            )
        )
    return sorted(operations, key=lambda op: (op.resource_type, op.name))


def clock(seconds: float) -> str:
    whole = int(seconds)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes:02d}:{secs:02d}"


class Progress:
    """Progress of one long-running command, written to `stream`."""

    def __init__(
        self, stream: TextIO, *, interactive: bool, label: str, heartbeat_seconds: float = 60.0
    ) -> None:
        self.stream = stream
        self.interactive = interactive
        self.label = label
        self.heartbeat_seconds = heartbeat_seconds
        self._elapsed = 0.0
        self._operations: list[Operation] = []
        self._states: dict[tuple[str, str], str] = {}
        self._last_plain_line = 0.0
        self._status_shown = False

    def echo(self, text: str) -> None:
        """A line the child printed."""
        self._clear()
        click.echo(f"  | {text}", file=self.stream)
        self._draw()

    def update(self, elapsed: float, operations: list[Operation] | None = None) -> None:
        self._elapsed = elapsed
        if operations is not None:
            self._operations = operations
        if self.interactive:
            self._draw()
            return
        for op in operations or []:
            key = (op.resource_type, op.name)
            if self._states.get(key) != op.state:
                self._states[key] = op.state
                self._plain(f"{op.name} ({op.resource_type}): {op.state}")
        if elapsed - self._last_plain_line >= self.heartbeat_seconds:
            self._plain(f"{self.label}: still running{self._tally()}")

    def finish(self, outcome: str, elapsed: float | None = None) -> None:
        """The last line: how it ended and after how long (default: the last update's time)."""
        self._clear()
        seconds = self._elapsed if elapsed is None else elapsed
        click.echo(f"{self.label}: {outcome} after {clock(seconds)}", file=self.stream)

    def _plain(self, text: str) -> None:
        click.echo(f"[{clock(self._elapsed)}] {text}", file=self.stream)
        self._last_plain_line = self._elapsed

    def _tally(self) -> str:
        if not self._operations:
            return ""
        done = sum(1 for op in self._operations if op.state in _DONE)
        return f" ({done} of {len(self._operations)} resources done)"

    def status_line(self) -> str:
        running = [op.name for op in self._operations if op.state not in _DONE]
        detail = f"  deploying {', '.join(running)}" if running else ""
        return f"{self.label} {clock(self._elapsed)}{self._tally()}{detail}"

    def _draw(self) -> None:
        if not self.interactive:
            return
        width = max(20, shutil.get_terminal_size().columns - 1)
        line = f"{_CLEAR_LINE}{self.status_line()[:width]}"
        click.echo(line, file=self.stream, nl=False, color=True)
        self._status_shown = True

    def _clear(self) -> None:
        if self.interactive and self._status_shown:
            click.echo(_CLEAR_LINE, file=self.stream, nl=False, color=True)
            self._status_shown = False
