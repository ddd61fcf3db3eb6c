"""A local HTTPS fake of ARM and the Key Vault data plane, driven by the real SDK clients.

It serves any list of ARM resources (``instance.Instance``): a GET of a resource id answers the
resource, a GET of ``<resource id>/<collection>`` lists its children (paged with ``nextLink``),
plus the few listings ARM computes (services and vaults by subscription, role assignments by
scope, ``allPolicies``). Faults are injected by path pattern. It answers Resource Graph queries
(``graph.py``) over what it serves, paged with ``$skipToken``. Key Vault answers an unauthenticated
request with its authentication challenge, as the SDK expects. It is also a Microsoft Entra
authority: a POST to ``/<tenant>/oauth2/v2.0/token`` hands out the fake token.
"""

from __future__ import annotations

import json
import re
import ssl
import threading
import time
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from socket import IPPROTO_TCP, TCP_NODELAY, socket
from typing import Any
from urllib.parse import parse_qsl, unquote, urlencode, urlsplit

from .graph import GRAPH_PATH, FakeGraph
from .instance import TENANT, Instance
from .tls_material import TlsFiles

Json = dict[str, Any]
_ROLE_ASSIGNMENTS = "/providers/microsoft.authorization/roleassignments"
_SERVICES = re.compile(
    r"/subscriptions/([^/]+)(?:/resourcegroups/([^/]+))?/providers/microsoft\.apimanagement/service"
)
_VAULTS = re.compile(r"/subscriptions/([^/]+)/providers/microsoft\.keyvault/vaults")
TOKEN_PATH = re.compile(r"/[^/]+/oauth2/v2\.0/token")
_CHALLENGE = (
    f'Bearer authorization="https://login.microsoftonline.com/{TENANT}", '
    'resource="https://vault.azure.net"'
)


@dataclass
class Fault:
    """Answer requests whose path matches ``pattern`` (regex, case-insensitive) differently."""

    pattern: str
    status: int | None = None  # None: answer normally, after the delay
    times: int | None = None  # None: every time
    delay_s: float = 0.0
    headers: dict[str, str] = field(default_factory=dict)
    code: str = "Injected"
    message: str = "injected"
    after_auth: bool = False  # only requests that carry the token (Key Vault challenges first)
    hits: int = 0


@dataclass(frozen=True)
class Seen:
    method: str
    path: str
    query: dict[str, str]
    authorized: bool


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def do_GET(self) -> None:
        self.server.fake.handle(self)

    do_POST = do_PUT = do_PATCH = do_DELETE = do_GET

    def log_message(self, format: str, *args: Any) -> None:
        return None


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False

    def __init__(self, fake: FakeAzure, tls: ssl.SSLContext) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.fake = fake
        self.tls = tls

    def finish_request(self, request: Any, client_address: Any) -> None:
        sock: socket = request
        sock.settimeout(10)
        sock.setsockopt(IPPROTO_TCP, TCP_NODELAY, 1)  # headers and body go out as separate writes
        with self.fake._lock:
            self.fake.connections += 1
        try:
            wrapped = self.tls.wrap_socket(sock, server_side=True)
        except (OSError, ssl.SSLError):
            return
        try:
            super().finish_request(wrapped, client_address)
        finally:
            wrapped.close()

    def handleerror(self, request: Any, client_address: Any) -> None:
        return None  # clients that gave up (timeouts) are expected


class FakeAzure:
    """ARM and Key Vault on https://127.0.0.1:<port>; a context manager."""

    def __init__(self, tls: TlsFiles, token: str, *, page_size: int = 100) -> None:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(tls.cert, tls.key)
        self._server = _Server(self, context)
        self.token = token
        self.page_size = page_size
        self.latency_s = 0.0
        self.all_policies = True
        self.throttle = False  # emulate ARM's read bucket (250, +25/s) per subscription
        self.faults: list[Fault] = []
        self.foreign_next_links: dict[str, str] = {}  # path pattern → base URL of nextLinks
        self.next_link_api_version = True  # some providers leave api-version out of nextLinks
        self.requests: list[Seen] = []
        self.connections = 0  # TCP connections accepted (each with its TLS handshake)
        self.forbidden_subscriptions: set[str] = set()  # the identity may read nothing there
        self.graph = FakeGraph(self)
        self.throttled: set[str] = set()  # subscriptions whose read bucket is emulated always
        self.read_burst = 250.0  # ARM's read bucket per subscription (when ``throttle``)
        self.read_refill_per_s = 25.0
        self._lock = threading.Lock()
        self._by_id: dict[str, Json] = {}
        self._children: dict[str, list[Json]] = {}
        self._certificates: dict[str, Json] = {}
        self.secrets: dict[str, Json] = {}  # Key Vault secrets by name (a certificate's key)
        self._buckets: dict[str, tuple[float, float]] = {}
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self._server.server_address[1]}"

    def serve(self, *instances: Instance) -> None:
        resources = [r for instance in instances for r in instance.resources]
        self._by_id = {str(r["id"]).lower(): r for r in resources}
        self._children = {}
        for resource in resources:
            parent = str(resource["id"]).lower().rsplit("/", 1)[0]
            self._children.setdefault(parent, []).append(resource)
        self._certificates = {k: v for i in instances for k, v in i.certificates.items()}

    def resources(self) -> list[Json]:
        """Every resource served."""
        return list(self._by_id.values())

    def readable(self, subscription: str) -> bool:
        return subscription.lower() not in {s.lower() for s in self.forbidden_subscriptions}

    def __enter__(self) -> FakeAzure:
        self._thread.start()
        return self

    def __exit__(self, *args: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def reset_read_budget(self) -> None:
        with self._lock:
            self._buckets.clear()

    def seen(self, pattern: str) -> list[Seen]:
        return [s for s in self.requests if re.search(pattern, s.path, re.IGNORECASE)]

    def handle(self, handler: _Handler) -> None:
        parts = urlsplit(handler.path)
        path, query = unquote(parts.path), dict(parse_qsl(parts.query))
        authorized = handler.headers.get("Authorization") == f"Bearer {self.token}"
        # Read the body whatever the answer, or the next request on the connection is misread.
        body_in = handler.rfile.read(int(handler.headers.get("Content-Length") or 0))
        with self._lock:
            self.requests.append(Seen(handler.command, path, query, authorized))
            fault = self._fault(path, authorized)
        time.sleep(self.latency_s + (fault.delay_s if fault else 0.0))
        headers: dict[str, str] = {}
        if fault is not None and fault.status is not None:
            status, body, headers = fault.status, error(fault.code, fault.message), fault.headers
        elif handler.command == "POST" and TOKEN_PATH.fullmatch(path):
            status, body = 200, {"access_token": self.token, "token_type": "Bearer"}
            body |= {"expires_in": 3600, "ext_expires_in": 3600}
        elif handler.command == "POST" and path.lower() == GRAPH_PATH and authorized:
            status, body = self.graph.answer(json.loads(body_in or b"{}"))
        elif handler.command != "GET":
            status, body = 405, error("MethodNotAllowed", "read-only fake")
        elif path.lower().startswith(("/certificates/", "/secrets/")):
            status, body, headers = self._keyvault(path, authorized)
        elif not authorized:
            status, body = 401, error("InvalidAuthenticationToken", "bad token")
        else:
            status, body, headers = self._throttled(path) or (*self._arm(path, query), {})
        self._send(handler, status, body, headers)

    def _fault(self, path: str, authorized: bool) -> Fault | None:
        for fault in self.faults:
            if (
                re.search(fault.pattern, path, re.IGNORECASE)
                and (fault.times is None or fault.hits < fault.times)
                and (authorized or not fault.after_auth)
            ):
                fault.hits += 1
                return fault
        return None

    def _throttled(self, path: str) -> tuple[int, Json, dict[str, str]] | None:
        key = path.lower().split("/")[2] if path.lower().startswith("/subscriptions/") else ""
        if not self.throttle and key not in self.throttled:
            return None
        with self._lock:
            tokens, stamp = self._buckets.get(key, (self.read_burst, time.monotonic()))
            now = time.monotonic()
            tokens = min(self.read_burst, tokens + (now - stamp) * self.read_refill_per_s)
            allowed = tokens >= 1.0
            self._buckets[key] = (tokens - 1.0 if allowed else tokens, now)
        remaining = {"x-ms-ratelimit-remaining-subscription-reads": str(int(max(tokens - 1, 0)))}
        if allowed:
            return None
        return 429, error("TooManyRequests", "throttled"), {"Retry-After": "1", **remaining}

    def _keyvault(self, path: str, authorized: bool) -> tuple[int, Json, dict[str, str]]:
        if not authorized:
            return 401, error("Unauthorized", "no token"), {"WWW-Authenticate": _CHALLENGE}
        collection, name = path.strip("/").split("/")[:2]
        bundle = (self._certificates if collection == "certificates" else self.secrets).get(name)
        if bundle is None:
            return 404, error("CertificateNotFound", f"{name} not found"), {}
        return 200, bundle, {}

    def _arm(self, path: str, query: dict[str, str]) -> tuple[int, Json]:
        if "api-version" not in query:
            return 400, error("MissingApiVersionParameter", "api-version is required")
        segments = path.lower().split("/")
        if len(segments) > 2 and segments[1] == "subscriptions" and not self.readable(segments[2]):
            return 403, error("AuthorizationFailed", f"no read access to {segments[2]}")
        lower = path.lower().rstrip("/")
        if lower.endswith("/allpolicies"):
            if not self.all_policies:
                return 404, error("ResourceNotFound", "allPolicies is not available")
            return 200, self._page(path, query, self._policy_index(lower[: -len("/allpolicies")]))
        services = _SERVICES.fullmatch(lower)
        if services:
            prefix = f"/subscriptions/{services[1]}/" + (
                f"resourcegroups/{services[2]}/" if services[2] else ""
            )
            if not any(key.startswith(prefix) for key in self._by_id):
                return 404, error("ResourceGroupNotFound", f"{services[2]} not found")
            found = self._of_type("microsoft.apimanagement/service", prefix)
            return 200, self._page(path, query, found)
        vaults = _VAULTS.fullmatch(lower)
        if vaults:
            found = self._of_type("microsoft.keyvault/vaults", f"/subscriptions/{vaults[1]}/")
            return 200, self._page(path, query, found)
        if lower.endswith(_ROLE_ASSIGNMENTS):
            scope = lower[: -len(_ROLE_ASSIGNMENTS)]
            found = self._assignments(scope, query.get("$filter") == "atScope()")
            return 200, self._page(path, query, found)
        if lower in self._by_id:
            return 200, self._by_id[lower]
        if lower.rsplit("/", 1)[0] in self._by_id:
            return 200, self._page(path, query, self._children.get(lower, []))
        return 404, error("ResourceNotFound", f"{path} not found")

    def _of_type(self, resource_type: str, prefix: str) -> list[Json]:
        return [
            r
            for key, r in self._by_id.items()
            if key.startswith(prefix) and str(r["type"]).lower() == resource_type
        ]

    def _policy_index(self, service_id: str) -> list[Json]:
        policies = [
            r
            for key, r in self._by_id.items()
            if key.startswith(service_id + "/") and str(r["type"]).lower().endswith("/policies")
        ]
        return [
            {
                "id": f"{service_id}/allpolicies/policy{n}",
                "type": "Microsoft.ApiManagement/service/allpolicies",
                "name": f"policy{n}",
                "properties": {"referencePolicyId": p["id"], "complianceState": "Compliant"},
            }
            for n, p in enumerate(policies)
        ]

    def _assignments(self, scope: str, at_scope_only: bool) -> list[Json]:
        def applies(assigned: str) -> bool:
            above = scope == assigned or scope.startswith(assigned.rstrip("/") + "/")
            return above or (not at_scope_only and assigned.startswith(scope + "/"))

        return [
            r
            for r in self._by_id.values()
            if str(r["type"]).lower() == "microsoft.authorization/roleassignments"
            and applies(str(r["properties"]["scope"]).lower())
        ]

    def _page(self, path: str, query: dict[str, str], items: list[Json]) -> Json:
        skip = int(query.get("$skiptoken", "0"))
        end = skip + self.page_size
        next_link = ""
        if end < len(items):
            base = next(
                (b for p, b in self.foreign_next_links.items() if re.search(p, path, re.I)),
                self.url,
            )
            next_query = {**query, "$skiptoken": str(end)}
            if not self.next_link_api_version:
                next_query.pop("api-version", None)
            next_link = f"{base}{path}?{urlencode(next_query)}"
        return {"value": items[skip:end], "count": len(items), "nextLink": next_link}

    def _send(self, handler: _Handler, status: int, body: Json, headers: dict[str, str]) -> None:
        payload = json.dumps(body).encode()
        try:
            handler.send_response(status)
            handler.send_header("Content-Type", "application/json; charset=utf-8")
            handler.send_header("Content-Length", str(len(payload)))
            handler.send_header("x-ms-request-id", str(uuid.uuid4()))
            for name, value in headers.items():
                handler.send_header(name, value)
            handler.end_headers()
            handler.wfile.write(payload)
        except OSError:
            handler.close_connection = True  # the client gave up (a timeout test)


def unused_url() -> str:
    """An https URL on a local port nothing listens on."""
    with socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"https://127.0.0.1:{port}"


def error(code: str, message: str) -> Json:
    return {"error": {"code": code, "message": message}}
