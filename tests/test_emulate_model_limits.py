"""Per-model limits in `tokengate emulate`, with the official `openai` SDK over real HTTP.

A request for gpt-4o is checked against the all-models limit and gpt-4o's own limit; over
gpt-4o's quota the SDK gets 403 (the quota status of
https://learn.microsoft.com/azure/api-management/azure-openai-token-limit-policy) while
gpt-4o-mini requests still pass. Token counts are the emulator's documented rule
(generator/emulate/tokens.py): "Hello" is 8 prompt tokens, the mock answers max_tokens tokens.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import openai
import pytest
from emulator_support import running, write_spec
from openai.types.chat import ChatCompletionMessageParam
from support import two_model_account

HELLO: list[ChatCompletionMessageParam] = [{"role": "user", "content": "Hello"}]
#: Each call: 8 prompt + 5 completion tokens. gpt-4o's quota of 30 holds two (26 used); the
#: third needs room for its 8 prompt tokens (strict admission) and is refused.
PER_CALL = 13
GPT_4O_QUOTA = 30


def spec(folder: Path, family: str) -> Path:
    data: dict[str, Any] = {
        "name": "per-model",
        "location": "swedencentral",
        "apim": {"publisherEmail": "ops@example.com", "publisherName": "Contoso"},
        "openai": [two_model_account("primary")],
        "tokenLimit": {
            "tokensPerMinute": 100_000,
            "models": [
                {"deployment": "gpt-4o", "quota": GPT_4O_QUOTA, "quotaPeriod": "Hourly"},
            ],
        },
        "consumers": [{"name": "team-a"}],
    }
    if family == "llm":
        data["api"] = {"family": "llm", "name": "models", "path": "models"}
    return write_spec(folder, data)


def chat(client: openai.OpenAI, model: str) -> int:
    """The status of one chat call."""
    try:
        client.chat.completions.create(model=model, messages=HELLO, max_tokens=5)
    except openai.APIStatusError as error:
        return error.status_code
    return 200


@pytest.mark.parametrize("family", ["azure-openai", "llm"])
def test_gpt_4o_hits_its_own_quota_while_gpt_4o_mini_still_passes(
    tmp_path: Path, family: str
) -> None:
    with running(spec(tmp_path, family), tmp_path) as emulator:
        key = emulator.keys["team-a"]
        client: openai.OpenAI
        if family == "llm":
            # Azure AI model inference: the deployment is the body's `model`.
            client = openai.OpenAI(
                base_url=f"{emulator.url}/models",
                api_key=key,
                default_headers={"api-key": key},
                max_retries=0,
                timeout=20,
            )
        else:
            # Azure OpenAI: the deployment is in the route (/deployments/{deployment-id}/...).
            client = openai.AzureOpenAI(
                azure_endpoint=emulator.url,
                api_key=key,
                api_version="2024-10-21",
                max_retries=0,
                timeout=20,
            )
        statuses = [chat(client, "gpt-4o") for _ in range(3)]
        mini = [chat(client, "gpt-4o-mini") for _ in range(3)]
        raw = client.chat.completions.with_raw_response.create(
            model="gpt-4o-mini", messages=HELLO, max_tokens=5
        )
    assert statuses == [200, 200, 403]
    assert mini == [200, 200, 200]
    # The all-models counter got every admitted request: 2 gpt-4o + 4 gpt-4o-mini, plus the
    # refused gpt-4o's prompt, counted on arrival before the per-model element refused it.
    assert raw.headers["x-gateway-remaining-tokens"] == str(100_000 - 6 * PER_CALL - 8)
    assert emulator.returncode == 0
