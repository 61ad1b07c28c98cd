"""Stage 5: put rendered files into the output folder: only what tokengate owns, all or nothing.

- Ownership: the manifest (see `generator.manifest`) records the sha256 of every file the last
  write published. A file is overwritten or removed only while its content still has that hash;
  a file tokengate did not write, or one edited since, is left alone (an overwrite needs
  `--force`, a removal is skipped and reported as kept).
- Confinement: every path stays inside the folder. Manifest paths are plain relative paths
  (no absolute path, no `..`), and no file is read, written or removed through a symlinked or
  non-folder parent, with or without `--force`. Entries are examined with `lstat`; a FIFO,
  device or socket where a file must go is an error, and is never opened for reading.
- Unchanged files are not rewritten (their mtime stays), so `make`-style tools and reviewers see
  only real changes.
- Publication: every file is first written to a staging folder inside the real output folder
  (the same file system even when `out` is a symlink to another one, so each move is one
  atomic `os.replace`). Then a journal listing the old and new hash of every path is put in
  place, the files are moved, the new manifest is put in place, and the journal is removed. A
  kill at any instant therefore leaves either the complete old set, the complete new set, or
  the journal, which the next `render`, `render --check` and `verify` report and `render`
  finishes. Leftover staging folders are removed by the next write.
- Durability (a power loss or an OS crash, not only a kill: then what is not on disk is lost,
  and renames may reach the disk before the data they name). What must be on disk, in order:
  1. the content of every staged file (and of the staged journal and manifest) before the
     journal is in place: else a crash after the moves could leave a moved file empty or torn,
     with the journal (and later its removal) on disk, a folder that looks finished but is not;
  2. the journal's directory entry before the first move: else the moves could survive a
     crash and the journal not, a mix of old and new files with nothing saying so;
  3. every moved file's and the manifest's directory entries before the journal is removed:
     the journal vouches for the renames until they are on disk.
  The journal's removal itself needs nothing: a journal that comes back after a crash only makes
  the next `render` finish a write that was already complete. Step 1 is one `syncfs(2)` of the
  output's file system on Linux (one call for all the staged files, which had one fsync each:
  2,087 fsyncs, about 1 s, for a 10,000-consumer spec with its own budgets); elsewhere, or where
  `syncfs` cannot be called, each staged file is fsynced as before. Steps 2 and 3 fsync the
  folders (the output folder, then each folder a file was moved into). Since Linux 5.8
  `syncfs` reports write-back errors as fsync does; older kernels return success regardless.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from generator.errors import TokengateError
from generator.manifest import (
    JOURNAL,
    MANIFEST,
    RESERVED,
    STAGING_PREFIX,
    digest,
    journal_text,
    manifest_text,
    read_journal,
    read_manifest,
)
from generator.render import RenderedFile
from generator.safe_files import check_relative, entry_kind, linked_folder, read_regular

__all__ = ["JOURNAL", "MANIFEST", "Plan", "digest", "plan", "read_manifest", "write"]

#: Test seam: set to a step number N, a write announces "paused at publish step N" on stderr
#: and waits there, so a test can SIGKILL the process at an exact point of the move phase.
PAUSE_VARIABLE = "TOKENGATE_TEST_PAUSE_AT"


@dataclass
class Plan:
    """What writing would do, file by file (paths relative to the output folder)."""

    added: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    #: Files tokengate wrote that are no longer rendered but are not removed: (path, why).
    kept: list[tuple[str, str]] = field(default_factory=list)
    #: Paths to overwrite whose content tokengate does not own (needs --force): (path, why).
    blocked: list[tuple[str, str]] = field(default_factory=list)
    #: A journal is present: an earlier write stopped while publishing.
    interrupted: bool = False
    #: sha256 of each owned file as found, for the journal.
    found: dict[str, str] = field(default_factory=dict)

    @property
    def has_changes(self) -> bool:
        return bool(self.added or self.changed or self.removed or self.kept or self.interrupted)

    def lines(self) -> list[str]:
        interrupted = (
            [f"interrupted  an earlier write stopped part-way ({JOURNAL} is present)"]
            if self.interrupted
            else []
        )
        return (
            interrupted
            + [f"added    {p}" for p in self.added]
            + [f"changed  {p}" for p in self.changed]
            + [f"removed  {p}" for p in self.removed]
            + [f"kept     {p} ({why})" for p, why in self.kept]
        )


def resolve_out(out: Path) -> Path:
    """The real folder behind `out`: itself, or where it links to (maybe another file system)."""
    kind = entry_kind(out)
    if kind is None or kind == "folder":
        return out
    if kind == "symlink":
        target = out.resolve()
        target_kind = entry_kind(target)
        if target_kind == "folder":
            return target
        what = "does not exist" if target_kind is None else f"is a {target_kind}"
        raise TokengateError(f"{out}: a symlink to {target}, which {what}; need a folder")
    raise TokengateError(f"{out}: a {kind}, not a folder")


def _owned(root: Path) -> tuple[dict[str, set[str]], bool]:
    """Every hash each path may have while it is tokengate's, and whether a journal is there."""
    owned: dict[str, set[str]] = {}
    for path, hashed in read_manifest(root).items():
        owned.setdefault(path, set()).add(hashed)
    journal = read_journal(root)
    if journal is not None:
        for files in (journal.old, journal.new):
            for path, hashed in files.items():
                owned.setdefault(path, set()).add(hashed)
    return owned, journal is not None


def _check_rendered_path(path: str) -> None:
    check_relative(path, "internal: a rendered file")
    if path in RESERVED or path.split("/", 1)[0].startswith(STAGING_PREFIX):
        raise TokengateError(f"internal: a rendered file may not be called {path!r}")


def plan(out: Path, files: Mapping[str, RenderedFile]) -> Plan:
    """Compare `out` with `files` without writing anything. Paths tokengate does not own are
    listed as changed and in `blocked` (`write` needs --force for them)."""
    root = resolve_out(out)
    for path in files:
        _check_rendered_path(path)
    if entry_kind(root) is None:
        return Plan(added=sorted(files))
    owned, interrupted = _owned(root)
    result = Plan(interrupted=interrupted)
    problems: list[str] = []
    for path, rendered in sorted(files.items()):
        linked = linked_folder(root, path)
        if linked is not None:
            problems.append(f"{out / linked}: {_not_a_folder(root / linked)}")
            continue
        target = root / path
        kind = entry_kind(target)
        if kind is None:
            result.added.append(path)
        elif kind != "file":
            problems.append(
                f"{out / path}: a {kind} where tokengate writes a file; it is never replaced"
            )
        else:
            content = read_regular(target)
            hashed = digest(content)
            if hashed in owned.get(path, ()):
                result.found[path] = hashed
            if content == rendered.content.encode("utf-8"):
                result.unchanged.append(path)
                continue
            result.changed.append(path)
            if path not in result.found:
                why = "changed since tokengate wrote it" if path in owned else "not tokengate's"
                result.blocked.append((path, why))
    if problems:
        raise TokengateError("\n".join(problems) + f"\nnothing was written to {out}")
    _plan_removals(root, owned, files, result)
    return result


def _not_a_folder(path: Path) -> str:
    kind = entry_kind(path)
    if kind == "symlink":
        return "a symlink; tokengate writes only inside the output folder, never through a link"
    return f"a {kind} where tokengate needs a folder"


def _plan_removals(
    root: Path, owned: Mapping[str, set[str]], files: Mapping[str, RenderedFile], result: Plan
) -> None:
    for path in sorted(set(owned) - set(files)):
        linked = linked_folder(root, path)
        if linked is not None:
            result.kept.append((path, f"{linked} is a symlink or not a folder"))
            continue
        kind = entry_kind(root / path)
        if kind is None:
            continue
        if kind != "file":
            result.kept.append((path, f"a {kind} now, not the file tokengate wrote"))
            continue
        hashed = digest(read_regular(root / path))
        if hashed in owned[path]:
            result.found[path] = hashed
            result.removed.append(path)
        else:
            result.kept.append((path, "changed since tokengate wrote it"))


def write(out: Path, files: Mapping[str, RenderedFile], *, force: bool = False) -> Plan:
    """Bring `out` in line with `files`; return what was done."""
    todo = plan(out, files)
    if todo.blocked and not force:
        names = ", ".join(f"{path} ({why})" for path, why in todo.blocked)
        raise TokengateError(
            f"{out}: {names}: tokengate did not write this content; "
            "move it away or pass --force to overwrite"
        )
    root = resolve_out(out)
    new = {path: digest(f.content.encode("utf-8")) for path, f in files.items()}
    manifest = manifest_text(new)
    started = False
    try:
        root.mkdir(parents=True, exist_ok=True)
        lock = _lock(out, root)
    except OSError as error:
        raise TokengateError(f"{out}: cannot write the output ({error.strerror})") from None
    try:
        _remove_staging_leftovers(root, out)
        current = entry_kind(root / MANIFEST) == "file" and read_regular(root / MANIFEST)
        if not todo.has_changes and current == manifest.encode("utf-8"):
            return todo
        old = {**read_manifest(root), **todo.found}
        with _Staging(root) as staging:
            moves = [(staging.put(files[p].content.encode("utf-8")), p) for p in _moved(todo)]
            manifest_source = staging.put(manifest.encode("utf-8"))
            journal_source = staging.put(journal_text(old, new).encode("utf-8"))
            staging.make_durable()  # durability step 1 (module docstring)
            _make_folders(out, root, [path for _, path in moves])
            started = True
            _publish(root, moves, todo.removed, manifest_source, journal_source)
    except OSError as error:
        where = error.filename or out
        after = (
            f"publishing stopped part-way; run `tokengate render` again to finish ({JOURNAL})"
            if started
            else f"nothing was moved into {out}"
        )
        raise TokengateError(
            f"{where}: cannot write the output ({error.strerror}); {after}"
        ) from None
    finally:
        os.close(lock)
    return todo


def _lock(out: Path, root: Path) -> int:
    """Hold an exclusive lock on the output folder, so two writes never interleave (and one
    never removes the other's staging folder as a leftover). Released when the descriptor
    closes, also when the process is killed."""
    descriptor = os.open(root, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(descriptor)
        raise TokengateError(
            f"{out}: another tokengate write is running in this folder; try again when it ends"
        ) from None
    except OSError:
        pass  # the file system cannot lock (some network ones): write unlocked, as before
    return descriptor


def _moved(todo: Plan) -> list[str]:
    return [*todo.added, *todo.changed]


class _Staging:
    """A fresh staging folder inside the output folder, removed on exit."""

    def __init__(self, root: Path) -> None:
        self.folder = Path(tempfile.mkdtemp(prefix=STAGING_PREFIX, dir=root))
        self.count = 0
        self.staged: list[Path] = []

    def __enter__(self) -> _Staging:
        return self

    def __exit__(self, *_: object) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)

    def put(self, content: bytes) -> Path:
        """Write `content` to a new staged file (durable after `make_durable`)."""
        self.count += 1
        path = self.folder / f"{self.count:05d}"
        with path.open("xb") as handle:
            handle.write(content)
        self.staged.append(path)
        return path

    def make_durable(self) -> None:
        """Every staged file's content on disk: one syncfs of the file system, or (where that
        cannot be called) one fsync per file."""
        if _sync_file_system(self.folder):
            return
        for path in self.staged:
            descriptor = os.open(path, os.O_RDONLY)
            try:
                os.fsync(descriptor)
            finally:
                os.close(descriptor)


def _sync_file_system(folder: Path) -> bool:
    """syncfs(2) the file system holding `folder`; False where it cannot be called (not Linux,
    no ctypes, a C library without it). An error it reports is raised as OSError."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        import ctypes

        syncfs = ctypes.CDLL(None, use_errno=True).syncfs
    except (ImportError, OSError, AttributeError):
        return False
    descriptor = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    try:
        if syncfs(descriptor) != 0:
            code = ctypes.get_errno()
            raise OSError(code, os.strerror(code), str(folder))
    finally:
        os.close(descriptor)
    return True


def _make_folders(out: Path, root: Path, paths: Iterable[str]) -> None:
    """Make every target folder before the first move, so a file squatting on a folder's path
    (or a folder on a file's) fails with nothing moved yet."""
    paths = list(paths)
    for path in paths:
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        linked = linked_folder(root, path)
        if linked is not None:
            raise NotADirectoryError(20, _not_a_folder(root / linked), str(out / linked))
    for path in paths:
        if entry_kind(root / path) == "folder":
            raise IsADirectoryError(21, "a folder is in the way", str(out / path))


def _publish(
    root: Path,
    moves: list[tuple[Path, str]],
    removals: list[str],
    manifest_source: Path,
    journal_source: Path,
) -> None:
    """The move phase; see the module docstring for why this order is safe to interrupt."""
    steps = _Steps()
    steps.next()
    journal_source.replace(root / JOURNAL)
    _fsync_folder(root)  # durability step 2
    for source, path in moves:
        steps.next()
        source.replace(root / path)
    for path in removals:
        steps.next()
        (root / path).unlink(missing_ok=True)
        _prune_empty_parents(root, (root / path).parent)
    steps.next()
    manifest_source.replace(root / MANIFEST)
    # Durability step 3: the renames on disk before the journal that vouches for them goes.
    for folder in sorted({(root / path).parent for _, path in moves} | {root}):
        _fsync_folder(folder)
    steps.next()
    (root / JOURNAL).unlink()
    steps.next()


class _Steps:
    """Numbers the points of the move phase, for the PAUSE_VARIABLE test seam."""

    def __init__(self) -> None:
        self.step = -1
        self.pause_at = os.environ.get(PAUSE_VARIABLE)

    def next(self) -> None:
        self.step += 1
        if self.pause_at == str(self.step):
            os.write(2, f"tokengate: paused at publish step {self.step}\n".encode())
            time.sleep(3600)


def _fsync_folder(folder: Path) -> None:
    descriptor = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def _remove_staging_leftovers(root: Path, out: Path) -> None:
    """Staging folders a killed write left: inside the folder, and next to it (older versions
    staged there as `.<out>.tokengate-*`)."""
    for folder, prefix in ((root, STAGING_PREFIX), (out.parent, f".{out.name}.tokengate-")):
        if entry_kind(folder) != "folder":
            continue
        for entry in os.scandir(folder):
            if entry.name.startswith(prefix) and entry.is_dir(follow_symlinks=False):
                shutil.rmtree(entry.path, ignore_errors=True)


def _prune_empty_parents(root: Path, folder: Path) -> None:
    while folder != root and entry_kind(folder) == "folder" and not any(folder.iterdir()):
        folder.rmdir()
        folder = folder.parent
