"""The pieces an estate's collections share: each origin's proxy looked up once, and tokens kept
until shortly before they expire."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest
from azure.core.credentials import AccessToken

from mtls_audit.sources.azure.auth import Limits, SharedCredential, resolve_endpoints
from mtls_audit.sources.azure.http import HttpSession, ssl_context


def test_the_proxy_of_an_origin_is_the_environment_s_and_looked_up_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.example:3128")
    monkeypatch.setenv("NO_PROXY", "vault.example")

    async def lookups() -> list[dict[str, Any]]:
        http = HttpSession(ssl_context(None))
        try:
            found = [http.proxy("https://management.example/subscriptions?x=1")]
            monkeypatch.setenv("HTTPS_PROXY", "http://elsewhere.example:8080")
            found.append(http.proxy("https://management.example/providers"))
            found.append(http.proxy("https://kv.vault.example/certificates/a"))
            return found
        finally:
            await http.close()

    arm, again, vault = asyncio.run(lookups())
    assert str(arm["proxy"]) == "http://proxy.example:3128"
    assert again == arm  # once per origin: the environment is not read per request
    assert vault == {}  # NO_PROXY: straight to the vault


class _Counting:
    def __init__(self, lifetime_s: int) -> None:
        self.asked: list[tuple[str, ...]] = []
        self.lifetime_s = lifetime_s

    def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        self.asked.append(scopes)
        return AccessToken(f"token-{len(self.asked)}", int(time.time()) + self.lifetime_s)

    def close(self) -> None:
        return None


def _shared(inner: _Counting) -> SharedCredential:
    endpoints = resolve_endpoints("AzureCloud", None, "login.example")
    credential = SharedCredential("environment", endpoints, Limits(5.0, 0))
    credential._credential = inner
    return credential


def test_a_shared_token_is_kept_per_audience_until_five_minutes_before_expiry() -> None:
    lasting = _Counting(lifetime_s=3600)
    credential = _shared(lasting)

    async def ask() -> list[str]:
        scopes = ("https://management.example/.default", "https://vault.example/.default")
        return [(await credential.get_token(s)).token for s in (*scopes, *scopes, scopes[0])]

    assert asyncio.run(ask()) == ["token-1", "token-2", "token-1", "token-2", "token-1"]
    assert len(lasting.asked) == 2

    short = _Counting(lifetime_s=SharedCredential.REFRESH_S - 1)
    credential = _shared(short)

    async def twice() -> list[str]:
        scope = "https://management.example/.default"
        return [(await credential.get_token(scope)).token for _ in range(2)]

    assert asyncio.run(twice()) == ["token-1", "token-2"]  # too close to expiry: asked again
