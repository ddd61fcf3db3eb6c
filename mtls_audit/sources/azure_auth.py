"""Clouds, credentials and the identity a live collection runs as (the SDKs imported lazily)."""

from __future__ import annotations

import asyncio
import base64
import binascii
import inspect
import json
import os
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Self

from mtls_audit.errors import CollectionError

if TYPE_CHECKING:
    from azure.core.credentials import AccessToken
    from azure.core.credentials_async import AsyncTokenCredential as AsyncCredential


@dataclass(frozen=True)
class Cloud:
    name: str
    arm_endpoint: str
    authority_host: str
    keyvault_suffix: str

    @property
    def arm_scope(self) -> str:
        return f"{self.arm_endpoint}/.default"


CLOUDS = {
    cloud.name: cloud
    for cloud in (
        Cloud(
            "AzureCloud",
            "https://management.azure.com",
            "login.microsoftonline.com",
            ".vault.azure.net",
        ),
        Cloud(
            "AzureUSGovernment",
            "https://management.usgovcloudapi.net",
            "login.microsoftonline.us",
            ".vault.usgovcloudapi.net",
        ),
        Cloud(
            "AzureChinaCloud",
            "https://management.chinacloudapi.cn",
            "login.chinacloudapi.cn",
            ".vault.azure.cn",
        ),
    )
}
AUTH_MODES = ("default", "cli", "managed-identity", "workload-identity", "environment")


class _Adapter:
    """Base of the wrappers around a caller's credential, which the collector never closes."""

    def __init__(self, credential: Any) -> None:
        self._credential = credential

    async def close(self) -> None:
        return None

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *args: object) -> None:
        return None


class _SyncCredentialAdapter(_Adapter):
    """Lets the async clients use a synchronous credential (get_token run in a worker thread)."""

    async def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        token: AccessToken = await asyncio.to_thread(self._credential.get_token, *scopes, **kwargs)
        return token


class _Borrowed(_Adapter):
    """A caller's async credential."""

    async def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        token: AccessToken = await self._credential.get_token(*scopes, **kwargs)
        return token


def adopt(credential: object) -> AsyncCredential:
    """Wrap a caller's credential (sync or async) for the async clients."""
    get_token = getattr(credential, "get_token", None)
    if get_token is None:
        raise CollectionError("the credential given has no get_token method")
    adapter = _Borrowed if inspect.iscoroutinefunction(get_token) else _SyncCredentialAdapter
    return adapter(credential)


def make_credential(auth: str, cloud: Cloud) -> AsyncCredential:
    """The azure-identity credential for ``--auth``; the caller closes it."""
    from azure.identity import aio as identity

    authority = cloud.authority_host
    credential: AsyncCredential
    if auth == "default":
        credential = identity.DefaultAzureCredential(authority=authority)
    elif auth == "cli":
        credential = identity.AzureCliCredential()
    elif auth == "managed-identity":
        # A user-assigned identity is named by AZURE_CLIENT_ID, as DefaultAzureCredential does.
        credential = identity.ManagedIdentityCredential(client_id=os.environ.get("AZURE_CLIENT_ID"))
    elif auth == "workload-identity":
        try:
            credential = identity.WorkloadIdentityCredential(authority=authority)
        except ValueError as error:
            raise CollectionError(f"workload identity is not configured: {error}") from error
    elif auth == "environment":
        credential = identity.EnvironmentCredential(authority=authority)
    else:
        raise CollectionError(f"unknown auth mode {auth!r}; use one of {', '.join(AUTH_MODES)}")
    return credential


def token_claims(token: str) -> dict[str, Any]:
    """The JWT payload, decoded without verification (only to say who ran the collection)."""
    parts = token.split(".")
    if len(parts) != 3:
        return {}
    payload = parts[1] + "=" * (-len(parts[1]) % 4)
    try:
        claims = json.loads(base64.urlsafe_b64decode(payload))
    except (binascii.Error, ValueError):
        return {}
    return claims if isinstance(claims, dict) else {}


async def identity_of(credential: AsyncCredential, scope: str) -> dict[str, str | None]:
    """Who the ARM token says we are; fails the collection when no token can be had."""
    from azure.core.exceptions import AzureError

    try:
        token = await credential.get_token(scope)
    except (AzureError, ValueError, OSError) as error:
        first_line = str(error).strip().splitlines()[0] if str(error).strip() else repr(error)
        raise CollectionError(f"no Azure credential available: {first_line}") from error
    claims = token_claims(token.token)
    return {
        "object_id": claims.get("oid"),
        "app_id": claims.get("appid") or claims.get("azp"),
        "tenant_id": claims.get("tid"),
    }
