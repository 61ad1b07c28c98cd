"""`tokengate ci init`: the workflow is valid against SchemaStore's github-workflows schema, has
the expected jobs and steps, pins every action to a full commit SHA, and refuses unsafe values."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from generator.ci_init import ACTIONS, WORKFLOW_PATH
from generator.cli import main

INSTALL = "git+https://github.com/example/tokengate@v0.1.0"


def ci_init(cwd: Path, *args: str) -> tuple[int, str, str]:
    previous = Path.cwd()
    os.chdir(cwd)
    try:
        result = CliRunner().invoke(main, ["ci", "init", *args], catch_exceptions=False)
    finally:
        os.chdir(previous)
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def workflow(tmp_path: Path) -> Path:
    code, out, err = ci_init(tmp_path, "--install", INSTALL)
    assert code == 0, err
    assert out.startswith(f"wrote {WORKFLOW_PATH}")
    return tmp_path / WORKFLOW_PATH


def test_valid_against_the_github_workflows_schema(workflow: Path) -> None:
    checker = Path(sys.executable).with_name("check-jsonschema")
    done = subprocess.run(
        [str(checker), "--builtin-schema", "vendor.github-workflows", str(workflow)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_schema_check_can_fail(workflow: Path) -> None:
    broken = workflow.with_name("broken.yml")
    broken.write_text(workflow.read_text().replace("runs-on:", "runs_on:", 1))
    checker = Path(sys.executable).with_name("check-jsonschema")
    done = subprocess.run(
        [str(checker), "--builtin-schema", "vendor.github-workflows", str(broken)],
        capture_output=True,
        check=False,
    )
    assert done.returncode == 1


def test_jobs_and_what_they_run(workflow: Path) -> None:
    document = yaml.safe_load(workflow.read_text())
    triggers = document[True]  # YAML 1.1 reads the key `on` as a boolean
    assert set(triggers) == {"pull_request", "push"}
    assert triggers["push"]["branches"] == ["main"]
    jobs = document["jobs"]
    assert list(jobs) == ["check", "diff", "what-if", "deploy"]

    def runs(job: str) -> str:
        return "\n".join(step.get("run", "") for step in jobs[job]["steps"])

    assert 'tokengate render "$TOKENGATE_SPEC" --out "$TOKENGATE_OUT" --check' in runs("check")
    assert "tokengate verify" in runs("check") and "--format sarif" in runs("check")
    upload = next(s for s in jobs["check"]["steps"] if "upload-sarif" in s.get("uses", ""))
    assert upload["with"]["sarif_file"] == "tokengate.sarif"
    assert jobs["check"]["permissions"]["security-events"] == "write"
    assert "tokengate diff" in runs("diff") and "--format markdown" in runs("diff")
    assert "gh pr comment" in runs("diff")
    assert jobs["diff"]["permissions"]["pull-requests"] == "write"
    assert "--what-if" in runs("what-if")
    assert "vars.AZURE_CLIENT_ID != ''" in jobs["what-if"]["if"]
    assert jobs["what-if"]["permissions"]["id-token"] == "write"
    assert "--yes" in runs("deploy")
    assert jobs["deploy"]["if"] == "github.event_name == 'push' && vars.AZURE_CLIENT_ID != ''"
    assert document["permissions"] == {"contents": "read"}
    assert document["env"]["TOKENGATE_INSTALL"] == INSTALL


def test_actions_are_pinned_to_commit_shas_with_their_tag(workflow: Path) -> None:
    lines = [line for line in workflow.read_text().splitlines() if "uses:" in line]
    assert lines
    used: set[str] = set()
    for line in lines:
        match = re.fullmatch(r"\s*(?:- )?uses: ([\w./-]+)@([0-9a-f]{40})  # (v\d+\.\d+\.\d+)", line)
        assert match, line
        used.add(match.group(2))
    assert used == {action.sha for action in ACTIONS.values()}


def test_expressions_pass_through_untouched(workflow: Path) -> None:
    text = workflow.read_text()
    assert "${{ github.base_ref }}" in text
    assert "${{ vars.AZURE_CLIENT_ID }}" in text
    assert "[[" not in text and "[%" not in text


def test_options_are_written_as_quoted_strings(tmp_path: Path) -> None:
    code, _, err = ci_init(
        tmp_path,
        "--install",
        "./tools/tokengate-0.1.0-py3-none-any.whl",
        "--spec",
        "infra/gateway.yaml",
        "--out",
        "infra/out",
        "--branch",
        "release/1.x",
        "--python",
        "3.11",
        "--environment",
        "prod-eu",
    )
    assert code == 0, err
    document = yaml.safe_load((tmp_path / WORKFLOW_PATH).read_text())
    assert document[True]["pull_request"]["paths"][:2] == ["infra/gateway.yaml", "infra/out/**"]
    assert document["jobs"]["deploy"]["environment"] == "prod-eu"
    assert document["env"]["TOKENGATE_SPEC"] == "infra/gateway.yaml"


@pytest.mark.parametrize(
    ("option", "value"),
    [
        ("--spec", "../outside.yaml"),
        ("--spec", "/abs/tokengate.yaml"),
        ("--out", "out; rm -rf /"),
        ("--branch", "main\nname: evil"),
        ("--environment", "${{ secrets.X }}"),
        ("--python", "latest"),
        ("--install", "tokengate ${{ secrets.TOKEN }}"),
    ],
)
def test_unsafe_values_are_refused(tmp_path: Path, option: str, value: str) -> None:
    args = ["--install", INSTALL, option, value]
    code, _, err = ci_init(tmp_path, *args)
    assert code == 2
    assert option in err
    assert not (tmp_path / WORKFLOW_PATH).exists()


def test_install_is_required(tmp_path: Path) -> None:
    """The PyPI name 'tokengate' belongs to another project: CI must be told what to install."""
    code, _, err = ci_init(tmp_path)
    assert code == 2 and "--install" in err


def test_refuses_to_overwrite_without_force(workflow: Path) -> None:
    workflow.write_text("mine\n")
    code, _, err = ci_init(workflow.parents[2], "--install", INSTALL)
    assert code == 2 and "already exists" in err
    assert workflow.read_text() == "mine\n"
    code, _, _ = ci_init(workflow.parents[2], "--install", INSTALL, "--force")
    assert code == 0 and workflow.read_text() != "mine\n"
