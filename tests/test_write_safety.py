"""Writing touches only what it owns, only inside `out/`: manifest paths that escape, symlinked
sub-folders (also with --force), edited files, invalid manifests, FIFOs and devices, a symlinked
`out/` on another file system, leftover staging folders; and `init`, `deploy` and `render`
agree on what they own."""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import stat
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from support import FIXTURES

from generator.cli import SCHEMA_FILE_NAME, main
from generator.errors import TokengateError
from generator.manifest import JOURNAL, MANIFEST, STAGING_PREFIX, digest
from generator.pipeline import compile_path
from generator.render import RenderedFile
from generator.write import plan, write


@pytest.fixture(scope="module")
def lab_files() -> dict[str, RenderedFile]:
    return compile_path(None).files


def invoke(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args))
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exc_info
    return result.exit_code, result.stdout, result.stderr


def add_to_manifest(out: Path, path: str, content: bytes) -> None:
    manifest = out / MANIFEST
    document = json.loads(manifest.read_text(encoding="utf-8"))
    document["files"][path] = digest(content)
    manifest.write_text(json.dumps(document), encoding="utf-8")


@pytest.mark.parametrize("escape", ["../victim.txt", "ABSOLUTE", "modules/../../victim.txt"])
def test_manifest_path_outside_out_is_invalid_and_nothing_is_removed(
    tmp_path: Path, escape: str
) -> None:
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me", encoding="utf-8")
    out = tmp_path / "out"
    assert invoke("render", "--out", str(out))[0] == 0
    add_to_manifest(out, str(victim) if escape == "ABSOLUTE" else escape, b"keep me")
    code, _, stderr = invoke("render", "--out", str(out))
    assert code == 2 and "not a tokengate manifest" in stderr and "not inside" in stderr
    assert "Traceback" not in stderr
    assert victim.read_text(encoding="utf-8") == "keep me"
    assert invoke("render", "--out", str(out), "--check")[0] == 2


@pytest.mark.parametrize("force", [False, True])
def test_symlinked_sub_folder_is_never_written_through(tmp_path: Path, force: bool) -> None:
    out, elsewhere = tmp_path / "out", tmp_path / "elsewhere"
    assert invoke("render", "--out", str(out))[0] == 0
    shutil.rmtree(out / "modules")
    elsewhere.mkdir()
    (elsewhere / "apim.bicep").write_text("precious", encoding="utf-8")
    (out / "modules").symlink_to(elsewhere, target_is_directory=True)
    code, _, stderr = invoke("render", "--out", str(out), *(["--force"] if force else []))
    assert code == 2 and "symlink" in stderr and "nothing was written" in stderr
    assert sorted(p.name for p in elsewhere.iterdir()) == ["apim.bicep"]
    assert (elsewhere / "apim.bicep").read_text(encoding="utf-8") == "precious"


def test_owned_file_reached_through_a_symlink_is_not_removed(
    tmp_path: Path, lab_files: dict[str, RenderedFile]
) -> None:
    out, elsewhere = tmp_path / "out", tmp_path / "elsewhere"
    write(out, lab_files)
    content = (out / "modules" / "apim.bicep").read_bytes()
    shutil.move(out / "modules", elsewhere)
    (out / "modules").symlink_to(elsewhere, target_is_directory=True)
    fewer = {p: f for p, f in lab_files.items() if not p.startswith("modules/")}
    done = write(out, fewer)
    assert ("modules/apim.bicep", "modules is a symlink or not a folder") in done.kept
    assert (elsewhere / "apim.bicep").read_bytes() == content


def test_edited_file_is_kept_not_removed(
    tmp_path: Path, lab_files: dict[str, RenderedFile]
) -> None:
    out = tmp_path / "out"
    write(out, lab_files)
    query = out / "queries" / "throttled-rate.kql"
    query.write_text("// my own query now\n", encoding="utf-8")
    fewer = {p: f for p, f in lab_files.items() if p != "queries/throttled-rate.kql"}
    done = write(out, fewer)
    assert done.kept == [("queries/throttled-rate.kql", "changed since tokengate wrote it")]
    assert "kept     queries/throttled-rate.kql (changed since tokengate wrote it)" in done.lines()
    assert query.read_text(encoding="utf-8") == "// my own query now\n"
    assert "queries/throttled-rate.kql" not in json.loads((out / MANIFEST).read_text())["files"]
    assert not write(out, fewer).has_changes


def test_edited_file_is_not_overwritten_without_force(
    tmp_path: Path, lab_files: dict[str, RenderedFile]
) -> None:
    out = tmp_path / "out"
    write(out, lab_files)
    (out / "main.bicep").write_text("// my edit\n", encoding="utf-8")
    changed = dict(lab_files)
    changed["main.bicep"] = RenderedFile("main.bicep", lab_files["main.bicep"].content + "// v2\n")
    with pytest.raises(TokengateError, match="changed since tokengate wrote it"):
        write(out, changed)
    assert (out / "main.bicep").read_text(encoding="utf-8") == "// my edit\n"
    assert write(out, changed, force=True).changed == ["main.bicep"]
    assert (out / "main.bicep").read_text(encoding="utf-8") == changed["main.bicep"].content


@pytest.mark.parametrize(
    "manifest",
    [
        '{"files": null}',
        "[]",
        "null",
        '{"files": {"main.bicep": 1}}',
        '{"files": {"main.bicep": "not-a-hash"}}',
        '{"files": {"": "' + "0" * 64 + '"}}',
        '{"files": {".tokengate-journal.json": "' + "0" * 64 + '"}}',
        "{not json",
        b"\xff\xfe".decode("latin-1"),
    ],
)
def test_invalid_manifest_is_a_clear_error(tmp_path: Path, manifest: str) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / MANIFEST).write_text(manifest, encoding="latin-1")
    for args in (["render", "--out", str(out)], ["render", "--out", str(out), "--check"]):
        code, _, stderr = invoke(*args)
        assert code == 2 and "not a tokengate manifest" in stderr, stderr
        assert "Traceback" not in stderr
    assert sorted(p.name for p in out.iterdir()) == [MANIFEST]


@pytest.mark.parametrize("journal", ['{"old": null, "new": {}}', "[1]", "{"])
def test_invalid_journal_is_a_clear_error(tmp_path: Path, journal: str) -> None:
    out = tmp_path / "out"
    assert invoke("render", "--out", str(out))[0] == 0
    (out / JOURNAL).write_text(journal, encoding="utf-8")
    code, _, stderr = invoke("render", "--out", str(out))
    assert code == 2 and "not a tokengate journal" in stderr


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    """In a child process with a timeout, so a hang fails the test instead of stalling it."""
    command = [sys.executable, "-m", "generator", *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)


def test_fifo_where_a_file_goes_is_an_error_not_a_hang(tmp_path: Path) -> None:
    out = tmp_path / "out"
    (out / "modules").mkdir(parents=True)
    os.mkfifo(out / "modules" / "apim.bicep")
    for args in (["render", "--out", str(out)], ["render", "--out", str(out), "--check"]):
        result = run_cli(*args)
        assert result.returncode == 2, result
        assert "modules/apim.bicep: a FIFO where tokengate writes a file" in result.stderr
        assert "Traceback" not in result.stderr
    assert (out / "modules" / "apim.bicep").is_fifo()


def test_fifo_as_manifest_or_elsewhere(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    os.mkfifo(out / "notes.fifo")  # not tokengate's business: left alone
    assert run_cli("render", "--out", str(out)).returncode == 0
    assert (out / "notes.fifo").is_fifo()
    (out / MANIFEST).unlink()
    os.mkfifo(out / MANIFEST)
    result = run_cli("render", "--out", str(out))
    assert result.returncode == 2 and "a FIFO, not a regular file" in result.stderr, result


def test_symlink_where_a_file_goes_is_an_error_even_with_force(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "main.bicep").symlink_to("/dev/null")
    code, _, stderr = invoke("render", "--out", str(out), "--force")
    assert code == 2 and "a symlink where tokengate writes a file" in stderr
    assert (out / "main.bicep").is_symlink()


def test_device_where_a_file_goes_is_an_error(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    try:
        os.mknod(out / "main.bicep", stat.S_IFCHR | 0o600, os.makedev(1, 3))  # like /dev/null
    except PermissionError:
        pytest.skip("this machine does not allow making device nodes (needs root)")
    code, _, stderr = invoke("render", "--out", str(out), "--force")
    assert code == 2 and "a character device where tokengate writes a file" in stderr
    assert (out / "main.bicep").is_char_device()


def test_out_as_a_dangling_symlink_or_a_file_is_an_error(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.symlink_to(tmp_path / "gone")
    code, _, stderr = invoke("render", "--out", str(out))
    assert code == 2 and "which does not exist" in stderr
    out.unlink()
    out.write_text("a file", encoding="utf-8")
    code, _, stderr = invoke("render", "--out", str(out))
    assert code == 2 and "is a file" in stderr
    out.unlink()
    os.mkfifo(out)
    code, _, stderr = invoke("render", "--out", str(out))
    assert code == 2 and "a FIFO, not a folder" in stderr


@pytest.fixture
def other_file_system() -> Iterator[Path]:
    """A folder on tmpfs (/dev/shm), which is another file system than the test's tmp_path."""
    folder = Path(tempfile.mkdtemp(prefix="tokengate-out-", dir="/dev/shm"))
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def test_out_symlinked_to_another_file_system(
    tmp_path: Path, other_file_system: Path, lab_files: dict[str, RenderedFile]
) -> None:
    assert other_file_system.stat().st_dev != tmp_path.stat().st_dev, "not another file system"
    out = tmp_path / "out"
    out.symlink_to(other_file_system, target_is_directory=True)
    done = write(out, lab_files)
    assert sorted(done.added) == sorted(lab_files)
    assert (other_file_system / "main.bicep").read_text() == lab_files["main.bicep"].content
    changed = dict(lab_files)
    changed["main.bicep"] = RenderedFile("main.bicep", lab_files["main.bicep"].content + "// 2\n")
    assert write(out, changed).changed == ["main.bicep"]
    assert out.is_symlink()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]
    assert not [p for p in other_file_system.iterdir() if p.name.startswith(STAGING_PREFIX)]


def test_leftover_staging_folders_are_removed(
    tmp_path: Path, lab_files: dict[str, RenderedFile]
) -> None:
    out = tmp_path / "out"
    write(out, lab_files)
    legacy = tmp_path / ".out.tokengate-abc123"  # where older versions staged
    (legacy / "modules").mkdir(parents=True)
    inside = out / f"{STAGING_PREFIX}xyz"
    inside.mkdir()
    (inside / "00001").write_text("half", encoding="utf-8")
    assert not write(out, lab_files).has_changes
    assert not legacy.exists() and not inside.exists()


def test_check_writes_nothing_even_when_interrupted(tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert invoke("render", "--out", str(out))[0] == 0
    (out / JOURNAL).write_text('{"old": {}, "new": {}}', encoding="utf-8")
    before = {p: (p.read_bytes(), p.stat().st_mtime_ns) for p in out.rglob("*") if p.is_file()}
    code, stdout, stderr = invoke("render", "--out", str(out), "--check")
    assert code == 1 and "interrupted" in stderr and "interrupted" in stdout
    after = {p: (p.read_bytes(), p.stat().st_mtime_ns) for p in out.rglob("*") if p.is_file()}
    assert after == before
    code, stdout, _ = invoke("render", "--out", str(out))
    assert code == 0 and "finished an earlier write" in stdout
    assert not (out / JOURNAL).exists()


def test_plan_on_a_missing_folder_adds_everything(
    tmp_path: Path, lab_files: dict[str, RenderedFile]
) -> None:
    assert sorted(plan(tmp_path / "nothing", lab_files).added) == sorted(lab_files)


def test_render_and_subscription_scope_deploy_write_the_same_set(tmp_path: Path) -> None:
    """`deploy` at subscription scope writes subscription.bicep; `render` of the same spec writes
    it too, so `render --check` after a deploy is clean and a render removes nothing. (`deploy
    --dry-run` writes nothing but says what a deploy would write.)"""
    spec = FIXTURES / "deploy" / "subscription-scope.yaml"
    out = tmp_path / "out"
    code, stdout, _ = invoke("render", str(spec), "--out", str(out))
    assert code == 0, stdout
    assert (out / "subscription.bicep").is_file()
    assert (out / "subscription.parameters.json").is_file()
    code, _, stderr = invoke("deploy", str(spec), "--dry-run", "--out", str(out))
    assert code == 0 and "would add 0, change 0, remove 0" in stderr, stderr
    code, stdout, _ = invoke("render", str(spec), "--out", str(out), "--check")
    assert code == 0, stdout


def test_init_refuses_to_overwrite_the_schema_file(tmp_path: Path) -> None:
    spec, schema = tmp_path / "tokengate.yaml", tmp_path / SCHEMA_FILE_NAME
    schema.write_text("mine", encoding="utf-8")
    code, _, stderr = invoke("init", str(spec))
    assert code == 2 and SCHEMA_FILE_NAME in stderr and "--force" in stderr
    assert schema.read_text(encoding="utf-8") == "mine" and not spec.exists()
    assert invoke("init", str(spec), "--force")[0] == 0
    assert json.loads(schema.read_text(encoding="utf-8"))["$schema"]


def test_a_second_write_at_the_same_time_is_refused(
    tmp_path: Path, lab_files: dict[str, RenderedFile]
) -> None:
    out = tmp_path / "out"
    write(out, lab_files)
    descriptor = os.open(out, os.O_RDONLY)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX)  # what a running write holds
        with pytest.raises(TokengateError, match="another tokengate write is running"):
            write(out, lab_files)
    finally:
        os.close(descriptor)
    assert not write(out, lab_files).has_changes
