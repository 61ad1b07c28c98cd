"""`tokengate deploy` against fake `az` executables on PATH (a real process boundary)."""

from __future__ import annotations

import io
import json
import signal
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from fixtures.deploy.harness import SUBSCRIPTION_ID, FakeCli, fixture_text, pid_alive
from support import FIXTURES

from generator.cli import main
from generator.deploy.az_flow import DeployOptions, deploy
from generator.deploy.console import Console
from generator.pipeline import compile_path

SUBSCRIPTION_SPEC = FIXTURES / "deploy" / "subscription-scope.yaml"
CREATE = ["az", "deployment", "group", "create"]


@pytest.fixture
def fake(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> FakeCli:
    return FakeCli(tmp_path / "fake", monkeypatch, ("az",)).healthy_az()


@pytest.fixture
def out(tmp_path: Path) -> Path:
    return tmp_path / "out"


def invoke(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def test_deploy_runs_preflight_what_if_and_create_as_argument_lists(
    fake: FakeCli, out: Path
) -> None:
    code, stdout, stderr = invoke("deploy", "-g", "rg-lab", "--yes", "--out", str(out))
    assert code == 0, stderr
    pinned = ["--subscription", SUBSCRIPTION_ID]
    deployment = [
        "--name",
        "tokengate-lab-gateway",
        "--resource-group",
        "rg-lab",
        "--template-file",
        str(out / "main.bicep"),
        "--parameters",
        f"@{out / 'main.parameters.json'}",
        *pinned,
    ]
    assert fake.calls() == [
        ["az", "version", "--output", "json"],
        ["az", "account", "show", "--output", "json"],
        ["az", "bicep", "version"],
        ["az", "provider", "list", "--query", "[].{namespace:namespace, state:registrationState}",
         "--output", "json"],
        ["az", "group", "exists", "--name", "rg-lab", "--output", "json", *pinned],
        ["az", "deployment", "group", "what-if", *deployment, "--no-pretty-print", "--output",
         "json"],
        [*CREATE, *deployment, "--output", "json"],
    ]  # fmt: skip
    assert (out / "main.bicep").is_file() and (out / "main.parameters.json").is_file()
    # The user sees what will change, where it went, and what to do next; never a key.
    assert "what-if: 2 to create, 1 to modify, 1 unsupported by what-if, 1 unchanged" in stdout
    assert "+ Create" in stdout and "apim-lab-gateway-abc123" in stdout
    assert "deployed lab-gateway to resource group rg-lab in subscription Contoso Dev" in stdout
    assert "https://apim-lab-gateway-abc123.azure-api.net" in stdout
    assert "appi-lab-gateway-abc123" in stdout
    assert "team-a, team-b" in stdout
    assert "/subscriptions/team-a/listSecrets" in stdout
    assert (
        "curl 'https://apim-lab-gateway-abc123.azure-api.net/openai/deployments/gpt-4o/chat/"
        "completions?api-version=2024-10-21'"
    ) in stdout
    assert '"api-key: $key"' in stdout
    assert "primaryKey" in stdout and "secondaryKey" not in stdout
    assert "as dev@contoso.example, from az account show" in stderr


def test_deploy_twice_uses_the_same_deployment_name(fake: FakeCli, out: Path) -> None:
    for _ in range(2):
        code, _, stderr = invoke("deploy", "-g", "rg-lab", "--yes", "--out", str(out))
        assert code == 0, stderr
    names = [call[call.index("--name") + 1] for call in fake.calls() if call[:4] == CREATE]
    assert names == ["tokengate-lab-gateway", "tokengate-lab-gateway"]


def test_subscription_scope_creates_the_resource_group_with_sub_create(
    fake: FakeCli, out: Path
) -> None:
    code, _, stderr = invoke("deploy", str(SUBSCRIPTION_SPEC), "--yes", "--out", str(out))
    assert code == 0, stderr
    create = next(c for c in fake.calls() if c[:4] == ["az", "deployment", "sub", "create"])
    assert create[create.index("--location") + 1] == "swedencentral"
    assert create[create.index("--template-file") + 1] == str(out / "subscription.bicep")
    assert "--resource-group" not in create
    assert not any(c[:3] == ["az", "group", "exists"] for c in fake.calls())
    parameters = json.loads((out / "subscription.parameters.json").read_text())["parameters"]
    assert parameters["resourceGroupName"]["value"] == "rg-lab"
    assert parameters["resourceGroupLocation"]["value"] == "swedencentral"


def test_what_if_only_runs_nothing_after_the_preview(fake: FakeCli, out: Path) -> None:
    code, stdout, stderr = invoke("deploy", "-g", "rg-lab", "--what-if", "--out", str(out))
    assert code == 0, stderr
    assert any(c[:4] == ["az", "deployment", "group", "what-if"] for c in fake.calls())
    assert not any(c[:4] == CREATE for c in fake.calls())
    assert "~ Modify" in stdout and "azure-openai" in stdout


def test_dry_run_prints_the_commands_and_runs_none(fake: FakeCli, out: Path) -> None:
    code, stdout, stderr = invoke("deploy", "-g", "rg lab;x", "--dry-run", "--out", str(out))
    assert code == 2 and "not a resource group name" in stderr
    code, stdout, stderr = invoke("deploy", "-g", "rg-lab", "--dry-run", "--out", str(out))
    assert code == 0, stderr
    assert stdout.splitlines() == [
        f"az deployment group what-if --name tokengate-lab-gateway --resource-group rg-lab "
        f"--template-file {out}/main.bicep --parameters @{out}/main.parameters.json "
        "--no-pretty-print --output json",
        f"az deployment group create --name tokengate-lab-gateway --resource-group rg-lab "
        f"--template-file {out}/main.bicep --parameters @{out}/main.parameters.json --output json",
    ]
    assert fake.records() == []


def test_not_a_terminal_requires_yes_before_running_anything(fake: FakeCli, out: Path) -> None:
    code, _, stderr = invoke("deploy", "-g", "rg-lab", "--out", str(out))
    assert code == 2
    assert "pass --yes" in stderr
    assert fake.records() == [] and not out.exists()


def test_no_resource_group_is_a_clear_usage_error(fake: FakeCli, out: Path) -> None:
    code, _, stderr = invoke("deploy", "--yes", "--out", str(out))
    assert code == 2
    assert "lab.yaml (built-in): no resource group: pass --resource-group" in stderr
    assert fake.records() == []


@pytest.mark.parametrize(
    ("tool", "args", "answer", "reason", "hint"),
    [
        ("az", ("version",), {"stdout": '{"azure-cli": "2.30.0"}'},
         "az 2.30.0 is older than 2.38.0", "az upgrade"),
        ("az", ("account", "show"),
         {"stderr": "ERROR: Please run 'az login' to setup account.\n", "exit": 1},
         "not signed in to Azure: Please run 'az login' to setup account.", "run `az login`"),
        ("az", ("bicep", "version"),
         {"stderr": 'ERROR: Bicep CLI not found. Install it now by running "az bicep install".\n',
          "exit": 1},
         "Bicep is not available to az", "az bicep install"),
        ("az", ("group", "exists"), {"stdout": "false\n"},
         "resource group rg-lab does not exist", "az group create --name rg-lab"),
    ],
    ids=["az-too-old", "not-logged-in", "no-bicep", "no-resource-group"],
)  # fmt: skip
def test_preflight_failure_is_one_reason_and_a_hint(
    fake: FakeCli, out: Path, tool: str, args: tuple[str, ...], answer: dict[str, object],
    reason: str, hint: str,
) -> None:  # fmt: skip
    fake.answer(tool, *args, **answer)
    code, _, stderr = invoke("deploy", "-g", "rg-lab", "--yes", "--out", str(out))
    assert code == 3
    assert f"preflight: {reason}" in stderr
    assert "hint:" in stderr and hint in stderr
    assert "Traceback" not in stderr
    assert not any(c[:3] == ["az", "deployment", "group"] for c in fake.calls())


def test_unregistered_provider_is_noted_not_fatal(fake: FakeCli, out: Path) -> None:
    states = '[{"namespace": "Microsoft.ApiManagement", "state": "NotRegistered"}]'
    fake.answer("az", "provider", "list", stdout=states)
    code, _, stderr = invoke("deploy", "-g", "rg-lab", "--yes", "--out", str(out))
    assert code == 0, stderr
    assert "note  Microsoft.ApiManagement is NotRegistered" in stderr
    assert "az provider register --namespace Microsoft.ApiManagement" in stderr


def test_missing_az_binary(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, out: Path) -> None:
    FakeCli(tmp_path / "fake", monkeypatch, ("azd",))  # PATH holds azd only
    code, _, stderr = invoke("deploy", "-g", "rg-lab", "--yes", "--out", str(out))
    assert code == 3
    assert "preflight: az not found on PATH" in stderr
    assert "install-azure-cli" in stderr


def test_arm_error_json_is_surfaced_with_the_purge_hint(fake: FakeCli, out: Path) -> None:
    fake.answer(
        "az", "deployment", "group", "create", stderr=fixture_text("error-soft-deleted.txt"), exit=1
    )
    code, stdout, stderr = invoke("deploy", "-g", "rg-lab", "--yes", "--out", str(out))
    assert code == 3
    reported = stderr.split("az deployment group create failed (exit code 1)\n")[1].splitlines()
    assert reported[0].startswith(
        "  ServiceAlreadyExistsInSoftDeletedState: Api service apim-lab-gateway-abc123 was"
    )
    assert reported[1].startswith("  hint: an API Management service of that name is soft-deleted")
    assert "hint: an API Management service of that name is soft-deleted" in stderr
    assert (
        "az apim deletedservice purge --service-name apim-lab-gateway-abc123 --location <region> "
        f"--subscription {SUBSCRIPTION_ID}"
    ) in stderr
    assert "deployed" not in stdout


def test_non_zero_exit_without_json_shows_what_az_printed(fake: FakeCli, out: Path) -> None:
    fake.answer("az", "deployment", "group", "what-if", stderr="ERROR: something odd\n", exit=2)
    code, _, stderr = invoke("deploy", "-g", "rg-lab", "--yes", "--out", str(out))
    assert code == 3
    assert "what-if failed (exit code 2)\n  ERROR: something odd" in stderr
    assert not any(c[:4] == CREATE for c in fake.calls())


def test_timeout_stops_a_hung_az_cleanly(fake: FakeCli, out: Path) -> None:
    fake.answer("az", "deployment", "group", "create", hang=True)
    code, _, stderr = invoke("deploy", "-g", "rg-lab", "--yes", "--out", str(out), "--timeout", "1")
    assert code == 3
    assert "did not finish within 1s; tokengate stopped it" in stderr
    assert (
        "az deployment group cancel --resource-group rg-lab --name tokengate-lab-gateway" in stderr
    )
    assert fake.signals() == ["SIGTERM"]
    hung = next(r for r in fake.records() if r["args"][:3] == ["deployment", "group", "create"])
    assert not pid_alive(hung["pid"])


def test_child_sees_the_users_environment(
    fake: FakeCli, out: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AZURE_CONFIG_DIR", "/home/someone/.azure-work")
    code, _, stderr = invoke("deploy", "-g", "rg-lab", "--yes", "--out", str(out))
    assert code == 0, stderr
    create = next(r for r in fake.records() if r["args"][:3] == ["deployment", "group", "create"])
    assert create["env"]["AZURE_CONFIG_DIR"] == "/home/someone/.azure-work"
    assert create["cwd"] == str(Path.cwd())


def test_ctrl_c_is_forwarded_to_az_and_exits_130(fake: FakeCli, out: Path) -> None:
    """A real tokengate process gets SIGINT (as from Ctrl-C); only it, so az hears it from us."""
    fake.answer("az", "deployment", "group", "create", hang=True)
    process = subprocess.Popen(
        [sys.executable, "-m", "generator", "deploy", "-g", "rg-lab", "--yes", "--out", str(out)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**fake.environ, "PYTHONDONTWRITEBYTECODE": "1"},
    )
    try:
        fake.wait_for_call("az", "deployment", "group", "create")
        process.send_signal(signal.SIGINT)
        _, stderr = process.communicate(timeout=30)
    finally:
        process.kill()
    assert process.returncode == 130, stderr
    assert fake.signals() == ["SIGINT"]
    assert "interrupted: tokengate stopped `az deployment group …`" in stderr
    assert "az deployment group cancel" in stderr
    assert "Traceback" not in stderr


def test_azure_cli_core_profile_is_used_when_importable(
    fake: FakeCli, out: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    site = tmp_path / "site"
    _fake_package(site / "knack" / "util.py", "class CLIError(Exception):\n    pass\n")
    _fake_package(
        site / "azure" / "cli" / "core" / "_profile.py",
        """
        class Profile:
            def get_subscription(self, subscription=None):
                return {"id": "sub-from-profile", "name": "Profile Sub",
                        "user": {"name": "profile@contoso.example"}}
        """,
    )
    _import_from(site, monkeypatch)
    code, _, stderr = invoke("deploy", "-g", "rg-lab", "--yes", "--out", str(out))
    assert code == 0, stderr
    assert (
        "Profile Sub (sub-from-profile) as profile@contoso.example, from azure-cli-core" in stderr
    )
    assert not any(c[:3] == ["az", "account", "show"] for c in fake.calls())
    create = next(c for c in fake.calls() if c[:4] == CREATE)
    assert create[create.index("--subscription") + 1] == "sub-from-profile"


def test_azure_cli_core_not_logged_in(
    fake: FakeCli, out: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    site = tmp_path / "site"
    _fake_package(site / "knack" / "util.py", "class CLIError(Exception):\n    pass\n")
    _fake_package(
        site / "azure" / "cli" / "core" / "_profile.py",
        """
        from knack.util import CLIError
        class Profile:
            def get_subscription(self, subscription=None):
                raise CLIError("Please run 'az login' to setup account.")
        """,
    )
    _import_from(site, monkeypatch)
    code, _, stderr = invoke("deploy", "-g", "rg-lab", "--yes", "--out", str(out))
    assert code == 3
    assert "preflight: not signed in to Azure: Please run 'az login' to setup account." in stderr


def _fake_package(path: Path, source: str) -> None:
    for folder in [path.parent, *path.parent.parents]:
        if folder.name == "site":
            break
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "__init__.py").touch()
    path.write_text(textwrap.dedent(source), encoding="utf-8")


def _import_from(site: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Put `site` first on sys.path; the fake modules are forgotten after the test."""
    monkeypatch.syspath_prepend(str(site))


@pytest.fixture(autouse=True)
def _forget_fake_azure_modules() -> Iterator[None]:
    yield
    for name in [m for m in sys.modules if m.split(".")[0] in ("azure", "knack")]:
        del sys.modules[name]


def test_declining_the_question_deploys_nothing(fake: FakeCli, out: Path) -> None:
    questions: list[str] = []
    printed = io.StringIO()

    def decline(question: str) -> bool:
        questions.append(question)
        return False

    console = Console(
        out=lambda line: print(line, file=printed),
        err=lambda line: print(line, file=printed),
        progress_stream=printed,
        interactive=False,
        confirm=decline,
    )
    deploy(compile_path(None), DeployOptions(out=out, resource_group="rg-lab"), console)
    assert questions == [
        "Deploy these changes to resource group rg-lab in subscription Contoso Dev?"
    ]
    assert any(c[:4] == ["az", "deployment", "group", "what-if"] for c in fake.calls())
    assert not any(c[:4] == CREATE for c in fake.calls())
    assert "nothing deployed" in printed.getvalue()
