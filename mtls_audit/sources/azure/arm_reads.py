"""ARM reads through an SDK client's pipeline, and the gaps their failures become.

Bodies are kept exactly as ARM sent them (``response.json()``), never SDK models serialised
again: models drop the fields their version does not know and rename the rest, and the snapshot
must cite what Azure said. Paging is done here, not by the SDK pagers, so that a ``nextLink`` is
checked before it is followed (azure-core would send the bearer token to any host it names).
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Collection
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlencode

from azure.core.exceptions import (
    ClientAuthenticationError,
    HttpResponseError,
    ServiceRequestTimeoutError,
    ServiceResponseTimeoutError,
)
from azure.core.rest import AsyncHttpResponse, HttpRequest

from mtls_audit.sources.azure.auth import explain_refusal
from mtls_audit.sources.azure.http import origin
from mtls_audit.sources.azure.stop import Stop, Stopped

Sender = Callable[[HttpRequest], Awaitable[AsyncHttpResponse]]
Json = dict[str, Any]

_PATH_SAFE = "/;=,:@-._~$()'!*+"
_MAX_MESSAGE = 500
# aiohttp names the TLS context of a failed connection by its address, which changes every run.
_OBJECT_REPR = re.compile(r"<[\w.]+ object at 0x[0-9a-fA-F]+>")
_SERVICE_MARKER = "/providers/microsoft.apimanagement/service/"
_VAULT_MARKER = "/providers/microsoft.keyvault/vaults/"
VAULT_COLLECTIONS = frozenset({"keyvault", "keyvault-certificate", "role-assignments"})
ACCESS_COLLECTIONS = frozenset({"keyvaults", "role-definitions"})
LISTINGS = frozenset({"services", "service"})

PERMISSION_HINTS = {
    "services": "needs Microsoft.ApiManagement/service/read at the subscription or resource "
    "group (Reader, or API Management Service Reader Role)",
    "role-assignments": "needs Microsoft.Authorization/roleAssignments/read at the vault scope "
    "(Reader)",
    "role-definitions": "needs Microsoft.Authorization/roleDefinitions/read (Reader)",
    "keyvault": "needs Microsoft.KeyVault/vaults/read on the vault (Reader)",
    "keyvaults": "needs Microsoft.KeyVault/vaults/read in the subscription (Reader)",
    "keyvault-certificate": "needs the Key Vault Certificate User role (RBAC vault) or a "
    "certificates get/list access policy (access-policy vault)",
}
_APIM_HINT = "needs Microsoft.ApiManagement/service/*/read (API Management Service Reader Role)"


def _kind_for_status(status: int) -> str:
    if status in (401, 403):
        return "forbidden"
    if status == 404:
        return "not-found"
    if status == 429:
        return "throttled"
    if status >= 500:
        return "server-error"
    return "request-failed"


def _short(text: str) -> str:
    line = text.strip().splitlines()[0] if text.strip() else ""
    return _OBJECT_REPR.sub("<context>", line)[:_MAX_MESSAGE]


def _prefix(subject: str, marker: str) -> str | None:
    """``subject`` cut after the resource named right after ``marker`` (None: not below one)."""
    at = subject.lower().find(marker)
    if at < 0:
        return None
    end = subject.find("/", at + len(marker))
    return subject if end < 0 else subject[:end]


def gap_scope(subject: str, what: str) -> dict[str, str]:
    """What a gap makes uncertain (docs/formats.md): one service, one vault, every vault's
    access (a vault listing, role definitions), or a service listing."""
    if what in LISTINGS:
        return {"listing": subject}
    if what in ACCESS_COLLECTIONS:
        return {"vaults": subject}
    if what in VAULT_COLLECTIONS:
        vault = origin(subject) if subject.lower().startswith("https://") else None
        return {"vault": vault or _prefix(subject, _VAULT_MARKER) or subject}
    return {"service": _prefix(subject, _SERVICE_MARKER) or subject}


@dataclass(frozen=True)
class Failure:
    """Why a read gave no (or an incomplete) answer."""

    kind: str
    message: str
    status: int | None = None
    code: str | None = None
    request_id: str | None = None

    @classmethod
    def of_response(cls, response: AsyncHttpResponse) -> Failure:
        code, message = None, response.reason or f"HTTP {response.status_code}"
        try:
            error = response.json().get("error") or {}
            code = error.get("code") or None
            message = error.get("message") or message
        except (ValueError, AttributeError):
            pass
        return cls(
            kind=_kind_for_status(response.status_code),
            message=_short(str(message)),
            status=response.status_code,
            code=code,
            request_id=response.headers.get("x-ms-request-id"),
        )

    @classmethod
    def of_error(cls, error: Exception) -> Failure:
        if isinstance(error, Stopped):
            return cls(kind=error.reason.kind, message=error.reason.message)
        if isinstance(error, HttpResponseError) and error.status_code is not None:
            detail = getattr(error, "error", None)
            headers = getattr(error.response, "headers", None) or {}
            return cls(
                kind=_kind_for_status(error.status_code),
                message=_short(getattr(detail, "message", None) or error.message or str(error)),
                status=error.status_code,
                code=getattr(detail, "code", None),
                request_id=headers.get("x-ms-request-id"),
            )
        if isinstance(error, ServiceRequestTimeoutError | ServiceResponseTimeoutError):
            return cls(kind="timeout", message=_short(f"timed out: {error}"))
        return cls(kind="request-failed", message=_short(str(error)) or type(error).__name__)


class GapLog:
    """The snapshot's ``gaps``: each part that could not be collected, and why."""

    def __init__(self) -> None:
        self.gaps: list[Json] = []

    def add(self, failure: Failure, *, subject: str, what: str) -> None:
        message = failure.message
        if failure.kind == "forbidden":
            message = f"{message} ({PERMISSION_HINTS.get(what, _APIM_HINT)})"
        gap: Json = {
            "kind": failure.kind,
            "subject": subject,
            "what": what,
            "message": message,
            "scope": gap_scope(subject, what),
        }
        for key, value in (
            ("status", failure.status),
            ("code", failure.code),
            ("request_id", failure.request_id),
        ):
            if value is not None:
                gap[key] = value
        self.gaps.append(gap)


@dataclass(frozen=True)
class Api:
    """One SDK client's pipeline and the api-version its provider is read with."""

    send: Sender
    version: str


class ArmReader:
    def __init__(self, arm_endpoint: str, gaps: GapLog, stop: Stop) -> None:
        self.base = arm_endpoint.rstrip("/")
        self._origin = origin(arm_endpoint)
        self.gaps = gaps
        self.stop = stop

    def refused(self, failure: Failure, what: str, www_authenticate: str | None) -> Failure:
        """A 401: the token was refused, so the run stops (no read after it can succeed)."""
        message = explain_refusal(what, failure.code, failure.message, www_authenticate)
        self.stop.trip("authentication", message)
        return Failure(
            kind="authentication",
            message=message,
            status=401,
            code=failure.code,
            request_id=failure.request_id,
        )

    def signed_in_failure(self, error: ClientAuthenticationError, service: str) -> Failure:
        """A token refused (HTTP 401) or none to be had: either way the run stops."""
        if error.status_code != 401:
            return self.credential_failed(error)
        headers = getattr(error.response, "headers", None) or {}
        return self.refused(Failure.of_error(error), service, headers.get("WWW-Authenticate"))

    def credential_failed(self, error: ClientAuthenticationError) -> Failure:
        """No token could be had for a read: the run stops with azure-identity's explanation."""
        message = f"no access token: {str(error.message or error).strip()}"
        self.stop.trip("authentication", message)
        return Failure(kind="authentication", message=_short(message))

    def url(self, api: Api, path: str, params: dict[str, str] | None = None) -> str:
        query = urlencode({"api-version": api.version, **(params or {})})
        return f"{self.base}{quote(path, safe=_PATH_SAFE)}?{query}"

    async def fetch(self, api: Api, url: str) -> Json | Failure:
        try:
            async with self.stop.bounded():
                response = await api.send(HttpRequest("GET", url))
        except ClientAuthenticationError as error:
            return self.signed_in_failure(error, "ARM")
        except Exception as error:  # every failure of a read is a gap, never a crash
            return Failure.of_error(error)
        if response.status_code == 401:
            failure = Failure.of_response(response)
            return self.refused(failure, "ARM", response.headers.get("WWW-Authenticate"))
        if response.status_code != 200:
            return Failure.of_response(response)
        try:
            body = response.json()
        except ValueError:
            return Failure(kind="parse-error", message="the response is not JSON", status=200)
        if not isinstance(body, dict):
            return Failure(kind="parse-error", message="the response is not a JSON object")
        return body

    def _next(self, api: Api, next_link: Any, seen: set[str]) -> str | Failure | None:
        if not next_link:
            return None
        link = str(next_link)
        if link.startswith("/"):
            link = self.base + link
        if origin(link) != self._origin:
            return Failure(
                kind="foreign-next-link",
                message=f"refused a nextLink to {origin(link)}, which is not the ARM endpoint "
                f"{self._origin}; the listing is incomplete",
            )
        if link in seen:
            return Failure(kind="request-failed", message="nextLink loops back; listing stopped")
        if "api-version=" not in link:  # some providers leave it out of their nextLinks
            link += ("&" if "?" in link else "?") + urlencode({"api-version": api.version})
        return link.replace("{", "%7B").replace("}", "%7D")

    async def pages(
        self, api: Api, path: str, params: dict[str, str] | None = None
    ) -> tuple[list[Json], Failure | None]:
        """All items of a listing, following checked nextLinks; the failure that stopped it."""
        items: list[Json] = []
        seen: set[str] = set()
        url: str | Failure | None = self.url(api, path, params)
        while isinstance(url, str):
            seen.add(url)
            body = await self.fetch(api, url)
            if isinstance(body, Failure):
                return items, body
            value = body.get("value")
            if not isinstance(value, list):
                return items, Failure(kind="parse-error", message="a listing without 'value'")
            items.extend(item for item in value if isinstance(item, dict))
            url = self._next(api, body.get("nextLink"), seen)
        return items, url

    async def items(
        self,
        api: Api,
        path: str,
        *,
        what: str,
        subject: str | None = None,
        params: dict[str, str] | None = None,
        tolerate: Collection[int] = (),
    ) -> list[Json]:
        """A listing; a failure (unless its status is tolerated) becomes a gap."""
        found, failure = await self.pages(api, path, params)
        if failure is not None and failure.status not in tolerate:
            self.gaps.add(failure, subject=subject or path, what=what)
        return found

    async def resource(
        self,
        api: Api,
        path: str,
        *,
        what: str,
        subject: str | None = None,
        params: dict[str, str] | None = None,
        tolerate: Collection[int] = (),
    ) -> Json | None:
        """One resource; a failure (unless its status is tolerated) becomes a gap."""
        body = await self.fetch(api, self.url(api, path, params))
        if isinstance(body, Failure):
            if body.status not in tolerate:
                self.gaps.add(body, subject=subject or path, what=what)
            return None
        return body
