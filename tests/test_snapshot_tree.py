"""The tree snapshot extension keeps every snapshot inside its test's tree."""

from __future__ import annotations

from pathlib import Path, PurePosixPath

import pytest
from snapshot_tree import OutputTreeSnapshot, tree_path


def test_a_relative_path_is_kept_as_given() -> None:
    assert tree_path("minimal/modules/api.bicep") == PurePosixPath("minimal/modules/api.bicep")


@pytest.mark.parametrize("index", ["/etc/passwd", "../escape.bicep", "a/../../b", "", "a\\b"])
def test_a_path_that_leaves_the_tree_is_refused(index: str) -> None:
    with pytest.raises(ValueError, match="inside the tree"):
        tree_path(index)


def test_a_numbered_snapshot_is_refused() -> None:
    with pytest.raises(TypeError, match="needs a path"):
        tree_path(0)


def test_the_name_is_read_back_from_the_path_alone(tmp_path: Path) -> None:
    """Syrupy tells used from unused snapshots by name: the name read from a file must be the
    name the test gives it (`test_snapshot[<path inside the tree>]`)."""
    location = tmp_path / "__snapshots__" / "test_render" / "test_snapshot" / "lab" / "main.bicep"
    collection = OutputTreeSnapshot().read_snapshot_collection(snapshot_location=str(location))
    assert [snapshot.name for snapshot in collection] == ["test_snapshot[lab/main.bicep]"]


def test_deleting_the_last_file_removes_its_empty_folders(tmp_path: Path) -> None:
    module = tmp_path / "__snapshots__" / "test_render"
    kept = module / "test_snapshot" / "lab" / "main.bicep"
    gone = module / "test_snapshot" / "ghost" / "modules" / "api.bicep"
    for path in (kept, gone):
        path.parent.mkdir(parents=True)
        path.write_text("x")
    OutputTreeSnapshot().delete_snapshots(snapshot_location=str(gone), snapshot_names=set())
    assert not (module / "test_snapshot" / "ghost").exists()
    assert kept.is_file()
