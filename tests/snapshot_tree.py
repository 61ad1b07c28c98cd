"""A syrupy extension that lays snapshots out as the output tree they mirror.

`tree_snapshot("minimal/modules/api.bicep") == text` (the conftest fixture) keeps the expected
text at `tests/__snapshots__/test_render/test_snapshot/minimal/modules/api.bicep`: one file per
output file, at its real path with its real extension, so a fixture's expected output can be
browsed, or compared with `diff -r`, like the `out/` folder it stands for.

Layout: `__snapshots__/<test module>/<test function>/<relative path>`. The test function's
folder keeps every tree owned by exactly one test (syrupy's own single-file layout is
`__snapshots__/<test module>/<test id>.<ext>`), and the snapshot name is read back from the path
alone, which is what lets syrupy tell a used snapshot from an unused one.

Syrupy's unused-snapshot report finds the tests that may own a file by the file's stem and its
folder's name, so it does not relate a nested tree file to the test that ran when pytest is given
paths (`pytest tests/test_render.py`): it then neither reports nor deletes a stray tree file.
A whole-suite run (or `-k`) does. `test_render.py` therefore also checks the tree against the
rendered files itself, so a stray file fails either way.
"""

from __future__ import annotations

from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING

from syrupy.data import Snapshot, SnapshotCollection
from syrupy.extensions.base import AbstractSyrupyExtension
from syrupy.extensions.single_file import SingleFileSnapshotExtension, WriteMode

if TYPE_CHECKING:
    from syrupy.location import PyTestLocation
    from syrupy.types import SnapshotIndex


def tree_path(index: SnapshotIndex) -> PurePosixPath:
    """The snapshot's path inside its tree: a relative POSIX path that stays inside it."""
    if not isinstance(index, str):
        raise TypeError(f"a tree snapshot needs a path as its name, not {index!r}")
    path = PurePosixPath(index)
    if path.is_absolute() or not path.parts or ".." in path.parts or "\\" in index:
        raise ValueError(f"a tree snapshot path must be relative and inside the tree: {index!r}")
    return path


class OutputTreeSnapshot(SingleFileSnapshotExtension):
    """Text snapshots stored at `__snapshots__/<module>/<test>/<path>` (see the module doc)."""

    # The real extension is part of the path; no suffix is added.
    file_extension = ""
    _write_mode = WriteMode.TEXT

    @classmethod
    def module_dir(cls, *, test_location: PyTestLocation) -> Path:
        """`__snapshots__/<test module>`: where every tree of one test module lives."""
        snapshots = AbstractSyrupyExtension.dirname(test_location=test_location)
        return Path(snapshots) / test_location.basename

    @staticmethod
    def test_folder(test_location: PyTestLocation) -> str:
        """The test function (with its class), without parameters: one tree per test."""
        if test_location.classname is not None:
            return f"{test_location.classname}.{test_location.methodname}"
        return test_location.methodname

    @classmethod
    def dirname(cls, *, test_location: PyTestLocation) -> str:
        """The root of this test's tree."""
        return str(cls.module_dir(test_location=test_location) / cls.test_folder(test_location))

    @classmethod
    def discovery_dirname(cls, *, test_location: PyTestLocation) -> str:
        # The whole module folder, so the tree of a renamed or deleted test is found too.
        return str(cls.module_dir(test_location=test_location))

    @classmethod
    def get_snapshot_name(cls, *, test_location: PyTestLocation, index: SnapshotIndex = 0) -> str:
        return f"{cls.test_folder(test_location)}[{tree_path(index)}]"

    @classmethod
    def get_location(cls, *, test_location: PyTestLocation, index: SnapshotIndex) -> str:
        root = Path(cls.dirname(test_location=test_location))
        return str(root.joinpath(*tree_path(index).parts))

    @classmethod
    def matches_test_location(
        cls, *, test_location: PyTestLocation, snapshot_location: str
    ) -> bool:
        return Path(snapshot_location).is_relative_to(cls.dirname(test_location=test_location))

    def is_snapshot_location(self, *, location: str) -> bool:
        # Any extension: the file's own suffix is the rendered file's.
        return True

    def owns_snapshot_collection(self, *, filepath: str, test_location: PyTestLocation) -> bool:
        # Files at least one folder below the module folder; syrupy's own single-file snapshots
        # sit directly in it and stay with their extensions.
        module_dir = self.module_dir(test_location=test_location)
        path = Path(filepath)
        return path.is_relative_to(module_dir) and len(path.relative_to(module_dir).parts) >= 2

    def read_snapshot_collection(self, *, snapshot_location: str) -> SnapshotCollection:
        """The one snapshot in a tree file, named as `get_snapshot_name` names it."""
        test, *inside = self.parts_below_module(Path(snapshot_location))
        collection = SnapshotCollection(location=snapshot_location)
        collection.add(Snapshot(name=f"{test}[{PurePosixPath(*inside)}]"))
        return collection

    @classmethod
    def parts_below_module(cls, path: Path) -> tuple[str, ...]:
        """`(test, *path inside the tree)` of a file under `__snapshots__/<module>/`."""
        for folder in path.parents:
            if folder.parent.name == str(cls.snapshot_dirname):
                return path.relative_to(folder).parts
        raise ValueError(f"{path} is not inside a {cls.snapshot_dirname} folder")

    def delete_snapshots(self, *, snapshot_location: str, snapshot_names: set[str]) -> None:
        """Remove the file, then the folders it leaves empty (up to the module folder)."""
        path = Path(snapshot_location)
        path.unlink()
        depth = len(self.parts_below_module(path))
        for folder in list(path.parents)[: depth - 1]:
            if any(folder.iterdir()):
                break
            folder.rmdir()
