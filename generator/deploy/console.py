"""Where the deployment flows write, and whether they may ask the user anything.

The command layer builds one from click and the terminal; tests build one around buffers. Results
(what-if summary, outputs, `--dry-run` commands) go to `out`; the running commentary (preflight,
progress, az's own warnings) goes to `err`, so `out` stays clean for scripts.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TextIO


@dataclass(frozen=True)
class Console:
    out: Callable[[str], None]
    err: Callable[[str], None]
    #: The stream progress is drawn on (the one `err` writes to).
    progress_stream: TextIO
    #: `progress_stream` is a terminal: draw a status line instead of printing lines.
    interactive: bool
    #: Asks a yes/no question; None when stdin is not a terminal and nobody can answer.
    confirm: Callable[[str], bool] | None
