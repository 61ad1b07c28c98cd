"""What tokengate owns in an output folder: the manifest, and the journal of a write in progress.

- The manifest (`.tokengate-manifest.json`) maps each file the last write published to the
  sha256 of its content. Only a file whose current content still has that hash is tokengate's
  to overwrite or remove; anything else is the user's.
- The journal (`.tokengate-journal.json`) is written (and made durable) before the first file is
  moved into place and removed after the new manifest is in place. While it exists the folder
  may mix old and new files, so every later `render`, `render --check` and `verify` says so,
  and `render` finishes the job: the journal lists the old and the new hash of every path, so
  either content is recognised as tokengate's.

Both are read strictly: bad JSON, a wrong shape or a path outside the folder is a clear error,
never a traceback and never a file touched outside the folder.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from generator import __version__
from generator.errors import TokengateError
from generator.safe_files import NotRegular, check_relative, read_regular

MANIFEST = ".tokengate-manifest.json"
JOURNAL = ".tokengate-journal.json"
#: Staging folders are made inside the output folder (same file system as the targets).
STAGING_PREFIX = ".tokengate-staging-"
#: Names no rendered file may take.
RESERVED = frozenset({MANIFEST, JOURNAL})

_SHA256 = re.compile(r"^[0-9a-f]{64}$")


def digest(content: bytes) -> str:
    """The hash the manifest records for a file's content."""
    return hashlib.sha256(content).hexdigest()


@dataclass(frozen=True)
class Journal:
    """A write that began publishing: what the folder held (old) and was to hold (new)."""

    old: dict[str, str]
    new: dict[str, str]


#: What `_load` returns when there is no file (JSON `null` is a document, and invalid).
_ABSENT = object()


def _load(path: Path, what: str) -> Any:
    try:
        return json.loads(read_regular(path).decode("utf-8"))
    except FileNotFoundError:
        return _ABSENT
    except NotRegular as error:
        raise TokengateError(f"{path}: {error.strerror}; remove it") from None
    except (UnicodeDecodeError, ValueError) as error:
        raise _invalid(path, what, f"not JSON: {error}") from None
    except OSError as error:
        raise TokengateError(f"{path}: cannot read: {error.strerror}") from None


def _invalid(path: Path, what: str, reason: str) -> TokengateError:
    return TokengateError(
        f"{path}: not a tokengate {what} ({reason}); delete it if the folder is yours to regenerate"
    )


def _files(path: Path, what: str, value: Any, key: str) -> dict[str, str]:
    if not isinstance(value, dict):
        raise _invalid(path, what, f'"{key}" is not an object of path: sha256')
    files: dict[str, str] = {}
    for name, hashed in value.items():
        try:
            check_relative(name, str(path))
        except TokengateError as error:
            raise _invalid(path, what, error.message.removeprefix(f"{path}: ")) from None
        if name in RESERVED:
            raise _invalid(path, what, f"{name!r} is tokengate's own bookkeeping file")
        if not isinstance(hashed, str) or not _SHA256.match(hashed):
            raise _invalid(path, what, f"{name!r} has no sha256 hash")
        files[name] = hashed
    return files


def read_manifest(out: Path) -> dict[str, str]:
    """{path: sha256} of what the last write published; {} when there is no manifest."""
    path = out / MANIFEST
    document = _load(path, "manifest")
    if document is _ABSENT:
        return {}
    if not isinstance(document, dict) or "files" not in document:
        raise _invalid(path, "manifest", 'no "files" object')
    return _files(path, "manifest", document["files"], "files")


def read_journal(out: Path) -> Journal | None:
    """The journal of an interrupted write, or None."""
    path = out / JOURNAL
    document = _load(path, "journal")
    if document is _ABSENT:
        return None
    if not isinstance(document, dict):
        raise _invalid(path, "journal", 'no "old" and "new" objects')
    return Journal(
        _files(path, "journal", document.get("old"), "old"),
        _files(path, "journal", document.get("new"), "new"),
    )


def manifest_text(files: Mapping[str, str]) -> str:
    document = {"generator": f"tokengate {__version__}", "files": dict(sorted(files.items()))}
    return json.dumps(document, indent=2) + "\n"


def journal_text(old: Mapping[str, str], new: Mapping[str, str]) -> str:
    document = {
        "generator": f"tokengate {__version__}",
        "note": "A write is publishing (or was interrupted); the next `tokengate render` "
        "finishes it.",
        "old": dict(sorted(old.items())),
        "new": dict(sorted(new.items())),
    }
    return json.dumps(document, indent=2) + "\n"
