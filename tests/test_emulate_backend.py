"""`emulate --backend URL`: admitted requests go on to a real endpoint with the user's key, and
the gateway counts the tokens that endpoint reports. The "real endpoint" here is a second
`tokengate emulate` (mock model, its own keys), so both hops are real HTTP on loopback; also the
clean stop with a request in flight.
"""

from __future__ import annotations

import signal
import threading
import time
from pathlib import Path

import openai
from emulator_support import lab_data, running, write_spec
from openai.types.chat import ChatCompletionMessageParam

API_VERSION = "2024-10-21"
HELLO: list[ChatCompletionMessageParam] = [{"role": "user", "content": "Hello"}]


def test_forwarding_sends_the_credential_not_the_consumer_key(tmp_path: Path) -> None:
    upstream_folder, front_folder = tmp_path / "upstream", tmp_path / "front"
    upstream_folder.mkdir()
    front_folder.mkdir()
    data = lab_data()
    data["consumers"] = [{"name": "team-a", "tokensPerMinute": 100}, {"name": "team-b"}]
    front_spec = write_spec(front_folder, data)
    with running(None, upstream_folder) as upstream:
        credential = upstream.keys["team-b"]
        with running(
            front_spec,
            front_folder,
            "--backend", f"{upstream.url}/openai", "--backend-auth", "key",
            env={"AZURE_OPENAI_API_KEY": credential},
        ) as front:  # fmt: skip
            sdk = openai.AzureOpenAI(
                azure_endpoint=front.url,
                api_key=front.keys["team-a"],
                api_version=API_VERSION,
                max_retries=0,
            )
            raw = sdk.chat.completions.with_raw_response.create(
                model="gpt-4o", messages=HELLO, max_tokens=50
            )
            streamed = list(
                sdk.chat.completions.create(
                    model="gpt-4o",
                    messages=HELLO,
                    max_tokens=30,
                    stream=True,
                    stream_options={"include_usage": True},
                )
            )
            try:
                sdk.chat.completions.create(model="gpt-4o", messages=HELLO, max_tokens=5)
                limited = False
            except openai.RateLimitError:
                limited = True
            upstream_metrics = upstream.metrics()
    usage = raw.parse().usage
    assert usage is not None
    assert usage.total_tokens == 58
    assert raw.headers["x-gateway-remaining-tokens"] == str(100 - 58)
    assert streamed[-1].usage is not None and streamed[-1].usage.completion_tokens == 30
    # 58 + 38 = 96 counted from the upstream's answers: the third prompt (8) does not fit.
    assert limited
    # The upstream saw the front's credential (team-b there), never the front's consumer key.
    assert 'tokengate_requests_total{consumer="team-b",status="200"} 2' in upstream_metrics
    assert 'consumer="team-a"' not in upstream_metrics


def test_an_unreachable_backend_is_a_502_shaped_like_apim(tmp_path: Path) -> None:
    with running(
        None, tmp_path, "--backend", "http://127.0.0.1:9/openai", "--backend-auth", "key",
        env={"AZURE_OPENAI_API_KEY": "x"},
    ) as front:  # fmt: skip
        sdk = openai.AzureOpenAI(
            azure_endpoint=front.url, api_key=front.keys["team-a"], api_version=API_VERSION,
            max_retries=0,
        )  # fmt: skip
        try:
            sdk.chat.completions.create(model="gpt-4o", messages=HELLO)
            status = 200
        except openai.APIStatusError as error:
            status = error.status_code
            message = error.response.json()["message"]
    assert status == 502
    assert message.startswith("backend http://127.0.0.1:9/openai unreachable")


def test_ctrl_c_lets_the_request_in_flight_finish_and_exits_0(tmp_path: Path) -> None:
    with running(None, tmp_path, "--latency-ms", "3000") as emulator:
        sdk = openai.AzureOpenAI(
            azure_endpoint=emulator.url, api_key=emulator.keys["team-a"],
            api_version=API_VERSION, max_retries=0, timeout=20,
        )  # fmt: skip
        answers: list[object] = []
        caller = threading.Thread(
            target=lambda: answers.append(
                sdk.chat.completions.create(model="gpt-4o", messages=HELLO, max_tokens=2)
            )
        )
        caller.start()
        time.sleep(1.0)  # the request is now waiting on the mock model
        emulator.process.send_signal(signal.SIGINT)
        caller.join(timeout=15)
        assert emulator.process.wait(timeout=15) == 0
    assert len(answers) == 1
    assert emulator.stopped_output == ["stopped after 1 requests: 1 x 200"]
