"""Secrets in what az/azd/ARM print never reach the user's terminal or CI log.

The strings are shaped like the real ones: Application Insights connection strings
(https://learn.microsoft.com/azure/azure-monitor/app/connection-strings), Storage connection
strings and SAS tokens (https://learn.microsoft.com/azure/storage/common/storage-sas-overview),
Service Bus connection strings, `az --debug` request logs with bearer tokens, APIM subscription
keys (`Ocp-Apim-Subscription-Key`, `listSecrets` results). The keys are made up.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from fixtures.deploy.harness import FakeCli

from generator.cli import main
from generator.deploy.redact import REDACTED, redact

IKEY = "8f3c2a9e-1b4d-4e6f-9a7b-0c1d2e3f4a5b"
ACCOUNT_KEY = "Xy9+kLmN0pQrStUvWxYz1234567890abcdefGHIJKLmnopQRSTuvwxYZ0123456789ab/cdEFGH=="
SAS_SIG = "kR2%2FzT9oQ1w%2BvYb7nXc4e6Lh0Pj3sDf8gA5uIm%3D"
JWT = (
    "eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiIsIng1dCI6Ik1yNS1BVWJ"
    ".eyJhdWQiOiJodHRwczovL21hbmFnZW1lbnQuY29yZS53aW5kb3dzLm5ldC8iLCJpc3MiOiJodHRwcyJ9"
    ".SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c"
)
APIM_KEY = "3f9a1c7e5b2d4f6a8c0e1b3d5f7a9c2e"
SB_KEY = "q1W2e3R4t5Y6u7I8o9P0a1S2d3F4g5H6j7K8l9Z0x1C="

CASES = [
    (
        "InstrumentationKey=" + IKEY + ";IngestionEndpoint=https://swedencentral-0.in."
        "applicationinsights.azure.com/;LiveEndpoint=https://swedencentral.livediagnostics."
        "monitor.azure.com/;ApplicationId=0a1b2c3d",
        [IKEY],
        ["IngestionEndpoint=https://swedencentral-0", "InstrumentationKey=" + REDACTED],
    ),
    (
        "DefaultEndpointsProtocol=https;AccountName=stlabgateway;AccountKey="
        + ACCOUNT_KEY
        + ";EndpointSuffix=core.windows.net",
        [ACCOUNT_KEY, "Xy9+kLmN0"],
        ["AccountName=stlabgateway", "EndpointSuffix=core.windows.net"],
    ),
    (
        "https://stlabgateway.blob.core.windows.net/logs/app.log?sv=2022-11-02&ss=b&srt=o&sp=r"
        "&se=2026-12-03T06:00:00Z&st=2026-12-02T04:00:00Z&spr=https&sig=" + SAS_SIG,
        [SAS_SIG],
        ["sv=2022-11-02", "sig=" + REDACTED],
    ),
    (
        "DEBUG: cli.azure.cli.core.sdk.policies: 'Authorization': 'Bearer " + JWT + "'",
        [JWT, "SflKxwRJ"],
        ["Bearer " + REDACTED],
    ),
    (
        "urllib3.connectionpool: Authorization: Bearer " + JWT,
        [JWT],
        ["Authorization: Bearer " + REDACTED],
    ),
    ('{"accessToken": "' + JWT + '", "tokenType": "Bearer"}', [JWT], ['"tokenType": "Bearer"']),
    (
        '{"primaryKey": "' + APIM_KEY + '", "secondaryKey": "' + APIM_KEY[::-1] + '"}',
        [APIM_KEY, APIM_KEY[::-1]],
        ['"primaryKey": "' + REDACTED + '"'],
    ),
    ("Ocp-Apim-Subscription-Key: " + APIM_KEY, [APIM_KEY], ["Ocp-Apim-Subscription-Key: "]),
    ("curl -H 'api-key: " + APIM_KEY + "' https://x", [APIM_KEY], ["https://x"]),
    (
        "https://apim-x.azure-api.net/openai/chat?subscription-key=" + APIM_KEY + "&x=1",
        [APIM_KEY],
        ["&x=1"],
    ),
    (
        "Endpoint=sb://sb-lab.servicebus.windows.net/;SharedAccessKeyName="
        "RootManageSharedAccessKey;SharedAccessKey=" + SB_KEY,
        [SB_KEY],
        ["SharedAccessKeyName=RootManageSharedAccessKey"],
    ),
    (
        "The template parameter 'appInsightsConnectionString' with value 'InstrumentationKey="
        + IKEY
        + "' is not valid.",
        [IKEY],
        ["is not valid."],
    ),
]


@pytest.mark.parametrize(("text", "secrets", "kept"), CASES)
def test_secrets_are_replaced_and_the_rest_kept(
    text: str, secrets: list[str], kept: list[str]
) -> None:
    redacted = redact(text)
    for secret in secrets:
        assert secret not in redacted, redacted
    for part in kept:
        assert part in redacted, redacted
    assert redact(redacted) == redacted


@pytest.mark.parametrize(
    "text",
    [
        "deployment tokengate-lab-gateway failed: resource apim-lab-gateway-abc123 in rg-lab",
        "InsufficientQuota: This operation require 10 new capacity in quota Tokens Per Minute",
        'curl https://x --header "api-key: $key" --header "api-key: <APIM subscription key>"',
        "az deployment group show --resource-group rg-lab --name tokengate-lab-gateway",
        "keys stay in Azure; signature verified; the token limit is 1000",
        '{"name": "team-a", "displayName": "Team A", "state": "active"}',
    ],
)
def test_ordinary_text_is_untouched(text: str) -> None:
    assert redact(text) == text


def test_a_failed_deployment_never_prints_the_key_az_quoted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Through the real process boundary: az's stderr lines (streamed as progress) and the
    final error message both pass `redact`."""
    fake = FakeCli(tmp_path / "fake", monkeypatch, ("az",)).healthy_az()
    error = (
        '{"error": {"code": "InvalidTemplate", "message": "The value '
        "'DefaultEndpointsProtocol=https;AccountName=st;AccountKey=" + ACCOUNT_KEY + "' of "
        "parameter 'storage' is not valid.\"}}"
    )
    fake.answer(
        "az", "deployment", "group", "create",
        progress=["DEBUG: Authorization: Bearer " + JWT],
        stderr="ERROR: " + error + "\n",
        exit=1,
    )  # fmt: skip
    result = CliRunner().invoke(
        main,
        ["deploy", "-g", "rg-lab", "--yes", "--out", str(tmp_path / "out")],
        catch_exceptions=False,
    )
    assert result.exit_code == 3
    assert "InvalidTemplate: The value 'DefaultEndpointsProtocol=https;AccountName=st;" in (
        result.stderr
    )
    for secret in (ACCOUNT_KEY, JWT, "Xy9+kLmN0", "SflKxwRJ"):
        assert secret not in result.stderr and secret not in result.stdout
    assert f"AccountKey={REDACTED}" in result.stderr
    assert f"Bearer {REDACTED}" in result.stderr


def test_a_preflight_failure_never_prints_the_token_az_echoed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = FakeCli(tmp_path / "fake", monkeypatch, ("az",)).healthy_az()
    fake.answer("az", "account", "show", stderr=f"ERROR: token eyJ invalid: Bearer {JWT}\n", exit=1)
    result = CliRunner().invoke(
        main,
        ["deploy", "-g", "rg-lab", "--yes", "--out", str(tmp_path / "out")],
        catch_exceptions=False,
    )
    assert result.exit_code == 3
    assert "not signed in to Azure" in result.stderr and JWT not in result.stderr
