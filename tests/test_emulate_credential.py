"""`emulate --backend URL` authenticates with Entra ID when azure-identity is installed (a token for
the Cognitive Services scope, refreshed before it expires), else with a key from the environment.

Scope: https://learn.microsoft.com/azure/ai-services/authentication (Microsoft Entra ID:
`https://cognitiveservices.azure.com/.default`). azure-identity is replaced by a stand-in module
that records the scopes asked for.
"""

from __future__ import annotations

import asyncio
import sys
import time
import types
from dataclasses import dataclass

import pytest

from generator.emulate.backend import Credential
from generator.errors import TokengateError


@dataclass
class Token:
    token: str
    expires_on: int


def fake_azure_identity(monkeypatch: pytest.MonkeyPatch, lifetime_s: int) -> list[str]:
    asked: list[str] = []

    class DefaultAzureCredential:
        def get_token(self, scope: str) -> Token:
            asked.append(scope)
            return Token(f"token-{len(asked)}", int(time.time()) + lifetime_s)

    azure = types.ModuleType("azure")
    azure.__path__ = []  # a package, so find_spec("azure.identity") looks inside
    identity = types.ModuleType("azure.identity")
    identity.DefaultAzureCredential = DefaultAzureCredential  # type: ignore[attr-defined]
    identity.__spec__ = types.SimpleNamespace(name="azure.identity")  # type: ignore[assignment]
    monkeypatch.setitem(sys.modules, "azure", azure)
    monkeypatch.setitem(sys.modules, "azure.identity", identity)
    monkeypatch.setattr("generator.emulate.backend._has_azure_identity", lambda: True)
    return asked


def test_entra_id_token_for_the_cognitive_services_scope_reused_until_near_expiry(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    asked = fake_azure_identity(monkeypatch, lifetime_s=3600)
    credential = Credential("auto", "UNUSED")
    first = asyncio.run(credential.headers())
    second = asyncio.run(credential.headers())
    assert first == second == {"Authorization": "Bearer token-1"}
    assert asked == ["https://cognitiveservices.azure.com/.default"]


def test_a_token_about_to_expire_is_refreshed(monkeypatch: pytest.MonkeyPatch) -> None:
    asked = fake_azure_identity(monkeypatch, lifetime_s=60)
    credential = Credential("entra", "UNUSED")
    asyncio.run(credential.headers())
    assert asyncio.run(credential.headers()) == {"Authorization": "Bearer token-2"}
    assert len(asked) == 2


def test_without_azure_identity_the_key_comes_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("generator.emulate.backend._has_azure_identity", lambda: False)
    monkeypatch.setenv("MY_KEY", "secret")
    assert asyncio.run(Credential("auto", "MY_KEY").headers()) == {"api-key": "secret"}
    monkeypatch.delenv("MY_KEY")
    with pytest.raises(TokengateError, match=r"install azure-identity .* or set MY_KEY"):
        Credential("auto", "MY_KEY")
