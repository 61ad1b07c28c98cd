"""`--dry-run` writes nothing, anywhere: for every command that has the option (deploy, up, down).

The whole test folder (working directory, the folders given on the command line, HOME, the fake
CLIs' own folder) is snapshotted before and after: every path with its kind, size, content hash
and mtime, folders included, so a file written and removed again (a staging folder) still shows
in its parent's mtime. The fakes are on PATH, so a dry run that started az or azd would leave a
record of it.
"""

from __future__ import annotations

import hashlib
import os
import time
from pathlib import Path

import pytest
from click.testing import CliRunner
from fixtures.deploy.harness import FakeCli

from generator.cli import main
from generator.deploy import layout
from generator.pipeline import compile_path
from generator.write import write

Snapshot = dict[str, tuple[str, int, str, int]]


def tree(root: Path) -> Snapshot:
    """Every path under `root`: (kind, size, sha256 of the content, mtime in ns)."""
    found: Snapshot = {".": ("dir", 0, "", root.stat().st_mtime_ns)}
    for folder, dirs, files in os.walk(root):
        for name in dirs + files:
            path = Path(folder) / name
            info = path.lstat()
            if path.is_dir():
                entry = ("dir", 0, "", info.st_mtime_ns)
            else:
                content = path.read_bytes()
                entry = (
                    "file",
                    len(content),
                    hashlib.sha256(content).hexdigest(),
                    info.st_mtime_ns,
                )
            found[str(path.relative_to(root))] = entry
    return found


@pytest.fixture
def workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The working directory, with HOME inside the snapshotted tree too."""
    work = tmp_path / "work"
    home = tmp_path / "home"
    work.mkdir()
    home.mkdir()
    monkeypatch.chdir(work)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("PYTHONDONTWRITEBYTECODE", "1")
    return work


@pytest.fixture
def fake(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> FakeCli:
    return FakeCli(tmp_path / "fake", monkeypatch, ("az", "azd")).healthy_az().healthy_azd()


def invoke(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def assert_writes_nothing(root: Path, fake: FakeCli, *args: str) -> tuple[str, str]:
    before = tree(root)
    # mtimes have a coarse clock on some file systems: make any rewrite visible.
    time.sleep(0.02)
    code, stdout, stderr = invoke(*args)
    assert code == 0, stderr
    after = tree(root)
    changed = sorted(
        path for path in before.keys() | after.keys() if before.get(path) != after.get(path)
    )
    assert changed == [], f"{' '.join(args)} changed {changed}"
    assert fake.records() == [], "a dry run started az/azd"
    return stdout, stderr


def test_deploy_dry_run_on_a_fresh_folder_writes_no_out(
    fake: FakeCli, workspace: Path, tmp_path: Path
) -> None:
    stdout, stderr = assert_writes_nothing(tmp_path, fake, "deploy", "-g", "rg-lab", "--dry-run")
    assert not (workspace / "out").exists()
    assert "out: would add 21, change 0, remove 0 (0 unchanged); dry run, nothing written" in stderr
    assert stdout.splitlines()[1].startswith("az deployment group create ")


def test_deploy_dry_run_keeps_a_stale_out_as_it_is(
    fake: FakeCli, workspace: Path, tmp_path: Path
) -> None:
    """An `out/` from an older render (one file changed, one tokengate file gone, one file of
    the user's) stays byte for byte, mtimes included; the dry run only reports the plan."""
    code, _, stderr = invoke("render", "--out", "out")
    assert code == 0, stderr
    bicep = workspace / "out" / "main.bicep"
    bicep.write_text(bicep.read_text(encoding="utf-8") + "// edited\n", encoding="utf-8")
    (workspace / "out" / "main.parameters.json").unlink()
    (workspace / "out" / "notes.txt").write_text("mine\n", encoding="utf-8")
    stdout, stderr = assert_writes_nothing(
        tmp_path, fake, "deploy", "-g", "rg-lab", "--dry-run", "--force"
    )
    assert "would add 1, change 1" in stderr and "dry run, nothing written" in stderr
    assert len(stdout.splitlines()) == 2


def test_deploy_dry_run_with_what_if_prints_one_command(fake: FakeCli, tmp_path: Path) -> None:
    stdout, _ = assert_writes_nothing(
        tmp_path, fake, "deploy", "-g", "rg-lab", "--dry-run", "--what-if"
    )
    assert [line.split()[3] for line in stdout.splitlines()] == ["what-if"]


def test_up_dry_run_writes_no_azd_project(fake: FakeCli, workspace: Path, tmp_path: Path) -> None:
    stdout, stderr = assert_writes_nothing(tmp_path, fake, "up", "--dry-run")
    assert not (workspace / "azd").exists()
    assert "azd: would add" in stderr and "dry run, nothing written" in stderr
    assert [line.split()[:2] for line in stdout.splitlines()] == [["azd", "env"], ["azd", "up"]]


def test_up_dry_run_leaves_an_existing_project_and_environment_alone(
    fake: FakeCli, workspace: Path, tmp_path: Path
) -> None:
    """A project an earlier `up` wrote (one of its files since edited) and azd's state."""
    project = workspace / "azd"
    write(project, layout.azd_files(compile_path(None), None))
    (project / "azure.yaml").write_text("name: older\n", encoding="utf-8")
    environment = project / ".azure" / "lab-gateway"
    environment.mkdir(parents=True)
    (environment / ".env").write_text('AZURE_ENV_NAME="lab-gateway"\n', encoding="utf-8")
    stdout, stderr = assert_writes_nothing(tmp_path, fake, "up", "--dry-run")
    assert stdout.splitlines() == ["azd up --environment lab-gateway --cwd azd --no-prompt"]
    assert "would add 0, change 1, remove 0" in stderr


def test_down_dry_run_plain_group_writes_nothing(fake: FakeCli, tmp_path: Path) -> None:
    stdout, _ = assert_writes_nothing(tmp_path, fake, "down", "-g", "rg-lab", "--dry-run")
    commands = [line for line in stdout.splitlines() if not line.startswith("#")]
    assert [c.split()[:3] for c in commands] == [
        ["az", "group", "show"],
        ["az", "resource", "list"],
        ["az", "group", "delete"],
        ["az", "apim", "deletedservice"],
        ["az", "cognitiveservices", "account"],
    ]


def test_down_dry_run_azd_project_writes_nothing(
    fake: FakeCli, workspace: Path, tmp_path: Path
) -> None:
    project = workspace / "azd"
    project.mkdir()
    (project / "azure.yaml").write_text("name: lab-gateway\n", encoding="utf-8")
    stdout, _ = assert_writes_nothing(tmp_path, fake, "down", "--dry-run")
    assert stdout.startswith("azd down --environment lab-gateway --purge --force")


def test_the_snapshot_sees_a_rewrite_with_the_same_bytes(tmp_path: Path) -> None:
    """The check can fail: rewriting a file with its own content changes its mtime."""
    path = tmp_path / "file.txt"
    path.write_text("same\n", encoding="utf-8")
    before = tree(tmp_path)
    time.sleep(0.02)
    path.write_text("same\n", encoding="utf-8")
    assert tree(tmp_path)["file.txt"] != before["file.txt"]


@pytest.mark.parametrize(
    "command",
    [["deploy", "--dry-run", "-g", "rg-lab"], ["render", "--check"], ["render"]],
    ids=["deploy-dry-run", "render-check", "render"],
)
def test_dry_runs_leave_the_template_cache_alone(
    command: list[str], fake: FakeCli, tmp_path: Path
) -> None:
    """The compiled-template cache lives outside the project (XDG_CACHE_HOME); a command that
    promises to write nothing must not create it or add to it. A real render does fill it, so
    the test would see a write."""
    import subprocess
    import sys

    cache = tmp_path / "cache"
    cache.mkdir(mode=0o700)
    before = tree(cache)
    env = {**os.environ, "XDG_CACHE_HOME": str(cache)}  # PATH: the fakes (az records calls)
    env.pop("TOKENGATE_NO_CACHE", None)
    done = subprocess.run(
        [sys.executable, "-m", "generator", *command, "--out", str(tmp_path / "out")],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode in (0, 1), done.stderr
    if command == ["render"]:
        assert tree(cache) != before, "a real render caches its compiled templates"
    else:
        assert tree(cache) == before
