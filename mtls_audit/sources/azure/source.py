"""Live collection from Azure: the public entry of the ``azure`` source.

``collect_azure`` reads the API Management services in scope, everything under them, the Key
Vaults they reference and who may read those vaults, and returns the parts of a snapshot
(``resources``, ``keyvault``, ``gaps``, ``provenance``; see docs/formats.md). Every read that
fails becomes a gap; collection itself fails (``CollectionError``) only when it cannot start or
a token is refused. The whole collection runs within a deadline, and SIGINT or SIGTERM end it
early: what was collected is returned, the rest is named in gaps, and the provenance says why it
stopped (``stopped``).

Importing this module is cheap: the Azure SDKs and the helper modules built on them
(``azure_*.py`` beside this file) are imported when a collection runs.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import re
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from mtls_audit.dependencies import require_modules
from mtls_audit.errors import CollectionError
from mtls_audit.sources.azure.auth import CLOUDS
from mtls_audit.sources.azure.bounds import DEFAULT_DEADLINE_S, DEFAULT_RETRIES, DEFAULT_TIMEOUT_S
from mtls_audit.vocabulary import AUTH_MODES

if TYPE_CHECKING:
    from mtls_audit.sources.azure.runtime import SharedRuntime

__all__ = [
    "AzureOptions",
    "AzureSource",
    "collect_azure",
    "shared_runtime",
]

# What a collection imports (module: the pip distribution that installs it), checked up front so
# that a partial installation is named before any request rather than failing half-way.
SDK_MODULES = {
    "aiohttp": "aiohttp",
    "azure.identity": "azure-identity",
    "azure.keyvault.certificates": "azure-keyvault-certificates",
    "azure.mgmt.apimanagement": "azure-mgmt-apimanagement",
    "azure.mgmt.authorization": "azure-mgmt-authorization",
}

_SUBSCRIPTION = re.compile(r"^[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$")
_RESOURCE_GROUP = re.compile(r"^[-\w.()]{1,90}$")
_SERVICE = re.compile(r"^[a-zA-Z][a-zA-Z0-9-]{0,49}$")
_SUFFIX = re.compile(r"^\.?[a-z0-9-]+(\.[a-z0-9-]+)+$", re.IGNORECASE)


@dataclass(frozen=True)
class AzureOptions:
    subscriptions: tuple[str, ...]
    resource_groups: tuple[str, ...] = ()
    services: tuple[str, ...] = ()  # APIM service names; empty = every APIM service in scope
    auth: str = "default"  # default|cli|managed-identity|workload-identity|environment
    cloud: str = "AzureCloud"
    arm_endpoint: str | None = None  # overrides the cloud's ARM base URL (private clouds, tests)
    authority_host: str | None = None  # None: AZURE_AUTHORITY_HOST, else the cloud's
    keyvault_suffix: str | None = None  # Key Vault domain of a custom cloud (".vault.example")
    concurrency: int = 8
    timeout_s: float = DEFAULT_TIMEOUT_S  # one attempt of one request (token requests too)
    max_retries: int = DEFAULT_RETRIES
    deadline_s: float = DEFAULT_DEADLINE_S  # the whole collection; what is left becomes gaps
    max_retry_after_s: float = 30.0
    connection_verify: str | bool | None = (
        None  # CA bundle; None = REQUESTS_CA_BUNDLE/SSL_CERT_FILE
    )
    verbose: bool = False  # log each call (method, path, status, ms) through `logging`
    progress: bool = False  # rich progress on a TTY
    # The loop, HTTP session and ARM read budgets shared with the other collections of this
    # process (an estate scan, ``shared_runtime``); None: this collection's own.
    runtime: SharedRuntime | None = None


def _problems(options: AzureOptions) -> Iterator[str]:
    if not options.subscriptions:
        yield "give at least one subscription"
    for sub in options.subscriptions:
        if not _SUBSCRIPTION.match(sub):
            yield f"subscription {sub!r} is not a subscription id (a GUID)"
    for group in options.resource_groups:
        if not _RESOURCE_GROUP.match(group) or group.endswith("."):
            yield f"resource group {group!r} is not a valid resource group name"
    for name in options.services:
        if not _SERVICE.match(name):
            yield f"service {name!r} is not a valid API Management service name"
    if options.auth not in AUTH_MODES:
        yield f"auth {options.auth!r} is not one of {', '.join(AUTH_MODES)}"
    if options.cloud not in CLOUDS:
        yield f"cloud {options.cloud!r} is not one of {', '.join(CLOUDS)}"
    for label, url in (("ARM endpoint", options.arm_endpoint), ("authority", _authority(options))):
        if url is None:
            continue
        parts = urlsplit(url if "://" in url else f"https://{url}")
        if parts.scheme != "https" or not parts.hostname or parts.path.strip("/") or parts.query:
            yield f"{label} {url!r} must be https://host[:port]"
    suffix = options.keyvault_suffix
    if suffix is not None and not _SUFFIX.match(suffix):
        yield f"Key Vault domain {suffix!r} must be a DNS suffix such as .vault.example.net"
    if options.concurrency < 1:
        yield "concurrency must be at least 1"
    if options.timeout_s <= 0 or options.deadline_s <= 0:
        yield "the timeout and the deadline must be positive"
    if options.max_retries < 0 or options.max_retry_after_s < 0:
        yield "retries and the Retry-After cap cannot be negative"
    verify = options.connection_verify
    if isinstance(verify, str) and not os.path.exists(verify):
        yield f"CA bundle {verify!r} does not exist"


def _authority(options: AzureOptions) -> str | None:
    return options.authority_host or os.environ.get("AZURE_AUTHORITY_HOST") or None


@contextlib.contextmanager
def _quiet_sdk_logs() -> Iterator[None]:
    """The Azure SDKs log each failed sign-in and retry as a warning, which Python prints on
    stderr when nothing handles it: the collector reports those failures itself, once."""
    handler = logging.NullHandler()
    sdk = logging.getLogger("azure")
    sdk.addHandler(handler)
    try:
        yield
    finally:
        sdk.removeHandler(handler)


@contextlib.contextmanager
def _progress(enabled: bool) -> Iterator[Callable[[int], None] | None]:
    if not enabled or not sys.stderr.isatty():
        yield None
        return
    from rich.console import Console
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    columns = (SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn())
    with Progress(*columns, console=Console(stderr=True), transient=True) as progress:
        task = progress.add_task("collecting from Azure", total=None)
        yield lambda count: progress.update(
            task, description=f"collecting from Azure: {count} requests"
        )


def collect_azure(options: AzureOptions, *, credential: object | None = None) -> dict[str, Any]:
    """Collect the snapshot parts from Azure.

    ``credential``: any object with ``get_token`` (sync or async); by default one is made for
    ``options.auth``. Raises :class:`CollectionError` when collection cannot start.
    """
    problems = list(_problems(options))
    if problems:
        raise CollectionError("; ".join(problems))
    require_modules("live collection from Azure", SDK_MODULES)
    from mtls_audit.sources.azure.collect import collect

    with _quiet_sdk_logs(), _progress(options.progress) as on_request:
        shared = options.runtime
        if shared is None:
            return asyncio.run(collect(options, credential, on_request))
        return shared.run(collect(options, credential, on_request, shared.http))


def shared_runtime(options: AzureOptions) -> SharedRuntime:
    """What the collections of this process share (``azure_runtime.SharedRuntime``: a loop, an
    HTTP session, a credential for ``options.auth``, ARM read budgets), to give each as
    ``AzureOptions.runtime`` and its credential as ``credential``; the caller closes it."""
    require_modules("live collection from Azure", SDK_MODULES)
    from mtls_audit.sources.azure.auth import Limits, resolve_endpoints
    from mtls_audit.sources.azure.runtime import SharedRuntime

    endpoints = resolve_endpoints(
        options.cloud, options.arm_endpoint, options.authority_host, options.keyvault_suffix
    )
    limits = Limits(options.timeout_s, options.max_retries, options.connection_verify)
    return SharedRuntime(options.auth, endpoints, limits)


@dataclass(frozen=True)
class AzureSource:
    """A live collection from Azure; ``credential``: one to use instead of making one for
    ``options.auth`` (a schedule's targets share one)."""

    options: AzureOptions
    credential: object | None = None
    kind: str = "azure"

    def load(self) -> dict[str, Any]:
        from mtls_audit import snapshot

        parts = collect_azure(self.options, credential=self.credential)
        return snapshot.build(
            provenance=parts["provenance"],
            resources=parts["resources"],
            keyvault=parts.get("keyvault"),
            gaps=parts.get("gaps"),
        )
