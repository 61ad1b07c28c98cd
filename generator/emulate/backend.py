"""Where admitted requests go: the mock model, or a real endpoint with the user's credential.

Both return a `Reply`; a streamed reply yields its bytes and fills in `usage` when it ends, so the
gate counts a stream's tokens once it is complete, as the policy does.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from generator import azure
from generator.emulate import tokens
from generator.errors import TokengateError

if TYPE_CHECKING:
    import aiohttp

#: Model name the mock reports (the deployment's model when the spec names one).
MOCK_CREATED = 1_700_000_000


@dataclass(frozen=True)
class Inbound:
    """An admitted request, as the backend needs it."""

    operation: str
    #: What follows the API path (`/deployments/gpt-4o/chat/completions`, `/chat/completions`).
    suffix: str
    query: str
    deployment: str
    model: str
    body: dict[str, Any]
    raw: bytes
    stream: bool
    include_usage: bool
    prompt_tokens: int


@dataclass
class Usage:
    prompt: int = 0
    completion: int = 0


@dataclass
class Reply:
    status: int
    content_type: str
    body: bytes = b""
    chunks: AsyncIterator[bytes] | None = None
    usage: Usage = field(default_factory=Usage)
    #: Backend headers worth passing on (x-request-id and the like).
    headers: dict[str, str] = field(default_factory=dict)


def _json(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":")).encode("utf-8")


def _sse(value: Any) -> bytes:
    return b"data: " + _json(value) + b"\n\n"


class MockBackend:
    """OpenAI-compatible answers with the documented token counts of `tokens`."""

    def __init__(self, latency_ms: int = 0) -> None:
        self.latency_ms = latency_ms
        self.served = 0

    async def close(self) -> None:
        return None

    async def answer(self, request: Inbound) -> Reply:
        if self.latency_ms:
            await asyncio.sleep(self.latency_ms / 1000)
        self.served += 1
        number = self.served
        prompt = request.prompt_tokens
        completion = tokens.completion_tokens(request.operation, request.body)
        usage = Usage(prompt, completion)
        if request.operation == "embeddings":
            return Reply(200, "application/json", _json(_embeddings(request, prompt)), usage=usage)
        if request.operation == "info":
            info = {"model_name": request.model, "model_type": "chat-completion"}
            return Reply(200, "application/json", _json(info), usage=Usage(0, 0))
        ident = f"{'chatcmpl' if request.operation == 'chat' else 'cmpl'}-mock{number:06d}"
        if request.stream:
            chunks = _stream(request, ident, prompt, completion)
            return Reply(200, "text/event-stream", chunks=chunks, usage=usage)
        text = tokens.mock_text(completion)
        body: dict[str, Any] = {
            "id": ident,
            "created": MOCK_CREATED,
            "model": request.model,
            "usage": _usage(prompt, completion),
        }
        if request.operation == "chat":
            body["object"] = "chat.completion"
            body["choices"] = [
                {
                    "index": 0,
                    "finish_reason": "length" if _asked_length(request) else "stop",
                    "message": {"role": "assistant", "content": text},
                }
            ]
        else:
            body["object"] = "text_completion"
            body["choices"] = [{"index": 0, "finish_reason": "stop", "text": text}]
        return Reply(200, "application/json", _json(body), usage=usage)


def _asked_length(request: Inbound) -> bool:
    return any(name in request.body for name in ("max_tokens", "max_completion_tokens"))


def _usage(prompt: int, completion: int) -> dict[str, int]:
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
    }


def _embeddings(request: Inbound, prompt: int) -> dict[str, Any]:
    value = request.body.get("input")
    inputs = [value] if isinstance(value, str) else value if isinstance(value, list) else []
    return {
        "object": "list",
        "model": request.model,
        "data": [
            {"object": "embedding", "index": i, "embedding": tokens.mock_embedding(str(text), i)}
            for i, text in enumerate(inputs)
        ],
        "usage": {"prompt_tokens": prompt, "total_tokens": prompt},
    }


async def _stream(
    request: Inbound, ident: str, prompt: int, completion: int
) -> AsyncIterator[bytes]:
    """Chunks as Azure OpenAI streams them: the role, one chunk per token, the finish reason,
    then (with stream_options.include_usage) a chunk with empty choices and the usage."""
    chat = request.operation == "chat"
    base = {
        "id": ident,
        "object": "chat.completion.chunk" if chat else "text_completion",
        "created": MOCK_CREATED,
        "model": request.model,
    }
    if chat:
        first = {"index": 0, "delta": {"role": "assistant", "content": ""}, "finish_reason": None}
        yield _sse(base | {"choices": [first]})
    for i in range(completion):
        piece = tokens.MOCK_WORD if i < completion - 1 else tokens.MOCK_WORD.rstrip()
        choice: dict[str, Any] = {"index": 0, "finish_reason": None}
        if chat:
            choice["delta"] = {"content": piece}
        else:
            choice["text"] = piece
        yield _sse(base | {"choices": [choice]})
        await asyncio.sleep(0)
    last: dict[str, Any] = {
        "index": 0,
        "finish_reason": "length" if _asked_length(request) else "stop",
    }
    if chat:
        last["delta"] = {}
    else:
        last["text"] = ""
    yield _sse(base | {"choices": [last]})
    if request.include_usage:
        yield _sse(base | {"choices": [], "usage": _usage(prompt, completion)})
    yield b"data: [DONE]\n\n"


#: Refresh an Entra ID token this long before it expires.
_TOKEN_MARGIN_S = 300


class Credential:
    """Headers that authenticate the emulator to the real endpoint."""

    def __init__(self, mode: str, key_variable: str) -> None:
        self.token: Any = None
        self.key = ""
        self.credential: Any = None
        if mode == "auto":
            mode = "entra" if _has_azure_identity() else "key"
        self.mode = mode
        if mode == "entra":
            if not _has_azure_identity():
                raise TokengateError(
                    "--backend-auth entra needs azure-identity: pip install azure-identity"
                )
            from azure.identity import DefaultAzureCredential

            self.credential = DefaultAzureCredential()
        else:
            self.key = os.environ.get(key_variable, "")
            if not self.key:
                raise TokengateError(
                    f"--backend needs a credential: install azure-identity (Entra ID) or set "
                    f"{key_variable} to the endpoint's key"
                )

    async def headers(self) -> dict[str, str]:
        if self.mode == "key":
            return {"api-key": self.key}
        if self.token is None or self.token.expires_on - _TOKEN_MARGIN_S < time.time():
            scope = azure.COGNITIVE_SERVICES_AUDIENCE + "/.default"
            self.token = await asyncio.to_thread(self.credential.get_token, scope)
        return {"Authorization": f"Bearer {self.token.token}"}


def _has_azure_identity() -> bool:
    from importlib.util import find_spec

    return find_spec("azure.identity") is not None if find_spec("azure") else False


#: Request headers passed through to the real endpoint; everything else (the subscription key
#: above all) stays at the gateway.
_FORWARDED = ("content-type", "accept", "user-agent", "x-ms-client-request-id")
_PASSED_BACK = ("x-request-id", "apim-request-id", "x-ms-region", "x-ms-client-request-id")


class ForwardingBackend:
    """Sends admitted requests to `url` + the path after the API path, as APIM's backend does."""

    def __init__(
        self,
        url: str,
        credential: Credential,
        session_factory: Callable[[], aiohttp.ClientSession],
        timeout_s: float,
    ) -> None:
        self.url = url.rstrip("/")
        self.credential = credential
        self.session_factory = session_factory
        self.session: aiohttp.ClientSession | None = None
        self.timeout_s = timeout_s

    async def close(self) -> None:
        if self.session is not None:
            await self.session.close()

    async def answer(self, request: Inbound) -> Reply:
        import aiohttp

        if self.session is None:
            self.session = self.session_factory()
        target = self.url + request.suffix + (f"?{request.query}" if request.query else "")
        headers = {"Content-Type": "application/json"} | await self.credential.headers()
        method = "GET" if request.operation == "info" else "POST"
        try:
            response = await self.session.request(
                method,
                target,
                data=request.raw if method == "POST" else None,
                headers=headers,
                timeout=aiohttp.ClientTimeout(total=self.timeout_s),
            )
        except (aiohttp.ClientError, TimeoutError) as error:
            message = f"backend {self.url} unreachable: {error or type(error).__name__}"
            body = {"statusCode": 502, "message": message}
            return Reply(502, "application/json", _json(body))
        passed = {k: v for k, v in response.headers.items() if k.lower() in _PASSED_BACK}
        content_type = response.headers.get("Content-Type", "application/json")
        if request.stream and response.status == 200:
            usage = Usage(request.prompt_tokens, 0)
            return Reply(
                200, content_type, chunks=_relay(response, usage), usage=usage, headers=passed
            )
        raw = await response.read()
        response.release()
        usage = Usage(request.prompt_tokens if response.status == 200 else 0, 0)
        if response.status == 200:
            try:
                reported = json.loads(raw).get("usage") or {}
            except (ValueError, AttributeError):
                reported = {}
            usage = Usage(
                int(reported.get("prompt_tokens", request.prompt_tokens)),
                int(reported.get("completion_tokens", 0)),
            )
        return Reply(response.status, content_type, raw, usage=usage, headers=passed)


async def _relay(response: aiohttp.ClientResponse, usage: Usage) -> AsyncIterator[bytes]:
    """Pass the stream through; take the usage chunk if the backend sends one, else estimate
    completion tokens from the streamed text (the documented count)."""
    streamed_text: list[str] = []
    reported = False
    try:
        async for line in response.content:
            yield line
            if not line.startswith(b"data: {"):
                continue
            try:
                chunk = json.loads(line[6:])
            except ValueError:
                continue
            if isinstance(chunk.get("usage"), dict):
                usage.prompt = int(chunk["usage"].get("prompt_tokens", usage.prompt))
                usage.completion = int(chunk["usage"].get("completion_tokens", 0))
                reported = True
            for choice in chunk.get("choices") or []:
                delta = choice.get("delta") or {}
                streamed_text.append(str(delta.get("content") or choice.get("text") or ""))
    finally:
        response.release()
    if not reported:
        usage.completion = tokens.text_tokens("".join(streamed_text))
