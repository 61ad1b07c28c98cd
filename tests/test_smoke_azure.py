"""`tokengate smoke -g RG`: URL from the deployment outputs, key from `az rest` listSecrets, the
metrics from `az monitor app-insights query`, all through a fake `az` on PATH (a real process
boundary). The "gateway" the outputs point at is `tokengate emulate` on loopback, so the requests
are real too.

The listSecrets call is the documented way to read a subscription's keys
(https://learn.microsoft.com/rest/api/apimanagement/subscription/list-secrets); customMetrics
columns (name, valueSum, customDimensions) are Application Insights' schema
(https://learn.microsoft.com/azure/azure-monitor/app/metrics-overview).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from emulator_support import Emulator, running
from fixtures.deploy.harness import SUBSCRIPTION_ID, FakeCli

from generator.cli import main

GROUP = "rg-lab"
APIM = "apim-lab-gateway-abc123"
APP_INSIGHTS = "appi-lab-gateway-abc123"


@pytest.fixture
def emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Emulator]:
    folder = tmp_path_factory.mktemp("gateway")
    with running(None, folder) as started:
        yield started


def deployment(url: str) -> str:
    outputs = {
        "gatewayUrl": url,
        "apiPath": "openai",
        "apimName": APIM,
        "appInsightsName": APP_INSIGHTS,
        "consumerSubscriptions": ["team-a", "team-b"],
        "resourceGroupName": GROUP,
    }
    return json.dumps({"properties": {"outputs": {k: {"value": v} for k, v in outputs.items()}}})


def metric_rows(total: int, prompt: int) -> str:
    dimensions = json.dumps({"Subscription ID": "team-b", "API ID": "azure-openai"})
    rows = [
        ["Total Tokens", total, dimensions],
        ["Prompt Tokens", prompt, dimensions],
        ["Completion Tokens", total - prompt, dimensions],
    ]
    columns = [{"name": n, "type": "string"} for n in ("name", "valueSum", "customDimensions")]
    return json.dumps({"tables": [{"name": "PrimaryResult", "columns": columns, "rows": rows}]})


@pytest.fixture
def fake(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, emulator: Emulator) -> FakeCli:
    fake = FakeCli(tmp_path / "fake", monkeypatch, ("az",))
    fake.answer("az", "deployment", "group", "show", stdout=deployment(emulator.url))
    fake.answer("az", "account", "show", stdout=SUBSCRIPTION_ID + "\n")
    fake.answer("az", "rest", stdout=emulator.keys["team-b"] + "\n")
    fake.answer("az", "monitor", "app-insights", "query", stdout=metric_rows(1_085, 85))
    return fake


def smoke(folder: Path, *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, ["smoke", *args], catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def test_smoke_on_azure_reads_url_and_key_through_az_and_agrees(
    tmp_path: Path, fake: FakeCli, emulator: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    code, out, err = smoke(
        tmp_path, "-g", GROUP, "--consumer", "team-b", "--monitoring", "--poll-seconds", "0.1"
    )
    assert code == 0, out + err
    key = emulator.keys["team-b"]
    assert out.splitlines()[0] == (
        f"smoke: consumer team-b at {emulator.url}/openai, deployment gpt-4o "
        f"(key {key[:4]}… from az rest listSecrets)"
    )
    assert "agree: 1,000 tokens/min, refused with 429 and Retry-After once used up" in out
    assert "Test monitoring: token metrics (namespace openai) from Application Insights" in out
    assert "  Subscription ID  team-b        1,085      85       1,000" in out
    calls = fake.calls("az")
    assert calls[0] == [
        "az", "deployment", "group", "show", "--name", "tokengate-lab-gateway",
        "--resource-group", GROUP, "--output", "json",
    ]  # fmt: skip
    rest = next(call for call in calls if call[1] == "rest")
    assert rest[rest.index("--url") + 1] == (
        f"/subscriptions/{SUBSCRIPTION_ID}/resourceGroups/{GROUP}/providers/"
        f"Microsoft.ApiManagement/service/{APIM}/subscriptions/team-b/listSecrets"
        "?api-version=2024-05-01"
    )
    query = next(call for call in calls if call[1:3] == ["monitor", "app-insights"])
    assert query[query.index("--app") + 1] == APP_INSIGHTS
    kql = query[query.index("--analytics-query") + 1]
    assert kql.startswith("customMetrics | where timestamp >= datetime(")
    assert '"Total Tokens", "Prompt Tokens", "Completion Tokens"' in kql
    # The key is never printed whole, never passed on a command line, never written.
    assert key not in out + err
    assert not any(key in " ".join(call) for call in calls)
    answers = fake.scenario_path  # the fake az's own canned answer holds it, nothing else may
    files = [p for p in tmp_path.rglob("*") if p.is_file() and p != answers]
    written = [p for p in files if key in p.read_text("utf-8", "replace")]
    assert written == []


def test_metrics_that_never_arrive_disagree_after_the_bounded_wait(
    tmp_path: Path, fake: FakeCli
) -> None:
    fake.answer("az", "monitor", "app-insights", "query", stdout=metric_rows(0, 0))
    code, out, err = smoke(
        tmp_path, "-g", GROUP, "--consumer", "team-b", "--monitoring",
        "--monitoring-timeout", "0.5", "--poll-seconds", "0.2",
    )  # fmt: skip
    assert code == 1
    assert "disagree: after 0.5 s the metrics count 0 Total Tokens of the 1,085" in out
    assert err.count("  metrics: 0 of 1,085 tokens after") >= 2


def test_a_key_az_cannot_read_is_exit_3(tmp_path: Path, fake: FakeCli) -> None:
    fake.answer("az", "rest", stderr="ERROR: (AuthorizationFailed) no access\n", exit=1)
    code, _, err = smoke(tmp_path, "-g", GROUP, "--consumer", "team-b")
    assert code == 3
    assert "cannot read the key of subscription team-b (az rest listSecrets)" in err


def test_a_resource_group_without_the_deployment_is_exit_3(tmp_path: Path, fake: FakeCli) -> None:
    fake.answer(
        "az", "deployment", "group", "show",
        stderr="ERROR: (DeploymentNotFound) Deployment 'tokengate-lab-gateway' not found.\n",
        exit=3,
    )  # fmt: skip
    code, _, err = smoke(tmp_path, "-g", GROUP)
    assert code == 3
    assert "DeploymentNotFound" in err
