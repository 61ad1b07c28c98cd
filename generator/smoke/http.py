"""One JSON request with the standard library: smoke runs against Azure with no extra installed."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any

from generator.errors import ExitCode, TokengateError


@dataclass(frozen=True)
class Answer:
    status: int
    #: Header names lower-cased.
    headers: dict[str, str]
    body: Any


class Unreachable(TokengateError):
    exit_code = ExitCode.DEPLOY_FAILED


def request(
    url: str,
    *,
    headers: dict[str, str],
    body: Any = None,
    timeout: float,
    shown_url: str = "",
) -> Answer:
    """POST `body` as JSON (GET when None); HTTP error statuses are answers, not exceptions."""
    data = None if body is None else json.dumps(body).encode("utf-8")
    sent = {"Content-Type": "application/json", **headers} if data is not None else headers
    prepared = urllib.request.Request(url, data=data, headers=sent)  # noqa: S310 - http(s) only
    if not url.startswith(("http://", "https://")):
        raise Unreachable(f"{url}: not an http(s) URL")
    try:
        with urllib.request.urlopen(prepared, timeout=timeout) as response:  # noqa: S310
            return _answer(response.status, dict(response.headers.items()), response.read())
    except urllib.error.HTTPError as error:
        return _answer(error.code, dict(error.headers.items()), error.read())
    except (urllib.error.URLError, TimeoutError, OSError) as error:
        reason = getattr(error, "reason", error)
        raise Unreachable(f"cannot reach {shown_url or url}: {reason}") from error


def _answer(status: int, headers: dict[str, str], raw: bytes) -> Answer:
    try:
        body: Any = json.loads(raw) if raw else None
    except ValueError:
        body = raw.decode("utf-8", "replace")
    return Answer(status, {name.lower(): value for name, value in headers.items()}, body)
