"""What the probe calls: every gateway hostname of a snapshot × one safe operation per API, or
the URLs the user names.

A safe operation is a GET, HEAD or OPTIONS whose URL template has no parameter: the probe sends
no body and changes nothing. ``--probe-path`` replaces the choice with one path per hostname; a
state-changing method is used only when the user names it with explicit URLs.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

from mtls_audit.errors import InputError
from mtls_audit.model import Model, ServiceModel, is_unresolved
from mtls_audit.model.entities import Api, Operation

SAFE_METHODS = ("GET", "HEAD", "OPTIONS")


@dataclass(frozen=True)
class Target:
    service_id: str
    host: str
    port: int
    path: str
    method: str
    default_hostname: bool
    api_id: str | None = None
    operation_id: str | None = None
    subscription_required: bool = False

    @property
    def url(self) -> str:
        port = "" if self.port == 443 else f":{self.port}"
        return f"https://{self.host}{port}{self.path}"


@dataclass(frozen=True)
class Route:
    path: str
    method: str
    api_id: str | None = None
    operation_id: str | None = None
    subscription_required: bool = False


def from_snapshot(
    model: Model, path: str | None = None
) -> tuple[list[Target], list[dict[str, str]]]:
    """The targets of every service, and the APIs skipped with the reason."""
    targets: list[Target] = []
    skipped: list[dict[str, str]] = []
    for svc in model.services:
        routes = [Route(path, "GET")] if path else list(_routes(svc, skipped))
        for host, default in _hosts(svc):
            targets += [
                Target(
                    svc.id,
                    host,
                    443,
                    r.path,
                    r.method,
                    default,
                    r.api_id,
                    r.operation_id,
                    r.subscription_required,
                )
                for r in routes
            ]
    return targets, skipped


def _hosts(svc: ServiceModel) -> Iterator[tuple[str, bool]]:
    """The custom gateway hostnames, then the default ``*.azure-api.net`` one."""
    default: str | None = None
    for hostname in svc.service.hostnames:
        name = hostname.host_name
        if not hostname.is_proxy or not name or is_unresolved(name):
            continue
        if hostname.is_builtin:
            default = default or name
        else:
            yield name.lower(), False
    gateway_url = svc.service.props.text("gatewayUrl")
    if default is None and gateway_url:
        default = urlsplit(gateway_url).hostname
    if default:
        yield default.lower(), True


def _routes(svc: ServiceModel, skipped: list[dict[str, str]]) -> Iterator[Route]:
    for api in svc.apis:
        if not api.is_current:
            continue
        operation = _safe_operation(svc.operations_of(api))
        if operation is None:
            skipped.append(
                {
                    "service_id": svc.id,
                    "api_id": api.id,
                    "reason": f"API {api.name} has no GET, HEAD or OPTIONS operation without "
                    "path parameters (give --probe-path)",
                }
            )
            continue
        yield Route(
            _join(api, operation),
            operation.method.upper(),
            api.id,
            operation.id,
            api.subscription_required,
        )


def _safe_operation(operations: Sequence[Operation]) -> Operation | None:
    safe = [o for o in operations if o.method.upper() in SAFE_METHODS and "{" not in o.url_template]
    return min(safe, key=lambda o: (SAFE_METHODS.index(o.method.upper()), o.name), default=None)


def _join(api: Api, operation: Operation) -> str:
    base = (api.props.text("path") or "").strip("/")
    template = operation.url_template.lstrip("/")
    return "/" + "/".join(p for p in (base, template) if p)


def from_urls(model: Model, urls: Sequence[str], method: str) -> list[Target]:
    """Targets from explicit URLs, tied to the service that serves their hostname if any."""
    owners = {
        h.host_name.lower(): svc.id
        for svc in model.services
        for h in svc.service.hostnames
        if h.is_proxy and h.host_name
    }
    targets = []
    for url in urls:
        parts = urlsplit(url)
        if parts.scheme != "https" or not parts.hostname:
            raise InputError(f"not an https:// URL: {url!r}", source="--probe-url")
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        host = parts.hostname.lower()
        targets.append(
            Target(
                owners.get(host, ""),
                host,
                parts.port or 443,
                path,
                method.upper(),
                host.endswith(".azure-api.net"),
            )
        )
    return targets
