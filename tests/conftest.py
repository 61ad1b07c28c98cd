"""pytest configuration: one snapshot file per rendered file, with the file's real extension
(rendered trees as browsable folders, `tree_snapshot`; other outputs as `file_snapshot`)."""

from __future__ import annotations

import os
from functools import cache

import pytest
from hypothesis import HealthCheck, settings
from snapshot_tree import OutputTreeSnapshot
from support import FileSnapshot, TreeSnapshot
from syrupy.assertion import SnapshotAssertion
from syrupy.extensions.single_file import SingleFileSnapshotExtension, WriteMode

# CI runs on a shared 2-core machine: generation speed is not a finding, and the same examples on
# every run keep a red build reproducible (locally, each run explores new examples).
settings.register_profile(
    "ci", derandomize=True, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large]
)
settings.register_profile("dev", suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("ci" if os.environ.get("CI") else "dev")


@cache
def snapshot_extension(suffix: str) -> type[SingleFileSnapshotExtension]:
    """A text single-file snapshot extension that stores files as `*.<suffix>`."""
    name = f"{suffix.capitalize()}FileSnapshot"
    return type(
        name,
        (SingleFileSnapshotExtension,),
        {"file_extension": suffix, "_write_mode": WriteMode.TEXT},
    )


@pytest.fixture
def file_snapshot(snapshot: SnapshotAssertion) -> FileSnapshot:
    """`file_snapshot("bicep") == text` stores the snapshot as a .bicep file."""

    def with_suffix(suffix: str) -> SnapshotAssertion:
        return snapshot.use_extension(snapshot_extension(suffix))

    return with_suffix


@pytest.fixture(autouse=True)
def _run_from_the_repository(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every test starts in the repository root, as CI runs pytest.

    Generated files name their spec relative to the output folder's parent (the current folder
    for the default `out`), so snapshots must not depend on where pytest was started.
    """
    from support import REPO

    monkeypatch.chdir(REPO)


@pytest.fixture
def tree_snapshot(snapshot: SnapshotAssertion) -> TreeSnapshot:
    """`tree_snapshot("minimal/modules/api.bicep") == text` keeps the snapshot at that path under
    `__snapshots__/<test module>/<test function>/` (see `snapshot_tree`)."""

    def at(path: str) -> SnapshotAssertion:
        return snapshot.use_extension(OutputTreeSnapshot)(name=path)

    return at
