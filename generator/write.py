"""Stage 5: put rendered files into the output folder, safely.

- Only files tokengate owns are touched: the manifest (`.tokengate-manifest.json`) lists what
  the last run wrote. A file tokengate did not write is never overwritten or removed.
- Unchanged files are not rewritten (their mtime stays), so `make`-style tools and reviewers see
  only real changes.
- Everything is written to a staging folder next to the output first; only when every file is
  on disk are they moved into place (one `os.replace` each, atomic per file), the manifest last.
  Any failure before that leaves the previous output untouched.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from generator import __version__
from generator.errors import TokengateError
from generator.render import RenderedFile

MANIFEST = ".tokengate-manifest.json"


def digest(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


@dataclass
class Plan:
    """What writing would do, file by file (paths relative to the output folder)."""

    added: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)

    @property
    def has_changes(self) -> bool:
        return bool(self.added or self.changed or self.removed)

    def lines(self) -> list[str]:
        return (
            [f"added    {p}" for p in self.added]
            + [f"changed  {p}" for p in self.changed]
            + [f"removed  {p}" for p in self.removed]
        )


def read_manifest(out: Path) -> dict[str, str]:
    path = out / MANIFEST
    if not path.is_file():
        return {}
    try:
        files = json.loads(path.read_text(encoding="utf-8"))["files"]
    except (ValueError, KeyError, TypeError):
        raise TokengateError(
            f"{path}: not a tokengate manifest; delete it if the folder is yours to regenerate"
        ) from None
    return {str(k): str(v) for k, v in files.items()}


def plan(out: Path, files: Mapping[str, RenderedFile], *, force: bool = False) -> Plan:
    owned = read_manifest(out)
    result = Plan()
    foreign: list[str] = []
    for path, rendered in sorted(files.items()):
        target = out / path
        if not target.exists():
            result.added.append(path)
            continue
        current = target.read_bytes()
        if current == rendered.content.encode("utf-8"):
            result.unchanged.append(path)
        elif path in owned or force:
            result.changed.append(path)
        else:
            foreign.append(path)
    if foreign:
        names = ", ".join(foreign)
        raise TokengateError(
            f"{out}: {names} exist(s) but tokengate did not write them; "
            "move them away or pass --force to overwrite"
        )
    result.removed = sorted(p for p in owned if p not in files and (out / p).is_file())
    return result


def _manifest_text(files: Mapping[str, RenderedFile]) -> str:
    document = {
        "generator": f"tokengate {__version__}",
        "files": {p: digest(f.content.encode("utf-8")) for p, f in sorted(files.items())},
    }
    return json.dumps(document, indent=2) + "\n"


def write(out: Path, files: Mapping[str, RenderedFile], *, force: bool = False) -> Plan:
    """Bring `out` in line with `files`; return what was done."""
    todo = plan(out, files, force=force)
    manifest = _manifest_text(files)
    manifest_path = out / MANIFEST
    manifest_current = manifest_path.is_file() and manifest_path.read_text("utf-8") == manifest
    if not todo.has_changes and manifest_current:
        return todo
    try:
        _apply(out, files, todo, manifest)
    except OSError as error:
        where = error.filename or out
        raise TokengateError(
            f"{where}: cannot write the output ({error.strerror}); nothing was moved into {out}"
        ) from None
    return todo


def _apply(out: Path, files: Mapping[str, RenderedFile], todo: Plan, manifest: str) -> None:
    out.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.tokengate-", dir=out.parent))
    try:
        staged: list[tuple[Path, Path]] = []
        for path in [*todo.added, *todo.changed]:
            source = staging / path
            source.parent.mkdir(parents=True, exist_ok=True)
            with source.open("w", encoding="utf-8", newline="\n") as handle:
                handle.write(files[path].content)
                handle.flush()
                os.fsync(handle.fileno())
            staged.append((source, out / path))
        (staging / MANIFEST).write_text(manifest, encoding="utf-8", newline="\n")
        # Make every target folder before the first move, so a file squatting on a folder's
        # path fails here, with nothing moved yet.
        for _, target in staged:
            target.parent.mkdir(parents=True, exist_ok=True)
            if target.is_dir():
                raise IsADirectoryError(21, "a folder is in the way", str(target))
        for source, target in staged:
            source.replace(target)
        for path in todo.removed:
            (out / path).unlink()
            _prune_empty_parents(out, (out / path).parent)
        (staging / MANIFEST).replace(out / MANIFEST)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _prune_empty_parents(out: Path, folder: Path) -> None:
    while folder != out and folder.is_dir() and not any(folder.iterdir()):
        folder.rmdir()
        folder = folder.parent
