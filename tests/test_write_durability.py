"""What a write makes durable, and how many syncs that costs (generator/write.py, "Durability").

Every staged file's content must be on disk before the journal is in place; on Linux one
syncfs(2) does that for all of them, elsewhere each file is fsynced. The folders are fsynced at
the two commit points either way. The counts below are of real calls (os.fsync still runs).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from generator import write as writing
from generator.render import RenderedFile

PATHS = [f"modules/part-{i:03d}.bicep" for i in range(40)] + ["main.bicep"]
FILES = {path: RenderedFile(path, f"// {path}\n") for path in PATHS}


def _counting_fsync(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    calls: list[int] = []
    real: Callable[[int], None] = os.fsync

    def fsync(descriptor: int) -> None:
        calls.append(descriptor)
        real(descriptor)

    monkeypatch.setattr(os, "fsync", fsync)
    return calls


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="syncfs(2) is Linux's")
def test_on_linux_only_the_folders_are_fsynced(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = _counting_fsync(monkeypatch)
    writing.write(tmp_path / "out", FILES)
    # out/ after the journal; out/ and out/modules/ before the journal goes: not one per file.
    assert len(calls) == 3
    assert (
        tmp_path / "out" / "modules" / "part-039.bicep"
    ).read_text() == "// modules/part-039.bicep\n"


def test_without_syncfs_every_staged_file_is_fsynced(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(writing, "_sync_file_system", lambda folder: False)
    calls = _counting_fsync(monkeypatch)
    writing.write(tmp_path / "out", FILES)
    # The 41 files, the manifest and the journal, then the three folder syncs.
    assert len(calls) == len(FILES) + 2 + 3
