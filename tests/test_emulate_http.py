"""`tokengate emulate` over plain HTTP: the llm family's paths, APIM's 404, the key in the query,
the Prometheus text and the customMetrics rows file.

Prometheus text format: https://prometheus.io/docs/instrumenting/exposition_formats/ ;
customMetrics columns: https://learn.microsoft.com/azure/azure-monitor/app/metrics-overview .
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from emulator_support import running
from support import FIXTURES


def call(
    url: str, body: Any = None, headers: dict[str, str] | None = None
) -> tuple[int, dict[str, str], Any]:
    data = None if body is None else json.dumps(body).encode("utf-8")
    request = urllib.request.Request(url, data=data, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, dict(response.headers), json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), json.loads(error.read())


def test_llm_family_paths_take_the_model_from_the_body(tmp_path: Path) -> None:
    with running(FIXTURES / "specs" / "good" / "llm-family.yaml", tmp_path) as emulator:
        key = emulator.keys["app"]
        status, headers, body = call(
            f"{emulator.url}/models/chat/completions",
            {
                "model": "gpt-4o-mini",
                "messages": [{"role": "user", "content": "Hi"}],
                "max_tokens": 2,
            },
            {"api-key": key},
        )
        assert status == 200
        assert body["model"] == "gpt-4o-mini"
        assert body["usage"] == {"prompt_tokens": 7, "completion_tokens": 2, "total_tokens": 9}
        assert headers["x-gateway-remaining-tokens"] == str(4000 - 9)
        # The Azure OpenAI path does not exist on a model inference API.
        status, _, body = call(
            f"{emulator.url}/models/deployments/gpt-4o-mini/chat/completions?api-version=x",
            {"messages": []},
            {"api-key": key},
        )
        assert (status, body) == (404, {"statusCode": 404, "message": "Resource not found"})
        metrics = emulator.metrics()
    assert (
        'tokengate_total_tokens_total{subscription_id="app",operation_id="chat-completions"} 9'
        in metrics
    )


def test_key_in_the_query_metrics_and_records(tmp_path: Path) -> None:
    records = tmp_path / "metrics.jsonl"
    with running(None, tmp_path, "--records", str(records)) as emulator:
        key = emulator.keys["team-a"]
        url = (
            f"{emulator.url}/openai/deployments/gpt-4o/chat/completions"
            f"?api-version=2024-10-21&api-key={key}"
        )
        status, _, _ = call(
            url,
            {"messages": [{"role": "user", "content": "Hello"}], "max_tokens": 3},
            {"x-user-id": "ada"},
        )
        assert status == 200
        status, _, body = call(url.replace(key, ""), {"messages": []})
        assert status == 401
        assert body["message"].startswith("Access denied due to missing subscription key.")
        metrics = emulator.metrics()
    labels = 'subscription_id="team-a",client_ip="127.0.0.1",api_id="azure-openai",user_id="ada"'
    assert f"tokengate_total_tokens_total{{{labels}}} 11" in metrics
    assert f"tokengate_prompt_tokens_total{{{labels}}} 8" in metrics
    assert "# TYPE tokengate_completion_tokens_total counter" in metrics
    assert 'tokengate_requests_total{consumer="team-a",status="200"} 1' in metrics
    rows = [json.loads(line) for line in records.read_text(encoding="utf-8").splitlines()]
    assert [(row["name"], row["valueSum"]) for row in rows] == [
        ("Total Tokens", 11), ("Prompt Tokens", 8), ("Completion Tokens", 3),
    ]  # fmt: skip
    assert rows[0]["customDimensions"] == {
        "Subscription ID": "team-a",
        "Client IP": "127.0.0.1",
        "API ID": "azure-openai",
        "User ID": "ada",
    }
    assert rows[0]["timestamp"].endswith("Z")


def test_a_port_in_use_is_one_message_and_exit_2(tmp_path: Path) -> None:
    import socket
    import subprocess
    import sys

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = subprocess.run(
            [sys.executable, "-m", "generator", "emulate", "--port", str(port)],
            cwd=tmp_path, capture_output=True, text=True, timeout=60, check=False,
        )  # fmt: skip
    assert done.returncode == 2
    # Before it: the announcement that the built-in lab is used, and the lab's TG150 warning.
    assert done.stderr.splitlines()[-1] == (
        f"cannot listen on 127.0.0.1:{port}: address already in use"
    )
    assert "Traceback" not in done.stderr


def test_a_stream_without_include_usage_has_no_usage_chunk(tmp_path: Path) -> None:
    with running(None, tmp_path) as emulator:
        request = urllib.request.Request(
            f"{emulator.url}/openai/deployments/gpt-4o/chat/completions?api-version=2024-10-21",
            data=json.dumps(
                {"messages": [{"role": "user", "content": "Hi"}], "max_tokens": 2, "stream": True}
            ).encode(),
            headers={"api-key": emulator.keys["team-a"]},
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            assert response.headers["Content-Type"].startswith("text/event-stream")
            events = [line for line in response.read().decode().split("\n\n") if line]
        metrics = emulator.metrics()
    assert events[-1] == "data: [DONE]"
    chunks = [json.loads(event.removeprefix("data: ")) for event in events[:-1]]
    assert all("usage" not in chunk for chunk in chunks)
    assert [c["choices"][0]["delta"].get("content") for c in chunks] == ["", "tok ", "tok", None]
    # Counted all the same: 7 prompt + 2 completion tokens.
    assert "tokengate_total_tokens_total{" in metrics and "} 9\n" in metrics


def test_concurrency_is_bounded(tmp_path: Path) -> None:
    import threading
    import time

    with running(None, tmp_path, "--max-concurrency", "1", "--latency-ms", "700") as emulator:
        url = f"{emulator.url}/openai/deployments/gpt-4o/embeddings?api-version=2024-10-21"
        statuses: list[int] = []

        def one() -> None:
            statuses.append(call(url, {"input": "x"}, {"api-key": emulator.keys["team-a"]})[0])

        started = time.monotonic()
        threads = [threading.Thread(target=one) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=20)
        elapsed = time.monotonic() - started
    assert statuses == [200, 200]
    assert elapsed >= 1.4, "two 700 ms answers overlapped despite --max-concurrency 1"
