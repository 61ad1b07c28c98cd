"""The azd project `tokengate up` writes, checked against azd's and ARM's official schemas and the
real Bicep grammar; and `up` itself against fake `azd`/`az` executables on PATH."""

from __future__ import annotations

import json
import posixpath
import re
from functools import cache
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner
from fixtures.deploy.harness import SUBSCRIPTION_ID, FakeCli, fixture_text
from jsonschema import Draft201909Validator
from support import (
    FIXTURES,
    GOOD_SPECS,
    FileSnapshot,
    compiled,
    parameters_validator,
    parse_bicep,
    syntax_problems,
    validation_dir,
)

from generator.cli import main
from generator.deploy import layout
from generator.deploy.azd_flow import parse_env_values
from generator.pipeline import compile_path

SPECS = [*GOOD_SPECS, FIXTURES / "deploy" / "subscription-scope.yaml"]


def invoke(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


@cache
def azd_validator() -> Draft201909Validator:
    schema = json.loads((validation_dir() / "azd-azure.yaml.v1.0.schema.json").read_text())
    return Draft201909Validator(schema)


def project(spec: Path) -> dict[str, str]:
    files = layout.azd_files(compiled(spec), None)
    return {path: file.content for path, file in files.items()}


@pytest.mark.parametrize("spec", SPECS, ids=lambda p: p.stem)
def test_azure_yaml_is_valid_for_azd(spec: Path) -> None:
    document = yaml.safe_load(project(spec)["azure.yaml"])
    errors = sorted(azd_validator().iter_errors(document), key=str)
    assert errors == [], "\n".join(e.message for e in errors)
    assert document["infra"] == {"provider": "bicep", "path": "infra", "module": "main"}


def test_azd_validator_can_fail() -> None:
    assert list(azd_validator().iter_errors({"name": "Not Valid!"}))


@pytest.mark.parametrize("spec", SPECS, ids=lambda p: p.stem)
def test_parameters_file_is_valid_and_uses_azd_variables(spec: Path) -> None:
    document = json.loads(project(spec)["infra/main.parameters.json"])
    errors = sorted(parameters_validator().iter_errors(document), key=str)
    assert errors == [], "\n".join(e.message for e in errors)
    values = {name: entry["value"] for name, entry in document["parameters"].items()}
    assert values["environmentName"] == "${AZURE_ENV_NAME}"
    assert values["resourceGroupLocation"] == "${AZURE_LOCATION}"
    assert values["principalId"] == "${AZURE_PRINCIPAL_ID}"


@pytest.mark.parametrize("spec", SPECS, ids=lambda p: p.stem)
def test_infra_bicep_parses_with_the_real_grammar(spec: Path) -> None:
    files = project(spec)
    bicep = [path for path in files if path.endswith(".bicep")]
    assert {"infra/main.bicep", "infra/gateway.bicep", "infra/developer-access.bicep"} <= set(bicep)
    for path in bicep:
        assert syntax_problems(parse_bicep(files[path])) == [], path


@pytest.mark.parametrize("spec", SPECS, ids=lambda p: p.stem)
def test_entry_passes_every_parameter_and_output_through(spec: Path) -> None:
    files = project(spec)
    entry, gateway = files["infra/main.bicep"], files["infra/gateway.bicep"]
    given = set(json.loads(files["infra/main.parameters.json"])["parameters"])
    declared = set(re.findall(r"^param (\w+) ", entry, re.MULTILINE))
    required = set(re.findall(r"^param (\w+) \w+$", entry, re.MULTILINE))
    assert required <= given <= declared
    for name in re.findall(r"^param (\w+) \w+$", gateway, re.MULTILINE):
        assert f"    {name}: {name}\n" in entry, f"gateway parameter {name} not passed"
    for name in re.findall(r"^output (\w+) ", gateway, re.MULTILINE):
        assert f"= gateway.outputs.{name}\n" in entry
    assert "targetScope = 'subscription'" in entry
    assert "module gateway 'gateway.bicep'" in entry


def test_relative_paths_resolve_inside_the_project() -> None:
    """Every file a template calls or loads exists at that path relative to the template."""
    files = project(GOOD_SPECS[0])
    references = re.compile(r"(?:module \w+ |load\w+Content\()'([^']+)'")
    checked = 0
    for path, text in files.items():
        if path.endswith(".bicep"):
            for reference in references.findall(text):
                resolved = posixpath.normpath(posixpath.join(posixpath.dirname(path), reference))
                assert resolved in files, f"{path} references {reference}"
                checked += 1
    assert checked >= 5  # modules of gateway.bicep, the policy, the entry's two modules


def test_spec_resource_group_replaces_the_default() -> None:
    spec = FIXTURES / "deploy" / "subscription-scope.yaml"
    files = layout.azd_files(compiled(spec), "rg-lab")
    values = json.loads(files["infra/main.parameters.json"].content)["parameters"]
    assert values["resourceGroupName"]["value"] == "rg-lab"
    assert "param resourceGroupName string\n" in files["infra/main.bicep"].content
    default = project(GOOD_SPECS[0])["infra/main.bicep"]
    assert "param resourceGroupName string = 'rg-${environmentName}'" in default


def test_lab_entry_snapshot(file_snapshot: FileSnapshot) -> None:
    assert project_of_lab()["infra/main.bicep"] == file_snapshot("bicep")


def test_lab_azure_yaml_snapshot(file_snapshot: FileSnapshot) -> None:
    assert project_of_lab()["azure.yaml"] == file_snapshot("yaml")


def project_of_lab() -> dict[str, str]:
    files = layout.azd_files(compile_path(None), None)
    return {path: file.content for path, file in files.items()}


def test_dollar_in_a_value_is_refused_for_azd() -> None:
    spec = FIXTURES / "deploy" / "dollar-in-value.yaml"
    code, _, stderr = invoke("up", str(spec), "--dry-run", "--project-dir", "unused")
    assert code == 2
    assert "dollar-in-value.yaml: `tokengate up` cannot pass publisherName = 'Contoso $HOME'" in (
        stderr
    )


def test_parse_env_values_reads_dotenv_escapes() -> None:
    text = 'A="x"\nB="say \\"hi\\"\\nnext"\n# comment\nC=plain\nbad line\nD="[\\"a\\",\\"b\\"]"\n'
    assert parse_env_values(text) == {
        "A": "x",
        "B": 'say "hi"\nnext',
        "C": "plain",
        "D": '["a","b"]',
    }


# --- `tokengate up` with fake azd -------------------------------------------------------------


@pytest.fixture
def fake(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> FakeCli:
    fake = FakeCli(tmp_path / "fake", monkeypatch, ("az", "azd")).healthy_azd()
    fake.answer("az", "account", "show", stdout=fixture_text("account.json"))
    return fake


def test_up_creates_the_environment_then_runs_azd_up(fake: FakeCli, tmp_path: Path) -> None:
    folder = tmp_path / "azd"
    code, stdout, stderr = invoke("up", "--project-dir", str(folder))
    assert code == 0, stderr
    assert (folder / "azure.yaml").is_file() and (folder / "infra" / "main.bicep").is_file()
    assert fake.calls("azd") == [
        ["azd", "version", "--output", "json"],
        ["azd", "auth", "login", "--check-status", "--output", "json"],
        ["azd", "env", "new", "lab-gateway", "--location", "swedencentral",
         "--subscription", SUBSCRIPTION_ID, "--cwd", str(folder), "--no-prompt"],
        ["azd", "up", "--environment", "lab-gateway", "--cwd", str(folder), "--no-prompt"],
        ["azd", "env", "get-values", "--environment", "lab-gateway", "--cwd", str(folder)],
    ]  # fmt: skip
    assert "  | Provisioning Azure resources (azd provision)" in stderr
    assert "deployed lab-gateway with azd (environment lab-gateway)" in stdout
    assert "https://apim-lab-gateway-abc123.azure-api.net" in stdout
    assert "resourceGroups/rg-lab-gateway/providers/Microsoft.ApiManagement" in stdout


def test_up_reuses_an_existing_environment(fake: FakeCli, tmp_path: Path) -> None:
    folder = tmp_path / "azd"
    (folder / ".azure" / "dev").mkdir(parents=True)
    (folder / ".azure" / "dev" / ".env").write_text('AZURE_ENV_NAME="dev"\n')
    code, _, stderr = invoke("up", "--project-dir", str(folder), "--env", "dev")
    assert code == 0, stderr
    assert not any(call[1:3] == ["env", "new"] for call in fake.calls("azd"))
    assert [
        "azd",
        "up",
        "--environment",
        "dev",
        "--cwd",
        str(folder),
        "--no-prompt",
    ] in fake.calls()
    assert (folder / ".azure" / "dev" / ".env").read_text() == 'AZURE_ENV_NAME="dev"\n'


def test_up_dry_run_runs_nothing(fake: FakeCli, tmp_path: Path) -> None:
    folder = tmp_path / "azd"
    code, stdout, stderr = invoke(
        "up", "--project-dir", str(folder), "--dry-run", "--subscription", "sub-1"
    )
    assert code == 0, stderr
    assert stdout.splitlines() == [
        f"azd env new lab-gateway --location swedencentral --subscription sub-1 --cwd {folder} "
        "--no-prompt",
        f"azd up --environment lab-gateway --cwd {folder} --no-prompt",
    ]
    assert fake.records() == []


def test_up_not_signed_in_to_azd(fake: FakeCli, tmp_path: Path) -> None:
    fake.answer("azd", "auth", "login", stdout='{"status": "unauthenticated"}')
    code, _, stderr = invoke("up", "--project-dir", str(tmp_path / "azd"))
    assert code == 3
    assert (
        "preflight: azd is not signed in (unauthenticated)\n  hint: run `azd auth login`" in stderr
    )
    assert not any(call[1] == "up" for call in fake.calls("azd"))


def test_up_failure_surfaces_azd_error_details(fake: FakeCli, tmp_path: Path) -> None:
    fake.answer("azd", "up", stdout=fixture_text("error-azd.txt"), exit=1)
    code, _, stderr = invoke("up", "--project-dir", str(tmp_path / "azd"))
    assert code == 3
    assert "azd up failed (exit code 1)\n  FlagMustBeSetForRestore: An existing resource" in stderr
    assert (
        "az cognitiveservices account purge --name lab-gateway-primary-abc123 "
        "--resource-group rg-lab-gateway --location <region>"
    ) in stderr


def test_up_without_azd(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    FakeCli(tmp_path / "fake", monkeypatch, ("az",))
    code, _, stderr = invoke("up", "--project-dir", str(tmp_path / "azd"))
    assert code == 3
    assert "preflight: azd not found on PATH" in stderr and "install-azd" in stderr


def test_subscription_entry_for_az_deploy_is_valid() -> None:
    """`deploy` at subscription scope uses the same entry template, with literal values."""
    from generator.deploy.target import resolve

    spec = compiled(FIXTURES / "deploy" / "subscription-scope.yaml")
    target = resolve(spec, resource_group=None, location="westeurope", subscription=None)
    files = layout.deploy_files(spec, target)
    entry = files["subscription.bicep"].content
    assert syntax_problems(parse_bicep(entry)) == []
    assert "module gateway 'main.bicep'" in entry and "environmentName" not in entry
    document = json.loads(files["subscription.parameters.json"].content)
    assert list(parameters_validator().iter_errors(document)) == []
    values = {name: entry["value"] for name, entry in document["parameters"].items()}
    assert (values["resourceGroupName"], values["resourceGroupLocation"]) == (
        "rg-lab",
        "westeurope",
    )
    assert values["location"] == "swedencentral"  # the gateway keeps the spec's region
    assert set(compiled(FIXTURES / "deploy" / "subscription-scope.yaml").files) < set(files)
