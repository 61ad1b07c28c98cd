"""File-system reads that cannot hang and cannot be led out of a folder by a symlink.

`render` and `verify` look at folders users (and other tools) also write to. A FIFO opened for
reading blocks until a writer appears, and a symlinked sub-folder would carry writes and deletes
out of the folder. So entries are examined with `lstat` (never followed), regular files are
opened with O_NOFOLLOW | O_NONBLOCK and checked with `fstat` before a byte is read, and every
folder on the way to a path must be a real folder, not a link.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path, PurePosixPath

from generator.errors import TokengateError

_KINDS = (
    (stat.S_ISREG, "file"),
    (stat.S_ISDIR, "folder"),
    (stat.S_ISLNK, "symlink"),
    (stat.S_ISFIFO, "FIFO"),
    (stat.S_ISSOCK, "socket"),
    (stat.S_ISCHR, "character device"),
    (stat.S_ISBLK, "block device"),
)


def entry_kind(path: Path) -> str | None:
    """What is at `path` itself (links not followed): file, folder, symlink, FIFO...; None if
    nothing is there."""
    try:
        mode = path.lstat().st_mode
    except FileNotFoundError:
        return None
    return kind_of_mode(mode)


def kind_of_mode(mode: int) -> str:
    return next((name for test, name in _KINDS if test(mode)), "special file")


class NotRegular(OSError):
    """The entry is not a regular file (a FIFO, device, socket, symlink or folder)."""


def read_regular(path: Path) -> bytes:
    """The bytes of a regular file; NotRegular for anything else. Never blocks on a FIFO and
    never follows a final symlink."""
    flags = os.O_RDONLY
    for name in ("O_NONBLOCK", "O_NOFOLLOW", "O_CLOEXEC"):  # POSIX; absent on Windows
        flags |= getattr(os, name, 0)
    try:
        descriptor = os.open(path, flags)
    except OSError as error:
        kind = entry_kind(path)
        if kind not in (None, "file"):
            raise NotRegular(error.errno, f"a {kind}, not a regular file", str(path)) from None
        raise
    try:
        mode = os.fstat(descriptor).st_mode
        if not stat.S_ISREG(mode):
            raise NotRegular(0, f"a {kind_of_mode(mode)}, not a regular file", str(path))
        chunks = []
        while chunk := os.read(descriptor, 1 << 20):
            chunks.append(chunk)
        return b"".join(chunks)
    finally:
        os.close(descriptor)


def check_relative(path: str, where: str) -> str:
    """`path` if it is a plain relative path inside a folder (`a/b.txt`); else TokengateError
    naming `where` the path came from. Absolute paths, `..`, `.` and empty parts are refused."""
    pure = PurePosixPath(path)
    parts = path.split("/")
    if (
        not path
        or pure.is_absolute()
        or "\\" in path
        or "\x00" in path
        or any(part in ("", ".", "..") for part in parts)
    ):
        raise TokengateError(
            f"{where}: path {path!r} is not inside the folder "
            "(absolute, '..', '.', empty part or backslash)"
        )
    return path


def linked_folder(root: Path, relative: str) -> str | None:
    """The first folder on the way from `root` to `relative` that is a symlink or not a folder
    (as a relative path), or None when every existing one is a real folder."""
    current = root
    parts = relative.split("/")[:-1]
    for index, part in enumerate(parts):
        current = current / part
        kind = entry_kind(current)
        if kind is None:
            return None  # the rest does not exist yet; it will be made as real folders
        if kind != "folder":
            return "/".join(parts[: index + 1])
    return None
