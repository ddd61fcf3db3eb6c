"""Fake credentials and the unsigned token they hand out (its claims say who "ran" a test)."""

from __future__ import annotations

import base64
import json
import sys
import time
from pathlib import Path
from typing import Any

from azure.core.credentials import AccessToken

from .instance import SUBSCRIPTION, TENANT

Json = dict[str, Any]

CALLER_OBJECT_ID = "6a7b8c9d-0e1f-4a2b-8c3d-4e5f6a7b8c9d"
CALLER_APP_ID = "04b07795-8ddb-461a-bbee-02f9e1bf7b46"


def fake_jwt(claims: Json) -> str:
    """An unsigned JWT carrying ``claims`` (only its payload is ever read)."""

    def part(data: Json) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")

    return f"{part({'alg': 'none', 'typ': 'JWT'})}.{part(claims)}.c2lnbmF0dXJl"


TOKEN = fake_jwt({"oid": CALLER_OBJECT_ID, "appid": CALLER_APP_ID, "tid": TENANT})


class FakeCredential:
    """An async credential handing out one fixed token."""

    def __init__(self, token: str) -> None:
        self.token = token
        self.scopes: list[tuple[str, ...]] = []

    async def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        self.scopes.append(scopes)
        return AccessToken(self.token, int(time.time()) + 3600)

    async def close(self) -> None:
        return None


class FakeSyncCredential:
    """The same, synchronous (as azure.identity's non-aio credentials are)."""

    def __init__(self, token: str) -> None:
        self.token = token

    def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        return AccessToken(self.token, int(time.time()) + 3600)


_STUB = """#!{python}
import json, sys, time
with open({log!r}, "a") as log:
    log.write(" ".join(sys.argv[1:]) + "\\n")
if sys.argv[1:5] != ["account", "get-access-token", "--output", "json"]:
    sys.exit("unexpected az command")
print(json.dumps({{
    "accessToken": {token!r},
    "expiresOn": "2099-01-01 00:00:00.000000",
    "expires_on": int(time.time()) + 3600,
    "tokenType": "Bearer",
    "subscription": {subscription!r},
    "tenant": {tenant!r},
}}))
"""


def stub_az(folder: Path) -> Path:
    """A folder holding an ``az`` that hands out the fake token and logs its arguments."""
    folder.mkdir()
    log = folder / "az.log"
    az = folder / "az"
    az.write_text(
        _STUB.format(
            python=sys.executable,
            log=str(log),
            token=TOKEN,
            subscription=SUBSCRIPTION,
            tenant=TENANT,
        )
    )
    az.chmod(0o755)
    return log
