"""One subscription key per consumer, as APIM gives each subscription its own.

Keys are random (`secrets`), 32 hex characters like APIM's. With `--keys FILE` they are read
from, or written to, a JSON object consumer → key; a new file is created with mode 0600 (it holds
credentials, if only for a local emulator) and consumers missing from an existing file get a key
added. Specs without consumers get one key for the name ANONYMOUS_CONSUMER.
"""

from __future__ import annotations

import json
import os
import secrets
from collections.abc import Iterable
from pathlib import Path

from generator.errors import TokengateError

#: The consumer name of the single key a spec without consumers is emulated with.
ANONYMOUS_CONSUMER = "default"


def new_key() -> str:
    return secrets.token_hex(16)


def read_keys(path: Path) -> dict[str, str]:
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except ValueError as error:
        raise TokengateError(f"{path}: not a JSON object of consumer → key ({error})") from error
    if not isinstance(document, dict) or not all(
        isinstance(name, str) and isinstance(key, str) and key for name, key in document.items()
    ):
        raise TokengateError(f"{path}: expected a JSON object of consumer name → key string")
    return dict(document)


def write_keys(path: Path, keys: dict[str, str]) -> None:
    """Write `keys` to `path` readable by its owner only (created 0600, never wider)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(dict(sorted(keys.items())), indent=2) + "\n"
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.write(text)
    path.chmod(0o600)


def consumer_keys(consumers: Iterable[str], path: Path | None) -> dict[str, str]:
    """A key per consumer: those in `path` kept, the missing ones made (and saved there)."""
    names = list(consumers) or [ANONYMOUS_CONSUMER]
    known = read_keys(path) if path is not None and path.exists() else {}
    keys = {name: known.get(name) or new_key() for name in names}
    if path is not None and keys != {n: known.get(n) for n in names}:
        write_keys(path, known | keys)
    elif path is not None and not path.exists():
        write_keys(path, keys)
    return keys
