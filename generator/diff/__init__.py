"""`tokengate diff OLD NEW`: what a spec change does, for a reviewer.

Both specs go through the whole pipeline (so an invalid side is reported, not diffed). The
summary compares the two `Gateway` models (semantic.py), then the rendered files are diffed
(rendered.py); report.py prints both as text or as a Markdown pull-request comment.
"""

from __future__ import annotations

from dataclasses import dataclass

from generator.diff.rendered import FileDiff, file_diffs
from generator.diff.semantic import Change, model_changes
from generator.diff.sources import SpecSource, read_source
from generator.errors import SpecInvalid, TokengateError
from generator.load import load_text
from generator.pipeline import Compiled, compile_spec

__all__ = ["SpecDiff", "diff_specs"]


@dataclass(frozen=True)
class SpecDiff:
    old: SpecSource
    new: SpecSource
    changes: tuple[Change, ...]
    files: tuple[FileDiff, ...]

    @property
    def has_differences(self) -> bool:
        return bool(self.changes or self.files)


def _compiled(source: SpecSource) -> Compiled:
    try:
        return compile_spec(load_text(source.text, source.file))
    except SpecInvalid as invalid:
        raise TokengateError(f"{source.argument} is not a valid spec:\n{invalid.message}") from None


def diff_specs(old_argument: str, new_argument: str) -> SpecDiff:
    old, new = read_source(old_argument), read_source(new_argument)
    before, after = _compiled(old), _compiled(new)
    changes = model_changes(before.gateway, after.gateway)
    files = file_diffs(
        {path: f.content for path, f in before.files.items()},
        {path: f.content for path, f in after.files.items()},
    )
    return SpecDiff(old, new, tuple(changes), tuple(files))
