"""Clouds, credentials and the identity a live collection runs as (the SDKs imported lazily)."""

from __future__ import annotations

import asyncio
import base64
import binascii
import importlib
import inspect
import json
import os
import re
import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Self

from mtls_audit.errors import CollectionError
from mtls_audit.vocabulary import AUTH_MODES, AuthMode
from mtls_audit.vocabulary import Cloud as CloudName

if TYPE_CHECKING:
    from azure.core.credentials import AccessToken
    from azure.core.credentials_async import AsyncTokenCredential as AsyncCredential


@dataclass(frozen=True)
class Cloud:
    name: str
    arm_endpoint: str
    authority_host: str
    keyvault_suffix: str


CLOUDS = {
    cloud.name: cloud
    for cloud in (
        Cloud(
            CloudName.PUBLIC,
            "https://management.azure.com",
            "login.microsoftonline.com",
            ".vault.azure.net",
        ),
        Cloud(
            CloudName.US_GOVERNMENT,
            "https://management.usgovcloudapi.net",
            "login.microsoftonline.us",
            ".vault.usgovcloudapi.net",
        ),
        Cloud(
            CloudName.CHINA,
            "https://management.chinacloudapi.cn",
            "login.chinacloudapi.cn",
            ".vault.azure.cn",
        ),
    )
}


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


@dataclass(frozen=True)
class Endpoints:
    """Where a collection signs in and reads: a known cloud's, or a custom cloud's."""

    cloud: str  # a name of CLOUDS, or "custom" for an ARM endpoint no known cloud has
    arm_endpoint: str
    authority_host: str
    keyvault_suffix: str | None  # None: only vaults found through ARM are contacted

    @property
    def arm_scope(self) -> str:
        return f"{self.arm_endpoint}/.default"

    @property
    def standard(self) -> bool:
        """Whether these are exactly a known cloud's endpoints."""
        known = CLOUDS.get(self.cloud)
        return known is not None and (
            known.arm_endpoint,
            f"https://{known.authority_host}",
            known.keyvault_suffix,
        ) == (self.arm_endpoint, self.authority_host, self.keyvault_suffix)


def _https(host_or_url: str) -> str:
    text = host_or_url.strip().rstrip("/")
    return text if "://" in text else f"https://{text}"


def resolve_endpoints(
    cloud: str,
    arm_endpoint: str | None,
    authority_host: str | None = None,
    keyvault_suffix: str | None = None,
) -> Endpoints:
    """The endpoints of ``cloud``, as changed by a custom ARM endpoint, authority (option, then
    ``AZURE_AUTHORITY_HOST``) or Key Vault domain. An ARM endpoint that is a known cloud's
    brings that cloud's authority and Key Vault domain; any other makes a custom cloud, whose
    token audience is the endpoint itself and whose vaults are trusted only when ARM lists them.
    """
    chosen = CLOUDS[cloud]
    arm = (arm_endpoint or chosen.arm_endpoint).rstrip("/")
    base = next((c for c in CLOUDS.values() if c.arm_endpoint == arm.lower()), None)
    authority = authority_host or os.environ.get("AZURE_AUTHORITY_HOST") or None
    suffix = keyvault_suffix or (base.keyvault_suffix if base else None)
    return Endpoints(
        cloud=base.name if base else "custom",
        arm_endpoint=arm,
        authority_host=_https(authority or (base or chosen).authority_host),
        keyvault_suffix=f".{suffix.lstrip('.')}" if suffix else None,
    )


@dataclass(frozen=True)
class Limits:
    """Per-request bounds handed to azure-identity's own HTTP pipeline."""

    timeout_s: float
    max_retries: int
    connection_verify: str | bool | None = None


def make_credential(
    auth: str, endpoints: Endpoints, limits: Limits, *, sync: bool = False
) -> AsyncCredential:
    """The azure-identity credential for ``--auth``; the caller closes it. ``sync``: the
    synchronous class of the same name (typed alike: only ``SharedCredential`` asks for it)."""
    identity: Any = importlib.import_module("azure.identity" if sync else "azure.identity.aio")

    transport: dict[str, Any] = {
        "connection_timeout": limits.timeout_s,
        "read_timeout": limits.timeout_s,
        "retry_total": limits.max_retries,
    }
    # As for ARM (azure_http.ssl_context): a CA bundle named in the environment is the token
    # requests' too, read now rather than whenever aiohttp happened to make its default context.
    verify = limits.connection_verify
    if verify is None:
        verify = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("SSL_CERT_FILE") or None
    if verify is not None:
        transport["connection_verify"] = verify
    signed_in = {"authority": endpoints.authority_host, **transport}
    process_timeout = max(1, round(limits.timeout_s))
    credential: AsyncCredential
    if auth == AuthMode.DEFAULT:
        credential = identity.DefaultAzureCredential(process_timeout=process_timeout, **signed_in)
    elif auth == AuthMode.CLI:
        credential = identity.AzureCliCredential(process_timeout=process_timeout)
    elif auth == AuthMode.MANAGED_IDENTITY:
        # A user-assigned identity is named by AZURE_CLIENT_ID, as DefaultAzureCredential does.
        credential = identity.ManagedIdentityCredential(
            client_id=os.environ.get("AZURE_CLIENT_ID"), **transport
        )
    elif auth == AuthMode.WORKLOAD_IDENTITY:
        try:
            credential = identity.WorkloadIdentityCredential(**signed_in)
        except ValueError as error:
            raise CollectionError(f"workload identity is not configured: {error}") from error
    elif auth == AuthMode.ENVIRONMENT:
        credential = identity.EnvironmentCredential(**signed_in)
    else:
        raise CollectionError(f"unknown auth mode {auth!r}; use one of {', '.join(AUTH_MODES)}")
    return credential


class SharedCredential:
    """One synchronous azure-identity credential for every collection of a process (an estate
    scan): tokens are asked for one at a time (collections starting together would each ask
    before the first answer is cached), so the estate asks the authority once per audience, not
    twice per instance. A token is kept here until it has less than ``REFRESH_S`` left, so that
    a collection's clients take it without a trip to a worker thread."""

    REFRESH_S = 300  # as azure-core's bearer policy, which asks again 5 minutes before expiry

    def __init__(self, auth: str, endpoints: Endpoints, limits: Limits) -> None:
        self.mode = auth
        self._credential: Any = make_credential(auth, endpoints, limits, sync=True)
        self._lock = threading.Lock()
        self._tokens: dict[tuple[tuple[str, ...], str], AccessToken] = {}

    def _fresh(self, key: tuple[tuple[str, ...], str]) -> AccessToken | None:
        token = self._tokens.get(key)
        if token is None or token.expires_on - self.REFRESH_S <= time.time():
            return None
        return token

    async def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        key = (scopes, repr(sorted(kwargs.items())))
        token = self._fresh(key)
        if token is None:
            token = await asyncio.to_thread(self._ask, key, scopes, kwargs)
        return token

    def _ask(
        self, key: tuple[tuple[str, ...], str], scopes: tuple[str, ...], kwargs: dict[str, Any]
    ) -> AccessToken:
        with self._lock:
            token = self._fresh(key)
            if token is None:
                token = self._credential.get_token(*scopes, **kwargs)
                self._tokens[key] = token
        return token

    def close(self) -> None:
        self._credential.close()


def credential_type(credential: object) -> str:
    """The class of the credential that gave the token (the one of a chain that succeeded)."""
    inner = getattr(credential, "_credential", None)
    while inner is not None:  # a caller's credential, adopted; a shared one
        credential = inner
        inner = getattr(credential, "_credential", None)
    succeeded = getattr(credential, "_successful_credential", None)
    return type(succeeded if succeeded is not None else credential).__name__


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


class SignInError(CollectionError):
    """No token could be had, or the token was refused: the collection stops (exit 2)."""


async def identity_of(credential: AsyncCredential, scope: str) -> dict[str, str | None]:
    """Who the ARM token says we are; fails the collection when the credential says no.

    azure-identity's whole explanation is kept: for ``--auth default`` it lists each credential
    tried and why it could not sign in. A token endpoint that does not answer raises what the
    transport raised (the caller bounds the wait).
    """
    from azure.core.exceptions import ClientAuthenticationError

    try:
        token = await credential.get_token(scope)
    except (ClientAuthenticationError, ValueError) as error:
        text = str(getattr(error, "message", None) or error).strip() or repr(error)
        raise SignInError(f"no Azure credential available: {text}") from error
    claims = token_claims(token.token)
    return {
        "object_id": claims.get("oid"),
        "app_id": claims.get("appid") or claims.get("azp"),
        "tenant_id": claims.get("tid"),
    }


_CHALLENGE_PARAM = re.compile(r'(\w+)="([^"]*)"')
_TENANT_IN_URL = re.compile(r"https://[^/\s'\"]+/([0-9a-fA-F-]{36})")
# What a refused token means, by ARM's error code or, failing that, by the words of the refusal.
_REFUSALS = (
    (
        ("ExpiredAuthenticationToken", "expired", "expiry", "lifetime"),
        "the access token has expired (check this machine's clock, then sign in again)",
    ),
    (
        ("InvalidAuthenticationTokenTenant", "wrong issuer", "invalid issuer"),
        "the access token was issued by another tenant than the one that owns the resource "
        "(sign in to that tenant: AZURE_TENANT_ID, or az login --tenant)",
    ),
    (
        ("InvalidAuthenticationTokenAudience", "audience"),
        "the access token was issued for another audience (check --cloud and --arm-endpoint: "
        "the token's audience must be the endpoint's)",
    ),
)


def explain_refusal(
    service: str, code: str | None, message: str, www_authenticate: str | None
) -> str:
    """Why ``service`` refused the token (HTTP 401), from its error and WWW-Authenticate header.

    A refused token is a sign-in problem, never a missing role: the message says which.
    """
    challenge = dict(_CHALLENGE_PARAM.findall(www_authenticate or ""))
    description = challenge.get("error_description", "")
    said = " ".join(filter(None, (code, message, description))).lower()
    reason = next(
        (text for words, text in _REFUSALS if any(w.lower() in said for w in words)),
        "the access token was refused",
    )
    tenants = _TENANT_IN_URL.findall(
        " ".join(filter(None, (challenge.get("authorization_uri"), challenge.get("authorization"))))
    )
    expected = f"; the resource's tenant is {tenants[0]}" if tenants else ""
    detail = " ".join(filter(None, (f"{code}:" if code else None, message, description)))
    return f"{service} refused the access token (HTTP 401): {reason}{expected}. {detail}".strip()
