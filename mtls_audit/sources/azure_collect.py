"""One live collection, start to end: credential, clients, traversal, provenance.

ARM is read with the SDK clients' own pipelines (``ApiManagementClient`` for
Microsoft.ApiManagement and the Key Vault resource, ``AuthorizationManagementClient`` for role
assignments and definitions) through ``_send_request``, so authentication, retries and headers are
the SDK's while bodies stay byte-faithful (see ``azure_arm``). Key Vault certificates are read
with ``CertificateClient`` and kept under its model's names.
"""

from __future__ import annotations

import asyncio
import importlib.metadata
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from .azure_apim import ApimCollector
from .azure_arm import Api, ArmReader, GapLog, Json
from .azure_auth import CLOUDS, adopt, identity_of, make_credential
from .azure_http import (
    Budget,
    CappedRetryPolicy,
    GuardedTransport,
    RequestLedger,
    origin,
    ssl_context,
)
from .azure_keyvault import KEYVAULT_API, KeyVaultCollector, references
from .azure_store import Store

if TYPE_CHECKING:
    from azure.core.credentials_async import AsyncTokenCredential as AsyncCredential

    from .azure import AzureOptions


def tool_version() -> str:
    try:
        return importlib.metadata.version("mtls-audit")
    except importlib.metadata.PackageNotFoundError:
        return "0+unknown"


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


async def collect(
    options: AzureOptions,
    credential: object | None,
    on_request: Callable[[int], None] | None = None,
) -> Json:
    """The snapshot parts: ``resources``, ``keyvault``, ``gaps`` and ``provenance``."""
    cloud = CLOUDS[options.cloud]
    arm_endpoint = (options.arm_endpoint or cloud.arm_endpoint).rstrip("/")
    collected_at = _now()
    async_credential: AsyncCredential = (
        adopt(credential) if credential is not None else make_credential(options.auth, cloud)
    )
    try:
        identity = await identity_of(async_credential, cloud.arm_scope)
        ledger = RequestLedger(origin(arm_endpoint), options.verbose, on_request)
        transport = GuardedTransport(
            allowed_origins={origin(arm_endpoint)},
            ledger=ledger,
            budget=Budget(options.concurrency, origin(arm_endpoint)),
            tls=ssl_context(options.connection_verify),
            timeout_s=options.timeout_s,
        )
        try:
            parts = await _traverse(options, async_credential, transport, arm_endpoint)
        finally:
            await transport.aclose_inner()
    finally:
        await async_credential.close()
    parts["provenance"] = {
        "source": "azure",
        "tool": {"name": "mtls-audit", "version": tool_version()},
        "collected_at": collected_at,
        "finished_at": _now(),
        "identity": identity,
        "requests": ledger.entries,
        "api_versions": parts.pop("api_versions"),
        "redactions": parts.pop("redactions"),
        "scope": {
            "subscriptions": list(options.subscriptions),
            "resource_groups": list(options.resource_groups),
            "services": list(options.services),
        },
    }
    return parts


async def _traverse(
    options: AzureOptions,
    credential: AsyncCredential,
    transport: GuardedTransport,
    arm_endpoint: str,
) -> Json:
    from azure.mgmt.apimanagement.aio import ApiManagementClient
    from azure.mgmt.authorization.v2022_04_01.aio import AuthorizationManagementClient

    cloud = CLOUDS[options.cloud]

    def retry_policy() -> CappedRetryPolicy:  # one per pipeline: policies are chained in place
        return CappedRetryPolicy(
            max_retries=options.max_retries, max_wait_s=options.max_retry_after_s
        )

    shared: dict[str, Any] = {
        "base_url": arm_endpoint,
        "transport": transport,
        "credential_scopes": [cloud.arm_scope],
    }
    first_subscription = options.subscriptions[0]
    apim_client = ApiManagementClient(
        credential, first_subscription, retry_policy=retry_policy(), **shared
    )
    authz_client = AuthorizationManagementClient(
        credential, first_subscription, retry_policy=retry_policy(), **shared
    )
    async with apim_client, authz_client:
        apim = Api(apim_client._send_request, apim_client._config.api_version)
        authz = Api(authz_client._send_request, authz_client._config.api_version)
        gaps = GapLog()
        reader = ArmReader(arm_endpoint, gaps)
        store = Store()
        services = ApimCollector(reader, apim, store)
        found = await services.discover(
            options.subscriptions, options.resource_groups, options.services
        )
        await asyncio.gather(*(services.collect(service) for service in found))
        vaults = KeyVaultCollector(
            reader=reader,
            vaults_api=Api(apim.send, KEYVAULT_API),
            authz=authz,
            store=store,
            credential=credential,
            transport=transport,
            retry_policy=retry_policy,
            keyvault_suffix=cloud.keyvault_suffix,
        )
        keyvault = await vaults.collect(references(store.resources()), options.subscriptions)
    api_versions = {
        "Microsoft.ApiManagement": apim.version,
        "Microsoft.Authorization": authz.version,
        "Microsoft.KeyVault": KEYVAULT_API,
    }
    if vaults.data_plane_api is not None:
        api_versions["Key Vault data plane"] = vaults.data_plane_api
    return {
        "resources": store.resources(),
        "keyvault": keyvault,
        "gaps": store.redactor.gaps(gaps.gaps),
        "api_versions": api_versions,
        "redactions": dict(sorted(store.redactor.counts.items())),
    }
