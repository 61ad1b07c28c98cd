"""Compiled Jinja templates kept between runs, so a render does not recompile ~20 templates.

Compiling the templates is about a third of a lab render; loading their bytecode is a few
milliseconds. The cache is only ever a speed-up, never a source of output:

- Keyed by content: a file's name is the sha256 of the template's source checksum, its name,
  its file and a fingerprint of everything else that shapes the compiled code (the
  Environment's options, the Jinja2, Python and tokengate versions). A changed template has
  another key, and Jinja's bucket checks the source checksum again when loading, so a stale
  entry is never served.
- Private: the bytecode is unmarshalled (and its header unpickled) when loaded, so a cache
  folder someone else could write to would be a way to run code as the user. The folder is
  used only when it is ours and not writable by group or others (as Jinja's own default
  cache folder demands); otherwise templates are compiled in memory as before.
- Harmless when it fails: an unwritable, missing or full cache folder, or a corrupt entry,
  means compiling as if there were no cache. Entries are written to a temporary file and
  renamed into place, so a concurrent render never reads half an entry.

The folder is `$XDG_CACHE_HOME/tokengate/templates` (else `~/.cache/tokengate/templates`);
`TOKENGATE_NO_CACHE=1` turns the cache off.
"""

from __future__ import annotations

import hashlib
import os
import stat
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import jinja2
from jinja2.bccache import Bucket, BytecodeCache

from generator import __version__

#: Set to a non-empty value to compile every template in memory (no reads, no writes).
DISABLE_VARIABLE = "TOKENGATE_NO_CACHE"

#: Commands that promise to write nothing (`--dry-run`, `render --check`) read the cache but
#: never create its folder or add an entry.
_read_only = False


@contextmanager
def writing_nothing(active: bool = True) -> Iterator[None]:
    """While active, the cache is only read: no folder made, no entry written."""
    global _read_only
    previous = _read_only
    _read_only = previous or active
    try:
        yield
    finally:
        _read_only = previous


def cache_folder() -> Path:
    """Where compiled templates live: the XDG cache folder's `tokengate/templates`."""
    base = os.environ.get("XDG_CACHE_HOME") or ""
    root = Path(base) if Path(base).is_absolute() else Path.home() / ".cache"
    return root / "tokengate" / "templates"


def _private_folder(folder: Path) -> bool:
    """Create `folder` (0700) if needed; True only when it is ours and closed to others."""
    try:
        if not _read_only:
            folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        info = os.lstat(folder)
    except OSError:
        return False
    return (
        stat.S_ISDIR(info.st_mode)
        and info.st_uid == os.getuid()
        and not info.st_mode & (stat.S_IWGRP | stat.S_IWOTH)
    )


class ChecksumBytecodeCache(BytecodeCache):
    """Jinja bytecode in one private folder, one file per (template source, environment)."""

    def __init__(self, folder: Path, fingerprint: str) -> None:
        self.folder = folder
        self.fingerprint = fingerprint

    def get_bucket(
        self, environment: jinja2.Environment, name: str, filename: str | None, source: str
    ) -> Bucket:
        checksum = self.get_source_checksum(source)
        # The file name is part of the key: compiled code carries it for tracebacks.
        parts = (self.fingerprint, name, filename or "", checksum)
        key = hashlib.sha256("\0".join(parts).encode()).hexdigest()
        bucket = Bucket(environment, key, checksum)
        self.load_bytecode(bucket)
        return bucket

    def _entry(self, bucket: Bucket) -> Path:
        return self.folder / f"{bucket.key}.jinja"

    def load_bytecode(self, bucket: Bucket) -> None:
        try:
            data = self._entry(bucket).read_bytes()
        except OSError:
            return
        try:
            bucket.bytecode_from_string(data)
        except Exception:  # a corrupt or truncated entry: compile instead
            bucket.reset()

    def dump_bytecode(self, bucket: Bucket) -> None:
        if _read_only:
            return
        try:
            data = bucket.bytecode_to_string()
            descriptor, temporary = tempfile.mkstemp(dir=self.folder, suffix=".tmp")
        except (OSError, TypeError):
            return
        try:
            with os.fdopen(descriptor, "wb") as handle:
                handle.write(data)
            Path(temporary).replace(self._entry(bucket))
        except OSError:
            Path(temporary).unlink(missing_ok=True)


def fingerprint(options: str) -> str:
    """What, besides a template's source, decides its compiled code."""
    return "|".join((options, jinja2.__version__, sys.implementation.cache_tag or "", __version__))


def bytecode_cache(options: str) -> BytecodeCache | None:
    """The cache for an Environment built with `options`, or None when none can be used."""
    if os.environ.get(DISABLE_VARIABLE):
        return None
    try:
        folder = cache_folder()
    except RuntimeError:  # no home folder to put it in
        return None
    if not _private_folder(folder):
        return None
    return ChecksumBytecodeCache(folder, fingerprint(options))
