"""Read a rendered (or hand-edited) output folder into the mapping the checks work on.

Hidden files and folders (the manifest, `.git`) are not output. What cannot be read becomes a
finding, never a crash or a hang: a file that is not UTF-8 text (TG200), and anything that is
not a regular file or folder: a dangling symlink, a FIFO, a device, a socket (TG209; a FIFO is
never opened). The folder's bookkeeping is checked too: a journal left by an interrupted write
(TG250), and files the manifest lists that are gone or changed (TG251).
"""

from __future__ import annotations

import os
from pathlib import Path

from generator.errors import TokengateError
from generator.findings import Finding, Severity
from generator.manifest import JOURNAL, MANIFEST, digest, read_manifest
from generator.safe_files import NotRegular, entry_kind, read_regular
from generator.verify import rules


def read_folder(folder: Path) -> tuple[dict[str, str], list[Finding]]:
    """{relative posix path: text} of every visible file, and findings for unreadable ones."""
    if not folder.is_dir():
        hint = " (run `tokengate render` first)" if not folder.exists() else ""
        raise TokengateError(f"{folder}: no such folder{hint}")
    files: dict[str, str] = {}
    findings: list[Finding] = []
    raw: dict[str, bytes] = {}
    entries = _visible_entries(folder)
    if not entries:
        message = "the folder is empty: no main.bicep to deploy (run `tokengate render`)"
        findings.append(rules.ENTRY_POINT.at("main.bicep", 1, 1, message))
    for name in entries:
        path = folder / name
        try:
            content = _read_following(path)
        except NotRegular as error:
            findings.append(rules.ODD_ENTRY.at(name, 1, 1, error.strerror or "not a regular file"))
            continue
        except OSError as error:
            findings.append(rules.UNREADABLE.at(name, 1, 1, f"cannot read: {error.strerror}"))
            continue
        raw[name] = content
        try:
            files[name] = content.decode("utf-8-sig").replace("\r\n", "\n")
        except UnicodeDecodeError as error:
            findings.append(rules.UNREADABLE.at(name, 1, 1, f"not UTF-8 text (byte {error.start})"))
    findings.extend(_bookkeeping_findings(folder, raw))
    return files, findings


def _visible_entries(folder: Path) -> list[str]:
    """Every non-folder entry below `folder` (symlinks not followed), hidden ones left out."""
    names: list[str] = []
    for current, folders, entries in os.walk(folder):
        folders[:] = [name for name in folders if not name.startswith(".")]
        relative = Path(current).relative_to(folder)
        for name in entries + [f for f in folders if (Path(current) / f).is_symlink()]:
            if not name.startswith("."):
                names.append((relative / name).as_posix())
    return sorted(set(names))


def _read_following(path: Path) -> bytes:
    """The bytes behind `path`, following a symlink once; NotRegular for anything else."""
    kind = entry_kind(path)
    if kind != "symlink":
        return read_regular(path)
    target = path.resolve()
    target_kind = entry_kind(target)
    if target_kind is None:
        raise NotRegular(0, f"a dangling symlink (to {path.readlink()})", str(path))
    if target_kind != "file":
        raise NotRegular(0, f"a symlink to a {target_kind}, not a regular file", str(path))
    return read_regular(target)


def _bookkeeping_findings(folder: Path, raw: dict[str, bytes]) -> list[Finding]:
    findings: list[Finding] = []
    if entry_kind(folder / JOURNAL) is not None:
        findings.append(
            rules.INTERRUPTED_WRITE.at(
                JOURNAL,
                1,
                1,
                "a render or deploy was interrupted while publishing: the folder may mix old "
                "and new files; run `tokengate render` to finish it",
            )
        )
    try:
        manifest = read_manifest(folder)
    except TokengateError as error:
        return [*findings, rules.MANIFEST_FILES.at(MANIFEST, 1, 1, error.message)]
    for name, hashed in sorted(manifest.items()):
        if name not in raw:
            if entry_kind(folder / name) is None:
                message = f"tokengate wrote {name}, and it is gone"
                findings.append(rules.MANIFEST_FILES.at(MANIFEST, 1, 1, message))
        elif digest(raw[name]) != hashed:
            findings.append(
                rules.MANIFEST_FILES.at(
                    name,
                    1,
                    1,
                    "changed since tokengate wrote it (the manifest has another hash)",
                    severity=Severity.WARNING,
                )
            )
    return findings
