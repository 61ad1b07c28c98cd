"""`diff` output: plain text for a terminal, Markdown for a pull-request comment.

The Markdown keeps the summary visible and folds the file diff into `<details>`; it stays under
GitHub's comment size limit by cutting the file diff (never the summary) with a note. The new
spec's warnings are part of both, after the summary: what `validate` would say about the spec
under review must not be hidden by `diff`.
"""

from __future__ import annotations

import re

from generator.diff import SpecDiff
from generator.diff.rendered import FileDiff

#: GitHub rejects comments over 65,536 characters; leave room for the summary around the diff.
MAX_MARKDOWN_DIFF = 60_000
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_\[\]<>|#~])")


def _totals(files: tuple[FileDiff, ...]) -> str:
    added = sum(f.added for f in files)
    removed = sum(f.removed for f in files)
    noun = "file" if len(files) == 1 else "files"
    return f"{len(files)} rendered {noun} changed (+{added} -{removed})"


def _warnings_heading(diff: SpecDiff) -> str:
    noun = "warning" if len(diff.warnings) == 1 else "warnings"
    return f"{len(diff.warnings)} {noun} in the new spec {diff.new.argument}"


def text_report(diff: SpecDiff) -> str:
    lines = [f"tokengate diff {diff.old.argument} → {diff.new.argument}"]
    warnings = [f"{_warnings_heading(diff)}:"] if diff.warnings else []
    warnings += [f"  {finding.format()}" for finding in diff.warnings]
    if not diff.has_differences:
        lines.append("no differences: the two specs render the same gateway")
        return "\n".join(lines + warnings) + "\n"
    if diff.changes:
        lines += [f"  {change.line()}" for change in diff.changes]
    else:
        lines.append("  no change to the gateway model (only the rendered text differs)")
    lines += warnings
    if diff.files:
        lines.append(_totals(diff.files) + ":")
    text = "\n".join(lines) + "\n"
    return text + "".join(line for f in diff.files for line in f.lines)


def _escape(text: str) -> str:
    return _MARKDOWN_SPECIAL.sub(r"\\\1", text)


def _backticks(text: str, shortest: int) -> str:
    """A run of backticks longer than any inside `text`, so it can fence it."""
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    return "`" * max(shortest, longest + 1)


def _code(text: str) -> str:
    fence = _backticks(text, 1)
    return f"{fence} {text} {fence}" if "`" in text else f"{fence}{text}{fence}"


def _markdown_warnings(diff: SpecDiff) -> list[str]:
    if not diff.warnings:
        return []
    heading = f"**{len(diff.warnings)} {'warning' if len(diff.warnings) == 1 else 'warnings'}"
    lines = ["", f"{heading} in the new spec {_code(diff.new.argument)}:**", ""]
    for finding in diff.warnings:
        where = f"{finding.file}:{finding.line}:{finding.column}"
        lines.append(f"- {_code(where)} {finding.rule_id} {_escape(finding.message)}")
    return lines


def markdown_report(diff: SpecDiff) -> str:
    parts = [f"### tokengate diff: {_code(diff.old.argument)} → {_code(diff.new.argument)}", ""]
    if not diff.has_differences:
        parts.append("No differences: the two specs render the same gateway.")
        return "\n".join(parts + _markdown_warnings(diff)) + "\n"
    if diff.changes:
        for change in diff.changes:
            item = f"- {_escape(change.summary)}"
            if change.note:
                item += f" — **{_escape(change.note)}**"
            parts.append(item)
    else:
        parts.append("No change to the gateway model; only the rendered text differs.")
    parts += _markdown_warnings(diff)
    if diff.files:
        body = "".join(line for f in diff.files for line in f.lines)
        cut = ""
        if len(body) > MAX_MARKDOWN_DIFF:
            body = body[: body.rfind("\n", 0, MAX_MARKDOWN_DIFF) + 1]
            cut = "\n_The diff is cut here to fit a comment; run `tokengate diff` for all of it._\n"
        fence = _backticks(body, 3)
        parts += [
            "",
            f"<details><summary>{_totals(diff.files)}</summary>",
            "",
            f"{fence}diff",
            body.rstrip("\n"),
            fence,
            cut,
            "</details>",
        ]
    return "\n".join(parts) + "\n"
