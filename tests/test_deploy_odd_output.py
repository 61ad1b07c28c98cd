"""az printing something unexpected (null, a list, a wrong shape, text) is a message, never a
traceback; a deployment az reports as succeeded is reported as succeeded even when its outputs
cannot be read.

Against fake `az`/`azd` on PATH; `catch_exceptions=False`, so a traceback fails the test.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from fixtures.deploy.harness import FakeCli

from generator.cli import main
from generator.deploy.outputs import OutputsUnreadable, from_deployment
from generator.deploy.progress import parse_operations
from generator.deploy.whatif import parse as parse_what_if
from generator.errors import TokengateError

ODD = ["null", "[]", "5", '"text"', "true", "{}", "not json at all", ""]


@pytest.fixture
def fake(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> FakeCli:
    return FakeCli(tmp_path / "fake", monkeypatch, ("az", "azd")).healthy_az().healthy_azd()


def deploy(tmp_path: Path, *extra: str) -> tuple[int, str, str]:
    args = ["deploy", "-g", "rg-lab", "--yes", "--out", str(tmp_path / "out"), *extra]
    result = CliRunner().invoke(main, args, catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def created(fake: FakeCli) -> bool:
    return any(call[1:4] == ["deployment", "group", "create"] for call in fake.calls())


@pytest.mark.parametrize("printed", ["null", "[]", '"Contoso"', "7", "{}", '{"id": ""}'])
def test_account_show_without_an_account_is_a_preflight_failure(
    fake: FakeCli, tmp_path: Path, printed: str
) -> None:
    fake.answer("az", "account", "show", stdout=printed)
    code, _, stderr = deploy(tmp_path)
    assert code == 3, stderr
    assert stderr.count("preflight: ") == 1
    assert "printed no account" in stderr or "named no subscription id" in stderr
    assert "hint: run `az login`" in stderr
    assert not created(fake)


@pytest.mark.parametrize(
    ("printed", "said"),
    [
        ('{"changes": 5}', "`changes` as a number"),
        ('{"changes": "all"}', "`changes` as a string"),
        ('{"changes": [5]}', "a change that is a number, not an object"),
        ('{"changes": [null]}', "a change that is null, not an object"),
        ('{"properties": []}', "a list"),
        ("[]", "a list"),
        ("null", "null"),
        ('"done"', "a string"),
    ],
)
def test_odd_what_if_stops_before_the_deployment(
    fake: FakeCli, tmp_path: Path, printed: str, said: str
) -> None:
    fake.answer("az", "deployment", "group", "what-if", stdout=printed)
    code, _, stderr = deploy(tmp_path)
    assert code == 3, stderr
    assert f"what-if: az printed {said}, not a what-if result; nothing was deployed" in stderr
    assert not created(fake)


def test_what_if_without_changes_is_an_empty_preview() -> None:
    assert parse_what_if('{"status": "Succeeded", "changes": null}') == []
    with pytest.raises(TokengateError, match="printed no JSON result"):
        parse_what_if("ERROR: boom")


@pytest.mark.parametrize(
    "printed",
    [
        '{"properties": "oops"}',
        '{"properties": {"outputs": []}}',
        '{"properties": {"outputs": "x"}}',
        "[]",
        "null",
        "Deployment succeeded (not JSON)",
        "",
    ],
)
def test_a_succeeded_deployment_with_unreadable_outputs_is_still_a_success(
    fake: FakeCli, tmp_path: Path, printed: str
) -> None:
    fake.answer("az", "deployment", "group", "create", stdout=printed)
    code, stdout, stderr = deploy(tmp_path)
    assert code == 0, stderr
    assert "deployed lab-gateway to resource group rg-lab in subscription Contoso Dev" in stdout
    assert "warning: the deployment succeeded, but its outputs could not be read" in stderr
    assert "az deployment group show --resource-group rg-lab --name tokengate-lab-gateway" in stderr


def test_outputs_of_wrong_types_are_left_out_not_printed_as_python() -> None:
    outputs = from_deployment(
        json.dumps(
            {
                "properties": {
                    "outputs": {
                        "gatewayUrl": {"value": {"nested": 1}},
                        "apimName": {"value": "apim-x"},
                        "consumerSubscriptions": {"value": 5},
                    }
                }
            }
        )
    )
    assert outputs.gateway_url == "" and outputs.apim_name == "apim-x"
    assert outputs.consumer_subscriptions == ()
    with pytest.raises(OutputsUnreadable):
        from_deployment('{"properties": "oops"}')


@pytest.mark.parametrize(
    "printed",
    ['[{"properties": "x"}]', '[{"properties": {"targetResource": "x"}}]', "[1, null]", "{}"],
)
def test_odd_operations_while_polling_do_not_stop_the_deployment(
    fake: FakeCli, tmp_path: Path, printed: str
) -> None:
    fake.answer("az", "deployment", "group", "create", sleep=0.6, stdout="{}")
    fake.answer("az", "deployment", "operation", "group", "list", stdout=printed)
    result = CliRunner().invoke(
        main,
        ["deploy", "-g", "rg-lab", "--yes", "--out", str(tmp_path / "out")],
        catch_exceptions=False,
    )
    assert result.exit_code == 0, result.stderr
    assert parse_operations(printed) in ([], None)


@pytest.mark.parametrize("printed", ODD)
def test_odd_provider_list_is_a_note(fake: FakeCli, tmp_path: Path, printed: str) -> None:
    fake.answer("az", "provider", "list", stdout=printed)
    code, _, stderr = deploy(tmp_path, "--what-if")
    assert code == 0, stderr
    assert "note  could not read resource provider registrations" in stderr or printed == "[]"


@pytest.mark.parametrize("printed", ODD)
def test_odd_az_version_is_a_preflight_failure(fake: FakeCli, tmp_path: Path, printed: str) -> None:
    fake.answer("az", "version", stdout=printed)
    code, _, stderr = deploy(tmp_path)
    assert code == 3 and "preflight: could not read the Azure CLI version" in stderr


@pytest.mark.parametrize("printed", ODD)
def test_odd_azd_answers_are_preflight_failures(
    fake: FakeCli, tmp_path: Path, printed: str
) -> None:
    fake.answer("azd", "auth", "login", stdout=printed)
    result = CliRunner().invoke(
        main, ["up", "--project-dir", str(tmp_path / "azd")], catch_exceptions=False
    )
    assert result.exit_code == 3, result.stderr
    assert "preflight: azd is not signed in" in result.stderr
