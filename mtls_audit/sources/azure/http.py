"""HTTP plumbing under the SDK clients of the live collector.

Every request the ARM and Key Vault clients make goes through one :class:`GuardedTransport`
wrapping azure-core's aiohttp transport. Being the last hop before the socket, it is the one place
that sees every attempt (retries and Key Vault's unauthenticated challenge request included), so it:

- refuses anything but GET (the audit is read-only, even when an SDK policy would write, e.g. the
  ARM resource-provider auto-registration POST), except the one POST that only reads (a Resource
  Graph query, ``QUERY_PATHS``), and any host not explicitly allowed (a bearer token is attached
  by then; refusing here means it never leaves the process);
- keeps each subscription inside ARM's read budget (ARM's bucket: 250 reads, refilled 25/s) with
  a bounded number of requests in flight per subscription or vault. The local bucket is a little
  smaller and slower than ARM's, since requests in flight are spent here before ARM counts them,
  is lowered to what ``x-ms-ratelimit-remaining-subscription-reads`` says is left, and is
  emptied by a 429;
- records each attempt for the snapshot's provenance.

:class:`CappedRetryPolicy` caps ``Retry-After`` and the back-off, which azure-core leaves unbounded.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import ssl
import threading
import time
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

from azure.core.pipeline import PipelineResponse
from azure.core.pipeline.policies import AsyncRetryPolicy
from azure.core.pipeline.transport import AioHttpTransport, AsyncHttpTransport
from azure.core.rest import AsyncHttpResponse, HttpRequest

from mtls_audit.redaction import REDACTED, secret_name

LOGGER = logging.getLogger("mtls_audit.sources.azure.source")

READ_BURST = 250
READ_REFILL_PER_S = 24.0  # ARM refills 25/s: the margin absorbs the skew between its clock and ours
_REMAINING_READS = (
    "x-ms-ratelimit-remaining-subscription-reads",
    "x-ms-ratelimit-remaining-subscription-global-reads",
    "x-ms-ratelimit-remaining-tenant-reads",
)
_DEFAULT_PORTS = {"https": 443, "http": 80}
# POSTs that read: a Resource Graph query (its body is the query; it changes nothing).
QUERY_PATHS = frozenset({"/providers/microsoft.resourcegraph/resources"})


class RefusedRequestError(Exception):
    """A request the collector will not send: not a GET, or to a host it was not told to trust."""


def origin(url: str) -> str:
    """``scheme://host[:port]`` in lower case, the default port left out."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    if ":" in host:
        host = f"[{host}]"
    port = parts.port
    if port is None or port == _DEFAULT_PORTS.get(scheme):
        return f"{scheme}://{host}"
    return f"{scheme}://{host}:{port}"


def ssl_context(verify: str | bool | None) -> ssl.SSLContext:
    """One TLS context for the whole run (azure-core would build one per request from a path).

    ``None`` honours ``REQUESTS_CA_BUNDLE`` then ``SSL_CERT_FILE``, like the sync SDK transport.
    """
    if verify is None:
        verify = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("SSL_CERT_FILE") or True
    if verify is False:
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        return context
    if verify is True:
        return ssl.create_default_context()
    if os.path.isdir(verify):
        return ssl.create_default_context(capath=verify)
    return ssl.create_default_context(cafile=verify)


class CappedRetryPolicy(AsyncRetryPolicy[HttpRequest, AsyncHttpResponse]):
    """azure-core's retry policy with every wait (``Retry-After`` or back-off) capped."""

    def __init__(self, *, max_retries: int, max_wait_s: float) -> None:
        super().__init__(
            retry_total=max_retries,
            retry_connect=max_retries,
            retry_read=max_retries,
            retry_status=max_retries,
            retry_backoff_max=max_wait_s,
        )
        self._max_wait_s = max_wait_s

    def get_retry_after(self, response: PipelineResponse[Any, Any]) -> float | None:
        wait: float | None = super().get_retry_after(response)
        return None if wait is None else min(wait, self._max_wait_s)


def loggable_url(url: str, arm_origin: str) -> str:
    """The URL as provenance keeps it: path and query (host too when not ARM), secrets masked."""
    parts = urlsplit(url)
    query = urlencode(
        [
            (name, REDACTED if secret_name(name) else value)
            for name, value in parse_qsl(parts.query, keep_blank_values=True)
        ],
        safe="$()',/:;=@[]",
    )
    path = parts.path + (f"?{query}" if query else "")
    this_origin = origin(url)
    return path if this_origin == arm_origin else this_origin + path


@dataclass
class RequestLedger:
    """Every HTTP attempt, in the order the answers came back."""

    arm_origin: str
    verbose: bool = False
    on_record: Callable[[int], None] | None = None
    entries: list[dict[str, Any]] = field(default_factory=list)

    def record(
        self, method: str, url: str, status: int | None, started: float, request_id: str | None
    ) -> None:
        duration_ms = round((time.perf_counter() - started) * 1000)
        entry = {
            "method": method,
            "url": loggable_url(url, self.arm_origin),
            "status": status,
            "duration_ms": duration_ms,
            "request_id": request_id,
        }
        self.entries.append(entry)
        LOGGER.log(
            logging.INFO if self.verbose else logging.DEBUG,
            "%s %s %s %d ms",
            method,
            entry["url"],
            status if status is not None else "no answer",
            duration_ms,
        )
        if self.on_record is not None:
            self.on_record(len(self.entries))


class _TokenBucket:
    """ARM's read bucket as this process sees it. Shared by collections on several threads (an
    estate scan), so it is guarded by a lock and a read that must wait reserves its token at
    once (the bucket goes into debt) and sleeps outside the lock: readers are served in turn."""

    def __init__(self, burst: int, refill_per_s: float) -> None:
        self._burst = float(burst)
        self._rate = refill_per_s
        self._tokens = float(burst)
        self._stamp = time.monotonic()
        self._lock = threading.Lock()

    def _refill(self) -> None:
        now = time.monotonic()
        self._tokens = min(self._burst, self._tokens + (now - self._stamp) * self._rate)
        self._stamp = now

    async def take(self) -> None:
        with self._lock:
            self._refill()
            self._tokens -= 1.0
            wait = -self._tokens / self._rate if self._tokens < 0 else 0.0
        if wait > 0:
            await asyncio.sleep(wait)

    def lower_to(self, remaining: float) -> None:
        with self._lock:
            self._refill()
            self._tokens = min(self._tokens, remaining)


class ReadBuckets:
    """ARM read buckets by origin and subscription, shared by every collection of one process
    that is given it (``SharedRuntime.reads``): several instances collected at once, or
    one after the other, in one subscription spend one budget, as ARM counts them."""

    def __init__(self, burst: int = READ_BURST, refill_per_s: float = READ_REFILL_PER_S) -> None:
        self.burst = burst
        self.refill_per_s = refill_per_s
        self._buckets: dict[str, _TokenBucket] = {}
        self._lock = threading.Lock()

    def get(self, key: str, reserve: int) -> _TokenBucket:
        """The bucket of ``key``, made with ``reserve`` reads fewer than ARM's burst."""
        with self._lock:
            bucket = self._buckets.get(key)
            if bucket is None:
                bucket = _TokenBucket(self.burst - reserve, self.refill_per_s)
                self._buckets[key] = bucket
            return bucket


class Budget:
    """Requests in flight and ARM reads, per subscription (ARM) or per host (Key Vault)."""

    def __init__(
        self,
        concurrency: int,
        arm_origin: str,
        *,
        burst: int = READ_BURST,
        refill_per_s: float = READ_REFILL_PER_S,
        shared: ReadBuckets | None = None,
    ) -> None:
        self._concurrency = concurrency
        self._arm_origin = arm_origin
        self._reads = shared or ReadBuckets(burst, refill_per_s)
        self._slots: dict[str, asyncio.Semaphore] = {}

    def _key(self, url: str) -> tuple[str, bool]:
        url_origin = origin(url)
        if url_origin != self._arm_origin:
            return url_origin, False
        segments = urlsplit(url).path.split("/")
        if len(segments) > 2 and segments[1].lower() == "subscriptions":
            return f"subscription:{segments[2].lower()}", True
        return "tenant", True

    @contextlib.asynccontextmanager
    async def slot(self, url: str) -> AsyncIterator[None]:
        key, is_arm = self._key(url)
        semaphore = self._slots.setdefault(key, asyncio.Semaphore(self._concurrency))
        async with semaphore:
            if is_arm:
                await self._reads.get(f"{self._arm_origin} {key}", self._concurrency).take()
            yield

    def observe(self, url: str, status: int, headers: Mapping[str, str]) -> None:
        key, is_arm = self._key(url)
        if not is_arm:
            return
        bucket = self._reads.get(f"{self._arm_origin} {key}", self._concurrency)
        if status == 429:
            bucket.lower_to(0.0)
            return
        for name in _REMAINING_READS:
            value = headers.get(name)
            if value is not None and value.strip().isdigit():
                bucket.lower_to(float(value))


def _is_query(request: HttpRequest) -> bool:
    return (
        request.method.upper() == "POST"
        and urlsplit(request.url).path.rstrip("/").lower() in QUERY_PATHS
    )


class HttpSession:
    """One aiohttp session for the collections that share it (one, or an estate's): one
    connection pool and TLS context, so that connections stay open from one collection to the
    next, and each origin's proxy looked up once. azure-core's own session trusts the
    environment, for which aiohttp reads the proxy variables and ``~/.netrc`` on a worker thread
    for every request; the same lookup (``HTTPS_PROXY``, ``NO_PROXY``, the proxy's credentials
    in ``~/.netrc``) is done here once per origin. Made and closed on the loop that uses it."""

    def __init__(self, tls: ssl.SSLContext) -> None:
        import aiohttp

        self.tls = tls
        self.session = aiohttp.ClientSession(
            trust_env=False,
            cookie_jar=aiohttp.DummyCookieJar(),
            auto_decompress=False,  # as azure-core's: its responses decompress themselves
            # In flight is bounded by each collection's Budget, not by the pool.
            connector=aiohttp.TCPConnector(limit=0, ssl=tls),
        )
        self._proxies: dict[str, dict[str, Any]] = {}

    def proxy(self, url: str) -> dict[str, Any]:
        """The ``proxy`` (and ``proxy_auth``) options of a request to ``url``'s origin."""
        key = origin(url)
        found = self._proxies.get(key)
        if found is None:
            from aiohttp.helpers import get_env_proxy_for_url
            from yarl import URL

            try:
                proxy, auth = get_env_proxy_for_url(URL(key))
                found = {"proxy": proxy, "proxy_auth": auth}
            except LookupError:  # no proxy for this origin
                found = {}
            self._proxies[key] = found
        return found

    async def close(self) -> None:
        await self.session.close()


class GuardedTransport(AsyncHttpTransport[HttpRequest, AsyncHttpResponse]):
    """Shared by every client of a collection, over an :class:`HttpSession` its owner closes."""

    def __init__(
        self,
        *,
        allowed_origins: set[str],
        ledger: RequestLedger,
        budget: Budget,
        http: HttpSession,
        timeout_s: float,
    ) -> None:
        self._inner = AioHttpTransport(session=http.session, session_owner=False)
        self._allowed = allowed_origins
        self._ledger = ledger
        self._budget = budget
        self._http = http
        self._timeout_s = timeout_s

    def allow(self, url: str) -> None:
        self._allowed.add(origin(url))

    async def send(self, request: HttpRequest, **kwargs: Any) -> AsyncHttpResponse:
        if request.method.upper() != "GET" and not _is_query(request):
            raise RefusedRequestError(
                f"refused {request.method} {request.url}: the audit is read-only"
            )
        if origin(request.url) not in self._allowed:
            raise RefusedRequestError(
                f"refused a request to {origin(request.url)}: not a trusted host"
            )
        kwargs.pop("connection_verify", None)
        kwargs["ssl"] = self._http.tls
        kwargs.update(self._http.proxy(request.url))
        kwargs.setdefault("connection_timeout", self._timeout_s)
        kwargs.setdefault("read_timeout", self._timeout_s)
        async with self._budget.slot(request.url):
            started = time.perf_counter()
            try:
                response: AsyncHttpResponse = await self._inner.send(request, **kwargs)
            except (Exception, asyncio.CancelledError):  # cut short by the deadline or a signal
                self._ledger.record(request.method, request.url, None, started, None)
                raise
        self._ledger.record(
            request.method,
            request.url,
            response.status_code,
            started,
            response.headers.get("x-ms-request-id"),
        )
        self._budget.observe(request.url, response.status_code, response.headers)
        return response

    async def open(self) -> None:
        await self._inner.open()

    async def close(self) -> None:
        """Clients close their pipelines; the session outlives them (its owner closes it)."""

    async def __aenter__(self) -> GuardedTransport:
        await self.open()
        return self

    async def __aexit__(self, *args: object) -> None:
        return None

    async def sleep(self, duration: float) -> None:
        await asyncio.sleep(duration)
