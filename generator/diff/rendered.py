"""The unified diff of two sets of rendered files, file by file in path order."""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from dataclasses import dataclass

#: Lines of context around each change, as `diff -u` (and GitHub) show them.
CONTEXT_LINES = 3


@dataclass(frozen=True)
class FileDiff:
    path: str
    status: str  # added | removed | changed
    lines: tuple[str, ...]

    @property
    def added(self) -> int:
        return sum(1 for line in self.lines if line.startswith("+") and not line.startswith("+++"))

    @property
    def removed(self) -> int:
        return sum(1 for line in self.lines if line.startswith("-") and not line.startswith("---"))


def file_diffs(old: Mapping[str, str], new: Mapping[str, str]) -> list[FileDiff]:
    diffs = []
    for path in sorted(old.keys() | new.keys()):
        before, after = old.get(path), new.get(path)
        if before == after:
            continue
        status = "added" if before is None else "removed" if after is None else "changed"
        lines = difflib.unified_diff(
            (before or "").splitlines(keepends=True),
            (after or "").splitlines(keepends=True),
            fromfile="/dev/null" if before is None else f"a/{path}",
            tofile="/dev/null" if after is None else f"b/{path}",
            n=CONTEXT_LINES,
        )
        diffs.append(FileDiff(path, status, tuple(_terminated(line) for line in lines)))
    return diffs


def _terminated(line: str) -> str:
    """Every line ends in a newline, the last line of a file without one included."""
    return line if line.endswith("\n") else line + "\n\\ No newline at end of file\n"
