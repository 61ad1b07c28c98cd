"""`tokengate down`: azd projects via `azd down`, plain deployments via az (delete and purge)."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from fixtures.deploy.harness import SUBSCRIPTION_ID, FakeCli, fixture_text

from generator.cli import main
from generator.deploy.console import Console
from generator.deploy.teardown import DownOptions, down
from generator.pipeline import compile_path

SUB = ["--subscription", SUBSCRIPTION_ID]
TAG = {"tokengate-gateway": "lab-gateway"}
GROUP = {"name": "rg-lab", "location": "swedencentral", "tags": TAG}
RESOURCES = [
    {
        "name": "apim-lab-gateway-abc123",
        "type": "Microsoft.ApiManagement/service",
        "tags": {**TAG, "owner": "platform"},
    }
]


def invoke(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def fake(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> FakeCli:
    fake = FakeCli(tmp_path / "fake", monkeypatch, ("az", "azd")).healthy_az().healthy_azd()
    fake.answer("az", "group", "show", stdout=json.dumps(GROUP))
    fake.answer("az", "resource", "list", stdout=json.dumps(RESOURCES))
    fake.answer("az", "group", "delete", stdout="")
    fake.answer("az", "apim", "deletedservice", "list", stdout=fixture_text("deleted-apim.json"))
    fake.answer("az", "apim", "deletedservice", "purge", stdout="")
    fake.answer(
        "az", "cognitiveservices", "account", "list-deleted",
        stdout=fixture_text("deleted-accounts.json"),
    )  # fmt: skip
    fake.answer("az", "cognitiveservices", "account", "purge", stdout="")
    return fake


def test_plain_down_deletes_the_group_and_purges_only_its_soft_deleted_resources(
    fake: FakeCli, tmp_path: Path
) -> None:
    code, stdout, stderr = invoke("down", "-g", "rg-lab", "--yes", "--project-dir", str(tmp_path))
    assert code == 0, stderr
    assert fake.calls()[2:] == [
        ["az", "group", "show", "--name", "rg-lab", "--output", "json", *SUB],
        ["az", "resource", "list", "--resource-group", "rg-lab", "--output", "json", *SUB],
        ["az", "group", "delete", "--name", "rg-lab", "--yes", *SUB],
        ["az", "apim", "deletedservice", "list", "--output", "json", *SUB],
        ["az", "cognitiveservices", "account", "list-deleted", "--output", "json", *SUB],
        ["az", "apim", "deletedservice", "purge", "--service-name", "apim-lab-gateway-abc123",
         "--location", "swedencentral", *SUB],
        ["az", "cognitiveservices", "account", "purge", "--name", "lab-gateway-primary-abc123",
         "--resource-group", "rg-lab", "--location", "swedencentral", *SUB],
    ]  # fmt: skip
    assert "deleted resource group rg-lab" in stdout
    assert "ok    resource group rg-lab carries tokengate-gateway=lab-gateway" in stderr
    assert "ok    1 of 1 resources carry tokengate-gateway=lab-gateway" in stderr
    assert "purged API Management apim-lab-gateway-abc123, Azure OpenAI account " in stdout
    assert "other" not in stdout and "someone-elses" not in stdout


def test_down_twice_notes_the_missing_group_and_still_purges(fake: FakeCli, tmp_path: Path) -> None:
    gone = "ERROR: (ResourceGroupNotFound) Resource group 'rg-lab' could not be found.\n"
    fake.answer("az", "group", "show", stderr=gone, exit=3)
    fake.answer("az", "apim", "deletedservice", "list", stdout="[]")
    fake.answer("az", "cognitiveservices", "account", "list-deleted", stdout="[]")
    code, stdout, stderr = invoke("down", "-g", "rg-lab", "--yes", "--project-dir", str(tmp_path))
    assert code == 0, stderr
    assert "note  resource group rg-lab was already deleted" in stderr
    assert "resource group rg-lab was already deleted" in stdout
    assert "deleted resource group" not in stdout
    assert not any(call[1:3] == ["group", "delete"] for call in fake.calls())
    assert "resource group rg-lab was already deleted" in stdout
    assert "nothing soft-deleted to purge" in stdout


def test_group_deleted_between_the_check_and_the_delete_is_noted(
    fake: FakeCli, tmp_path: Path
) -> None:
    gone = "ERROR: (ResourceGroupNotFound) Resource group 'rg-lab' could not be found.\n"
    fake.answer("az", "group", "delete", stderr=gone, exit=3)
    code, stdout, stderr = invoke("down", "-g", "rg-lab", "--yes", "--project-dir", str(tmp_path))
    assert code == 0, stderr
    assert "note  resource group rg-lab was already deleted" in stderr
    assert "resource group rg-lab was already deleted" in stdout
    assert "deleted resource group" not in stdout


def test_failed_purge_exits_3(fake: FakeCli, tmp_path: Path) -> None:
    denied = (
        '{"error": {"code": "AuthorizationFailed", "message": "The client does not have '
        "authorization to perform action 'Microsoft.ApiManagement/locations/deletedservices/"
        "delete'.\"}}"
    )
    fake.answer("az", "apim", "deletedservice", "purge", stderr=f"ERROR: {denied}\n", exit=1)
    code, _, stderr = invoke("down", "-g", "rg-lab", "--yes", "--project-dir", str(tmp_path))
    assert code == 3
    assert "purging API Management apim-lab-gateway-abc123 failed (exit code 1)" in stderr
    assert "AuthorizationFailed: The client does not have authorization" in stderr
    assert "hint: your identity may not do this" in stderr


def test_azd_project_is_taken_down_by_azd(fake: FakeCli, tmp_path: Path) -> None:
    folder = tmp_path / "azd"
    folder.mkdir()
    (folder / "azure.yaml").write_text("name: lab-gateway\n")
    code, stdout, stderr = invoke("down", "--yes", "--project-dir", str(folder))
    assert code == 0, stderr
    assert fake.calls("azd")[-1] == [
        "azd", "down", "--environment", "lab-gateway", "--purge", "--force",
        "--cwd", str(folder), "--no-prompt",
    ]  # fmt: skip
    assert fake.calls("az") == []
    assert "deleted and purged the resources of azd environment lab-gateway" in stdout


def test_azd_down_failure_exits_3(fake: FakeCli, tmp_path: Path) -> None:
    folder = tmp_path / "azd"
    folder.mkdir()
    (folder / "azure.yaml").write_text("name: lab-gateway\n")
    fake.answer("azd", "down", stderr="ERROR: no deployment found for environment\n", exit=1)
    code, _, stderr = invoke("down", "--yes", "--project-dir", str(folder))
    assert code == 3
    assert "azd down failed (exit code 1)\n  ERROR: no deployment found" in stderr


def test_not_a_terminal_requires_yes(fake: FakeCli, tmp_path: Path) -> None:
    code, _, stderr = invoke("down", "-g", "rg-lab", "--project-dir", str(tmp_path))
    assert code == 2 and "pass --yes" in stderr
    assert fake.records() == []


def test_nothing_to_take_down(fake: FakeCli, tmp_path: Path) -> None:
    code, _, stderr = invoke("down", "--yes", "--project-dir", str(tmp_path / "none"))
    assert code == 2
    assert "nothing to take down" in stderr and "--resource-group" in stderr
    assert fake.records() == []


@pytest.mark.parametrize(("answer", "deleted"), [(False, False), (True, True)])
def test_down_asks_first_on_a_terminal(
    fake: FakeCli, tmp_path: Path, answer: bool, deleted: bool
) -> None:
    questions: list[str] = []

    def confirm(question: str) -> bool:
        questions.append(question)
        return answer

    out, err = io.StringIO(), io.StringIO()
    console = Console(
        out=lambda line: print(line, file=out),
        err=lambda line: print(line, file=err),
        progress_stream=err,
        interactive=False,
        confirm=confirm,
    )
    down(compile_path(None), DownOptions(project=tmp_path, resource_group="rg-lab"), console)
    assert len(questions) == 1
    assert "Delete resource group rg-lab in subscription Contoso Dev (1 resources: " in questions[0]
    assert any(call[1:3] == ["group", "delete"] for call in fake.calls()) is deleted
    assert ("nothing deleted" in err.getvalue()) is not deleted


def test_an_empty_group_name_is_refused_before_asking_for_yes(tmp_path: Path) -> None:
    """Off a terminal without --yes, the bad name is still what the user hears first."""
    result = CliRunner().invoke(main, ["down", "-g", "", "--project-dir", str(tmp_path)])
    assert result.exit_code == 2
    assert "--resource-group '': it is empty" in result.stderr
    assert "--yes" not in result.stderr.splitlines()[-1]
