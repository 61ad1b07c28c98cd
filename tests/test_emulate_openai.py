"""The official `openai` SDK (AzureOpenAI client) against `tokengate emulate`, over real HTTP.

The limits' behaviour follows the azure-openai-token-limit policy reference
(https://learn.microsoft.com/azure/api-management/azure-openai-token-limit-policy): 429 with
Retry-After over tokens-per-minute, 403 over the quota, remaining/consumed headers as declared.
Token counts are the emulator's documented rule (generator/emulate/tokens.py): a chat prompt is
3 per message + ceil(characters / 4) + 3; the mock answers with max_tokens tokens.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import openai
import pytest
from emulator_support import Emulator, lab_data, running, write_spec
from openai.types.chat import ChatCompletionMessageParam

API_VERSION = "2024-10-21"
#: "Hello" → 3 + ceil(5 / 4) + 3 = 8 prompt tokens.
HELLO: list[ChatCompletionMessageParam] = [{"role": "user", "content": "Hello"}]
HELLO_PROMPT = 8


def small_spec(folder: Path, *, tpm: int | None, quota: int | None = None) -> Path:
    data = lab_data()
    team_a: dict[str, object] = {"name": "team-a"}
    if tpm is not None:
        team_a["tokensPerMinute"] = tpm
    if quota is not None:
        team_a |= {"quota": quota, "quotaPeriod": "Hourly"}
    data["consumers"] = [team_a, {"name": "team-b"}]
    return write_spec(folder, data)


def client(emulator: Emulator, *, retries: int = 0, key: str | None = None) -> openai.AzureOpenAI:
    return openai.AzureOpenAI(
        azure_endpoint=emulator.url,
        api_key=key or emulator.keys["team-a"],
        api_version=API_VERSION,
        max_retries=retries,
        timeout=20,
    )


@pytest.fixture(scope="module")
def rate_limited(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Emulator]:
    folder = tmp_path_factory.mktemp("rate")
    with running(small_spec(folder, tpm=100), folder) as emulator:
        yield emulator


def test_a_call_returns_the_documented_usage_and_the_declared_headers(tmp_path: Path) -> None:
    with running(small_spec(tmp_path, tpm=10_000), tmp_path) as emulator:
        raw = client(emulator).chat.completions.with_raw_response.create(
            model="gpt-4o", messages=HELLO, max_tokens=5
        )
        completion = raw.parse()
    assert completion.usage is not None
    assert (completion.usage.prompt_tokens, completion.usage.completion_tokens) == (HELLO_PROMPT, 5)
    assert completion.choices[0].message.content == "tok tok tok tok tok"
    assert raw.headers["x-gateway-tokens-consumed"] == str(HELLO_PROMPT + 5)
    assert raw.headers["x-gateway-remaining-tokens"] == str(10_000 - HELLO_PROMPT - 5)
    assert emulator.returncode == 0
    assert emulator.stopped_output == ["stopped after 1 requests: 1 x 200"]


def test_embeddings_and_completions_count_their_input(tmp_path: Path) -> None:
    with running(small_spec(tmp_path, tpm=10_000), tmp_path) as emulator:
        result = client(emulator).embeddings.create(model="gpt-4o", input=["abcdefgh", "abc"])
        legacy = client(emulator).completions.create(model="gpt-4o", prompt="abcde", max_tokens=3)
    assert result.usage.prompt_tokens == 2 + 1
    assert [item.index for item in result.data] == [0, 1]
    assert legacy.usage is not None
    assert (legacy.usage.prompt_tokens, legacy.usage.completion_tokens) == (2, 3)
    assert legacy.choices[0].text == "tok tok tok"


def test_a_wrong_key_is_refused_as_apim_refuses_it(rate_limited: Emulator) -> None:
    """Messages from https://learn.microsoft.com/troubleshoot/azure/api-mgmt/availability/unauthorized-errors-invoke-apis"""
    with pytest.raises(openai.AuthenticationError) as refused:
        client(rate_limited, key="0" * 32).chat.completions.create(model="gpt-4o", messages=HELLO)
    assert refused.value.status_code == 401
    assert "invalid subscription key" in str(refused.value)


def test_over_the_rate_the_sdk_raises_rate_limit_error_with_the_window_s_retry_after(
    rate_limited: Emulator,
) -> None:
    """100 tokens/min, 68 per call: the second call fits (prompt estimated on arrival), the third
    does not, and must wait until the first call's tokens leave the 60-second window."""
    sdk = client(rate_limited)
    started = time.monotonic()
    for _ in range(2):
        sdk.chat.completions.create(model="gpt-4o", messages=HELLO, max_tokens=60)
    with pytest.raises(openai.RateLimitError) as limited:
        sdk.chat.completions.create(model="gpt-4o", messages=HELLO, max_tokens=60)
    elapsed = time.monotonic() - started
    response = limited.value.response
    assert response.status_code == 429
    retry_after = int(response.headers["retry-after"])
    assert 60 - elapsed - 1 <= retry_after <= 60
    assert response.json() == {
        "statusCode": 429,
        "message": f"Token limit is exceeded. Try again in {retry_after} seconds.",
    }
    assert response.headers["x-gateway-remaining-tokens"] == "0"


def test_over_the_quota_the_sdk_gets_403(tmp_path: Path) -> None:
    with running(small_spec(tmp_path, tpm=None, quota=150), tmp_path) as emulator:
        sdk = client(emulator)
        for _ in range(3):  # 68 + 68 + 68: the third still fits its 8-token prompt under 150
            sdk.chat.completions.create(model="gpt-4o", messages=HELLO, max_tokens=60)
        with pytest.raises(openai.PermissionDeniedError) as refused:
            sdk.chat.completions.create(model="gpt-4o", messages=HELLO, max_tokens=60)
    assert refused.value.status_code == 403
    assert refused.value.response.headers["x-gateway-remaining-quota-tokens"] == "0"
    assert "retry-after" not in refused.value.response.headers


def test_streaming_ends_with_the_usage_chunk_and_is_counted(tmp_path: Path) -> None:
    with running(small_spec(tmp_path, tpm=1_000), tmp_path) as emulator:
        sdk = client(emulator)
        chunks = list(
            sdk.chat.completions.create(
                model="gpt-4o",
                messages=HELLO,
                max_tokens=4,
                stream=True,
                stream_options={"include_usage": True},
            )
        )
        text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
        after = sdk.chat.completions.with_raw_response.create(
            model="gpt-4o", messages=HELLO, max_tokens=1
        )
    assert text == "tok tok tok tok"
    usage = chunks[-1].usage
    assert chunks[-1].choices == []
    assert usage is not None
    assert (usage.prompt_tokens, usage.completion_tokens) == (HELLO_PROMPT, 4)
    # The stream's 12 tokens were counted: 1,000 - 12 - (8 + 1).
    assert after.headers["x-gateway-remaining-tokens"] == str(1_000 - 12 - 9)


def test_the_sdk_s_own_retry_waits_out_retry_after_and_succeeds(tmp_path: Path) -> None:
    """At --speed 60 the window lasts a second, so Retry-After is 1 and the SDK's retry (which
    honours Retry-After up to 60 s) succeeds on its one retry. Without honouring it, the SDK's
    own backoff (about 0.5 s) would meet a second 429 and raise."""
    with running(small_spec(tmp_path, tpm=100), tmp_path, "--speed", "60") as emulator:
        patient = client(emulator, retries=1)
        for _ in range(2):
            patient.chat.completions.create(model="gpt-4o", messages=HELLO, max_tokens=60)
        started = time.monotonic()
        patient.chat.completions.create(model="gpt-4o", messages=HELLO, max_tokens=60)
        waited = time.monotonic() - started
        assert emulator.requests_with_status(429) == 1
        assert emulator.requests_with_status(200) == 3
    assert waited >= 0.9, "the SDK retried before Retry-After"
    assert waited < 10
