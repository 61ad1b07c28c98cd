"""Writing: only owned files touched, unchanged ones not rewritten, failures leave out/ alone."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from generator.errors import TokengateError
from generator.pipeline import compile_path
from generator.render import RenderedFile
from generator.write import MANIFEST, plan, read_manifest, write


@pytest.fixture(scope="module")
def lab_files() -> dict[str, RenderedFile]:
    return compile_path(None).files


def snapshot_tree(folder: Path) -> dict[str, tuple[bytes, int]]:
    return {
        str(p.relative_to(folder)): (p.read_bytes(), p.stat().st_mtime_ns)
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


#: An mtime far from now, so any rewrite shows.
OLD = 1_000_000_000_000_000_000


def write_aged(out: Path, files: dict[str, RenderedFile]) -> None:
    """Write `files`, then date every one to OLD."""
    write(out, files)
    for path in files:
        os.utime(out / path, ns=(OLD, OLD))


def test_first_write_creates_everything(tmp_path: Path, lab_files: dict[str, RenderedFile]) -> None:
    out = tmp_path / "out"
    done = write(out, lab_files)
    assert sorted(done.added) == sorted(lab_files)
    for path, rendered in lab_files.items():
        assert (out / path).read_text(encoding="utf-8") == rendered.content
    assert set(read_manifest(out)) == set(lab_files)
    leftovers = [p.name for p in tmp_path.iterdir() if p.name != "out"]
    assert leftovers == [], "the staging folder was not cleaned up"


def test_unchanged_files_are_not_rewritten(
    tmp_path: Path, lab_files: dict[str, RenderedFile]
) -> None:
    out = tmp_path / "out"
    write_aged(out, lab_files)
    before = snapshot_tree(out)
    done = write(out, lab_files)
    assert not done.has_changes
    assert snapshot_tree(out) == before


def test_only_changed_file_is_rewritten(tmp_path: Path, lab_files: dict[str, RenderedFile]) -> None:
    out = tmp_path / "out"
    write_aged(out, lab_files)
    changed = dict(lab_files)
    changed["main.bicep"] = RenderedFile("main.bicep", lab_files["main.bicep"].content + "// x\n")
    done = write(out, changed)
    assert done.changed == ["main.bicep"]
    for path in lab_files:
        touched = (out / path).stat().st_mtime_ns != OLD
        assert touched == (path == "main.bicep"), path


def test_removed_outputs_are_deleted_foreign_files_kept(
    tmp_path: Path, lab_files: dict[str, RenderedFile]
) -> None:
    out = tmp_path / "out"
    write(out, lab_files)
    (out / "README.md").write_text("mine", encoding="utf-8")
    (out / "modules" / "notes.txt").write_text("mine too", encoding="utf-8")
    fewer = {p: f for p, f in lab_files.items() if p != "modules/monitoring.bicep"}
    done = write(out, fewer)
    assert done.removed == ["modules/monitoring.bicep"]
    assert not (out / "modules/monitoring.bicep").exists()
    assert (out / "README.md").read_text(encoding="utf-8") == "mine"
    assert (out / "modules" / "notes.txt").exists()


def test_foreign_file_at_an_output_path_is_refused(
    tmp_path: Path, lab_files: dict[str, RenderedFile]
) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "main.bicep").write_text("// hand written\n", encoding="utf-8")
    with pytest.raises(TokengateError, match="did not write"):
        write(out, lab_files)
    assert (out / "main.bicep").read_text(encoding="utf-8") == "// hand written\n"
    assert not (out / MANIFEST).exists()
    done = write(out, lab_files, force=True)
    assert "main.bicep" in done.changed


def test_failure_mid_write_leaves_previous_output(
    tmp_path: Path, lab_files: dict[str, RenderedFile]
) -> None:
    """A file that cannot be staged (a directory squats on its path) aborts before any move."""
    out = tmp_path / "out"
    write(out, lab_files)
    before = snapshot_tree(out)
    changed = {p: RenderedFile(p, f.content + "// v2\n") for p, f in lab_files.items()}
    changed["modules/new.bicep/inner"] = RenderedFile("x", "x")
    changed["modules/new.bicep"] = RenderedFile("modules/new.bicep", "// clash\n")
    with pytest.raises(TokengateError, match="nothing was moved"):
        write(out, changed)
    assert snapshot_tree(out) == before
    assert [p.name for p in tmp_path.iterdir()] == ["out"]


def test_plan_reports_drift(tmp_path: Path, lab_files: dict[str, RenderedFile]) -> None:
    out = tmp_path / "out"
    write(out, lab_files)
    (out / "policies" / "api-azure-openai.xml").write_text("<policies/>", encoding="utf-8")
    todo = plan(out, lab_files)
    assert todo.changed == ["policies/api-azure-openai.xml"]
    assert todo.lines() == ["changed  policies/api-azure-openai.xml"]


def test_corrupt_manifest_is_a_clear_error(
    tmp_path: Path, lab_files: dict[str, RenderedFile]
) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / MANIFEST).write_text("not json", encoding="utf-8")
    with pytest.raises(TokengateError, match="not a tokengate manifest"):
        write(out, lab_files)


def test_file_in_the_way_of_a_folder_moves_nothing(
    tmp_path: Path, lab_files: dict[str, RenderedFile]
) -> None:
    """`out/modules` is a file: the error names it, and no rendered file is moved in."""
    out = tmp_path / "out"
    out.mkdir()
    (out / "modules").write_text("not a folder", encoding="utf-8")
    with pytest.raises(TokengateError, match="modules"):
        write(out, lab_files)
    assert sorted(p.name for p in out.iterdir()) == ["modules"]
