"""The HTTP layer: aiohttp serves the deployed gateway's paths and hands each request to the gate.

aiohttp (the optional extra `emulate`) is one well-kept package that is both the server and the
client `--backend URL` forwards with. Concurrency is bounded by a semaphore (requests beyond it
wait for a slot); Ctrl-C or SIGTERM stops accepting, lets requests in flight finish (up to
SHUTDOWN_SECONDS) and returns.

Responses the gateway itself makes have APIM's shape, `{"statusCode": N, "message": "..."}`,
with the messages APIM uses for a missing or invalid subscription key
(https://learn.microsoft.com/troubleshoot/azure/api-mgmt/availability/unauthorized-errors-invoke-apis).
The token-limit policy reference gives the status codes (429 with Retry-After, 403) but not the
messages; the ones here follow the wording of APIM's rate-limit and quota policies and are an
assumption, so clients should read the status and headers, not the message.
"""

from __future__ import annotations

import asyncio
import json
import signal
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from aiohttp import web
from aiohttp.typedefs import Handler

from generator.emulate import tokens
from generator.emulate.backend import Inbound, Reply
from generator.emulate.gate import Call, Decision, Gate
from generator.emulate.metrics import RECORDS_PATH, Metrics
from generator.emulate.policy import KeyNames
from generator.model import Gateway
from generator.simulate.semantics import QUOTA_EXCEEDED, RATE_LIMITED

#: How long requests in flight get to finish once a stop is asked for.
SHUTDOWN_SECONDS = 10.0
MISSING_KEY = (
    "Access denied due to missing subscription key. "
    "Make sure to include subscription key when making requests to an API."
)
INVALID_KEY = (
    "Access denied due to invalid subscription key. "
    "Make sure to provide a valid key for an active subscription."
)
NOT_FOUND = "Resource not found"


def rate_limited_message(seconds: int) -> str:
    return f"Token limit is exceeded. Try again in {seconds} seconds."


def quota_exceeded_message(seconds: int) -> str:
    hours, rest = divmod(seconds, 3600)
    return f"Token quota is exceeded. Try again in {hours:02d}:{rest // 60:02d}:{rest % 60:02d}."


class Backend(Protocol):
    async def answer(self, request: Inbound) -> Reply: ...

    async def close(self) -> None: ...


@dataclass(frozen=True)
class Operation:
    """One API operation: its name (`operation` in tokens/backend) and APIM operation id."""

    name: str
    operation_id: str


#: Azure OpenAI inference operations under /deployments/{deployment-id}/.
_AZURE_OPENAI = {
    "chat/completions": Operation("chat", "ChatCompletions_Create"),
    "completions": Operation("completions", "Completions_Create"),
    "embeddings": Operation("embeddings", "embeddings_create"),
}
#: Azure AI model inference operations (generator.azure.MODEL_INFERENCE_OPERATIONS).
_MODEL_INFERENCE = {
    "chat/completions": Operation("chat", "chat-completions"),
    "embeddings": Operation("embeddings", "embeddings"),
    "info": Operation("info", "info"),
}


def apim_error(status: int, message: str, headers: Mapping[str, str] | None = None) -> web.Response:
    body = json.dumps({"statusCode": status, "message": message})
    return web.Response(
        status=status, text=body, content_type="application/json", headers=dict(headers or {})
    )


class Emulator:
    def __init__(
        self,
        gateway: Gateway,
        gate: Gate,
        keys: Mapping[str, str],
        key_names: KeyNames,
        backend: Backend,
        metrics: Metrics,
        *,
        max_concurrency: int,
    ) -> None:
        self.gateway = gateway
        self.gate = gate
        self.consumer_of_key = {key: consumer for consumer, key in keys.items()}
        self.key_names = key_names
        self.backend = backend
        self.metrics = metrics
        self.slots = asyncio.Semaphore(max_concurrency)
        self.prefix = "/" + gateway.api.path.strip("/") if gateway.api.path.strip("/") else ""
        self.models = {d.name: d.model for account in gateway.accounts for d in account.deployments}

    def app(self) -> web.Application:
        app = web.Application(client_max_size=16 * 1024 * 1024, middlewares=[_one_line_errors])
        app.router.add_get("/metrics", self.prometheus)
        app.router.add_get(RECORDS_PATH, self.records)
        app.router.add_route("*", "/{tail:.*}", self.api)
        return app

    async def prometheus(self, request: web.Request) -> web.Response:
        return web.Response(
            text=self.metrics.prometheus(),
            content_type="text/plain",
            headers={"X-Content-Type-Options": "nosniff"},
        )

    async def records(self, request: web.Request) -> web.Response:
        rows = self.metrics.since(request.query.get("since", ""))
        return web.json_response(rows)

    def route(self, path: str) -> tuple[Operation, str] | None:
        """The operation and deployment of a request path; None when no operation matches."""
        if self.prefix and not (path == self.prefix or path.startswith(self.prefix + "/")):
            return None
        rest = path[len(self.prefix) :].strip("/")
        if self.gateway.api.family == "llm":
            found = _MODEL_INFERENCE.get(rest)
            return (found, "") if found else None
        head, _, operation = rest.partition("/")
        deployment, _, operation = operation.partition("/")
        found = _AZURE_OPENAI.get(operation) if head == "deployments" and deployment else None
        return (found, deployment) if found else None

    async def api(self, request: web.Request) -> web.StreamResponse:
        async with self.slots:
            return await self._api(request)

    async def _api(self, request: web.Request) -> web.StreamResponse:
        matched = self.route(request.path)
        method = "GET" if matched and matched[0].name == "info" else "POST"
        if matched is None or request.method != method:
            return apim_error(404, NOT_FOUND)
        operation, deployment = matched
        key = request.headers.get(self.key_names.header) or request.query.get(
            self.key_names.query, ""
        )
        if not key:
            return apim_error(401, MISSING_KEY)
        consumer = self.consumer_of_key.get(key)
        if consumer is None:
            return apim_error(401, INVALID_KEY)
        if self.gateway.api.family == "azure-openai" and "api-version" not in request.query:
            return apim_error(404, NOT_FOUND)
        raw = await request.read() if method == "POST" else b""
        body = _json_object(raw) if method == "POST" else {}
        if body is None:
            return web.json_response(
                {"error": {"code": "BadRequest", "message": "The request body is not JSON."}},
                status=400,
            )
        if self.gateway.api.family == "llm":
            deployment = str(body.get("model") or "")
        stream = bool(body.get("stream")) and operation.name in ("chat", "completions")
        options = body.get("stream_options")
        include_usage = stream and isinstance(options, dict) and bool(options.get("include_usage"))
        prompt = 0 if operation.name == "info" else tokens.prompt_tokens(operation.name, body)
        call = Call(
            consumer=consumer,
            operation_id=operation.operation_id,
            deployment=deployment,
            client_ip=request.remote or "",
            headers={name.lower(): value for name, value in request.headers.items()},
            stream=stream,
            prompt_tokens=prompt,
        )
        decision = self.gate.admit(call)
        if decision.ticket is None:
            self.metrics.request(consumer, decision.status)
            return _refusal(decision)
        inbound = Inbound(
            operation=operation.name,
            suffix=request.path[len(self.prefix) :],
            query=request.query_string,
            deployment=deployment,
            model=self.models.get(deployment, deployment),
            body=body,
            raw=raw,
            stream=stream,
            include_usage=include_usage,
            prompt_tokens=prompt,
        )
        reply = await self.backend.answer(inbound)
        self.metrics.request(consumer, reply.status)
        if reply.chunks is None:
            usage = reply.usage
            headers = self.gate.complete(decision.ticket, usage.prompt, usage.completion)
            if reply.status == 200 and operation.name != "info":
                self.metrics.usage(usage.prompt, usage.completion, decision.ticket.dimensions)
            return web.Response(
                status=reply.status,
                body=reply.body,
                headers={"Content-Type": reply.content_type, **reply.headers, **headers},
            )
        response = web.StreamResponse(
            status=200,
            headers={
                "Content-Type": reply.content_type,
                "Cache-Control": "no-cache",
                **reply.headers,
                **decision.headers,
            },
        )
        await response.prepare(request)
        try:
            async for chunk in reply.chunks:
                await response.write(chunk)
            await response.write_eof()
        except ConnectionResetError:
            pass  # the client left mid-stream; what was generated is still counted
        finally:
            usage = reply.usage
            self.gate.complete(decision.ticket, usage.prompt, usage.completion)
            self.metrics.usage(usage.prompt, usage.completion, decision.ticket.dimensions)
        return response


@web.middleware
async def _one_line_errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    """An unexpected failure answers 500 and prints one line, never a traceback."""
    try:
        return await handler(request)
    except web.HTTPException:
        raise
    except (ConnectionResetError, asyncio.CancelledError):
        raise
    except Exception as error:
        print(f"error: {request.method} {request.path}: {error!r}", file=sys.stderr, flush=True)
        return apim_error(500, "Internal server error")


def _json_object(raw: bytes) -> dict[str, Any] | None:
    try:
        value = json.loads(raw or b"{}")
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def _refusal(decision: Decision) -> web.Response:
    if decision.outcome == RATE_LIMITED:
        return apim_error(429, rate_limited_message(decision.retry_after), decision.headers)
    assert decision.outcome == QUOTA_EXCEEDED
    return apim_error(403, quota_exceeded_message(decision.retry_after), decision.headers)


async def serve(
    emulator: Emulator,
    host: str,
    port: int,
    on_ready: Callable[[str], None],
    *,
    backlog: int = 128,
) -> None:
    """Serve until SIGINT or SIGTERM, then finish requests in flight and close everything."""
    runner = web.AppRunner(emulator.app(), access_log=None, handle_signals=False)
    await runner.setup()
    site = web.TCPSite(runner, host, port, backlog=backlog, shutdown_timeout=SHUTDOWN_SECONDS)
    try:
        await site.start()
        bound = runner.addresses[0]
        shown = f"[{bound[0]}]" if ":" in str(bound[0]) else str(bound[0])
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for number in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(number, stop.set)
        on_ready(f"http://{shown}:{bound[1]}")
        await stop.wait()
    finally:
        await runner.cleanup()
        await emulator.backend.close()
        emulator.metrics.close()
