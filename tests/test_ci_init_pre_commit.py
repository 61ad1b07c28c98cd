"""`.pre-commit-hooks.yaml`: a valid pre-commit manifest whose hooks, run as pre-commit runs
them (entry + args, no file names), pass on an up-to-date output and fail on a stale or
broken one."""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner
from support import REPO

from generator.cli import main

MANIFEST = REPO / ".pre-commit-hooks.yaml"
HOOKS = {hook["id"]: hook for hook in yaml.safe_load(MANIFEST.read_text())}
#: What a user's .pre-commit-config.yaml passes to each hook (as the manifest's comment shows).
ARGS = {"tokengate-render-check": ["tokengate.yaml", "--out", "out"], "tokengate-verify": ["out"]}


def test_pre_commit_accepts_the_manifest() -> None:
    pre_commit = Path(sys.executable).with_name("pre-commit")
    done = subprocess.run(
        [str(pre_commit), "validate-manifest", str(MANIFEST)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_hooks_are_the_two_commands() -> None:
    assert set(HOOKS) == set(ARGS)
    for hook in HOOKS.values():
        assert hook["language"] == "python"  # pre-commit installs tokengate from this repo
        assert hook["pass_filenames"] is False  # both commands take folders, not file lists


def run_hook(hook_id: str, cwd: Path) -> int:
    argv = shlex.split(HOOKS[hook_id]["entry"]) + ARGS[hook_id]
    assert argv[0] == "tokengate"
    previous = Path.cwd()
    os.chdir(cwd)
    try:
        result = CliRunner().invoke(main, argv[1:], catch_exceptions=False)
    finally:
        os.chdir(previous)
    return result.exit_code


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    CliRunner().invoke(main, ["init", str(tmp_path / "tokengate.yaml")], catch_exceptions=False)
    result = CliRunner().invoke(
        main, ["render", str(tmp_path / "tokengate.yaml"), "--out", str(tmp_path / "out")]
    )
    assert result.exit_code == 0, result.output
    return tmp_path


def test_hooks_pass_on_an_up_to_date_output(repo: Path) -> None:
    assert run_hook("tokengate-render-check", repo) == 0
    assert run_hook("tokengate-verify", repo) == 0


def test_render_check_hook_fails_on_a_stale_output(repo: Path) -> None:
    spec = repo / "tokengate.yaml"
    spec.write_text(spec.read_text().replace("tokensPerMinute: 5000", "tokensPerMinute: 6000"))
    assert run_hook("tokengate-render-check", repo) == 1


def test_verify_hook_fails_on_a_broken_output(repo: Path) -> None:
    policy = next((repo / "out" / "policies").glob("*.xml"))
    policy.write_text(policy.read_text().replace("<base />", "", 1))
    assert run_hook("tokengate-verify", repo) == 2
