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
from functools import cache
from typing import TYPE_CHECKING, Any

from mtls_audit.redaction import Redactor
from mtls_audit.sources.azure.apim import ApimCollector
from mtls_audit.sources.azure.arm_reads import Api, ArmReader, Failure, GapLog, Json
from mtls_audit.sources.azure.auth import (
    Endpoints,
    Limits,
    SignInError,
    adopt,
    credential_type,
    identity_of,
    make_credential,
    resolve_endpoints,
)
from mtls_audit.sources.azure.http import (
    Budget,
    CappedRetryPolicy,
    GuardedTransport,
    HttpSession,
    RequestLedger,
    origin,
    ssl_context,
)
from mtls_audit.sources.azure.keyvault import KEYVAULT_API, KeyVaultCollector, references
from mtls_audit.sources.azure.stop import Stop, Stopped, on_signals
from mtls_audit.sources.azure.store import Store

if TYPE_CHECKING:
    from azure.core.credentials_async import AsyncTokenCredential as AsyncCredential

    from mtls_audit.sources.azure.source import AzureOptions


@cache
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
    http: HttpSession | None = None,
) -> Json:
    """The snapshot parts: ``resources``, ``keyvault``, ``gaps`` and ``provenance``.

    ``http``: a session shared with other collections on this loop (an estate's); by default
    the collection opens its own and closes it.

    Raises :class:`SignInError` when no token can be had or a token is refused.
    """
    endpoints = resolve_endpoints(
        options.cloud, options.arm_endpoint, options.authority_host, options.keyvault_suffix
    )
    limits = Limits(options.timeout_s, options.max_retries, options.connection_verify)
    stop = Stop(options.deadline_s)
    stop.start()
    collected_at = _now()
    gaps = GapLog()
    ledger = RequestLedger(origin(endpoints.arm_endpoint), options.verbose, on_request)
    parts: Json = {"resources": [], "keyvault": {}, "api_versions": {}, "redactions": {}}
    notes: list[str] = []
    identity: dict[str, str | None] | None = None
    with on_signals(stop, asyncio.get_running_loop()):
        async_credential: AsyncCredential = (
            adopt(credential)
            if credential is not None
            else make_credential(options.auth, endpoints, limits)
        )
        try:
            identity = await _sign_in(async_credential, endpoints, stop, gaps, options)
            if identity is not None:
                session = http or HttpSession(ssl_context(options.connection_verify))
                transport = GuardedTransport(
                    allowed_origins={origin(endpoints.arm_endpoint)},
                    ledger=ledger,
                    budget=Budget(
                        options.concurrency,
                        origin(endpoints.arm_endpoint),
                        shared=options.runtime.reads if options.runtime else None,
                    ),
                    http=session,
                    timeout_s=options.timeout_s,
                )
                reader = ArmReader(endpoints.arm_endpoint, gaps, stop)
                try:
                    parts, notes = await _traverse(
                        options, async_credential, transport, endpoints, reader, identity
                    )
                finally:
                    if session is not http:
                        await session.close()
        finally:
            await async_credential.close()
    if stop.reason is not None and stop.reason.kind == "authentication":
        raise SignInError(stop.reason.message)
    # Gap messages lose secret-shaped values too (an error text may quote a URL or a header).
    redactor = Redactor(parts.pop("redactions"))
    clean_gaps = redactor.gaps(gaps.gaps)
    provenance: Json = {
        "source": "azure",
        "tool": {"name": "mtls-audit", "version": tool_version()},
        "collected_at": collected_at,
        "finished_at": _now(),
        "identity": identity or {},
        "cloud": endpoints.cloud,
        "endpoints": {
            "arm": endpoints.arm_endpoint,
            "authority": endpoints.authority_host,
            "keyvault_suffix": endpoints.keyvault_suffix,
            "standard": endpoints.standard,
        },
        "auth": {
            "mode": options.auth if credential is None else getattr(credential, "mode", "given"),
            "credential": credential_type(async_credential) if identity else None,
        },
        "limits": {
            "timeout_s": options.timeout_s,
            "max_retries": options.max_retries,
            "deadline_s": options.deadline_s,
        },
        "requests": ledger.entries,
        "api_versions": parts.pop("api_versions"),
        "redactions": dict(sorted(redactor.counts.items())),
        "scope": {
            "subscriptions": list(options.subscriptions),
            "resource_groups": list(options.resource_groups),
            "services": list(options.services),
        },
    }
    if notes:
        provenance["notes"] = notes
    if stop.reason is not None:
        provenance["stopped"] = {"kind": stop.reason.kind, "message": stop.reason.message}
    return {**parts, "gaps": clean_gaps, "provenance": provenance}


async def _sign_in(
    credential: AsyncCredential,
    endpoints: Endpoints,
    stop: Stop,
    gaps: GapLog,
    options: AzureOptions,
) -> dict[str, str | None] | None:
    """Who the collection runs as; None (and a gap per scope) when the authority did not answer
    in time or could not be reached. A credential that says no raises :class:`SignInError`."""
    from azure.core.exceptions import AzureError

    try:
        async with stop.bounded():
            return await identity_of(credential, endpoints.arm_scope)
    except (Stopped, AzureError, OSError, TimeoutError) as error:
        failure = Failure.of_error(error)
        why = failure.message
        if not isinstance(error, Stopped):
            why = f"no ARM token from {endpoints.authority_host}: {why}"
        for scope in _listing_scopes(options):
            gaps.add(Failure(kind=failure.kind, message=why), subject=scope, what="services")
        return None


def _listing_scopes(options: AzureOptions) -> list[str]:
    return [
        f"/subscriptions/{sub}/resourceGroups/{group}"
        for sub in options.subscriptions
        for group in options.resource_groups
    ] or [f"/subscriptions/{sub}" for sub in options.subscriptions]


def _without_auto_registration(client: Any) -> None:
    """ARM clients answer a 409 ``MissingSubscriptionRegistration`` by registering the provider
    (a POST): taken out of the pipeline, so that the 409 reaches the collector as it is."""
    from azure.mgmt.core.policies import AsyncARMAutoResourceProviderRegistrationPolicy

    chain = client._client._pipeline._impl_policies
    for index, policy in enumerate(chain):
        if index and isinstance(policy, AsyncARMAutoResourceProviderRegistrationPolicy):
            chain[index - 1].next = policy.next
            del chain[index]
            return


async def _traverse(
    options: AzureOptions,
    credential: AsyncCredential,
    transport: GuardedTransport,
    endpoints: Endpoints,
    reader: ArmReader,
    identity: dict[str, str | None],
) -> tuple[Json, list[str]]:
    from azure.mgmt.apimanagement.aio import ApiManagementClient
    from azure.mgmt.authorization.v2022_04_01.aio import AuthorizationManagementClient

    def retry_policy() -> CappedRetryPolicy:  # one per pipeline: policies are chained in place
        return CappedRetryPolicy(
            max_retries=options.max_retries, max_wait_s=options.max_retry_after_s
        )

    shared: dict[str, Any] = {
        "base_url": endpoints.arm_endpoint,
        "transport": transport,
        "credential_scopes": [endpoints.arm_scope],
    }
    first_subscription = options.subscriptions[0]
    apim_client = ApiManagementClient(
        credential, first_subscription, retry_policy=retry_policy(), **shared
    )
    authz_client = AuthorizationManagementClient(
        credential, first_subscription, retry_policy=retry_policy(), **shared
    )
    for client in (apim_client, authz_client):
        _without_auto_registration(client)
    async with apim_client, authz_client:
        apim = Api(apim_client._send_request, apim_client._config.api_version)
        authz = Api(authz_client._send_request, authz_client._config.api_version)
        store = Store()
        services = ApimCollector(reader, apim, store, _caller(identity))
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
            keyvault_suffix=endpoints.keyvault_suffix,
        )
        keyvault = await vaults.collect(references(store.resources()), options.subscriptions)
    api_versions = {
        "Microsoft.ApiManagement": apim.version,
        "Microsoft.Authorization": authz.version,
        "Microsoft.KeyVault": KEYVAULT_API,
    }
    if vaults.data_plane_api is not None:
        api_versions["Key Vault data plane"] = vaults.data_plane_api
    parts = {
        "resources": store.resources(),
        "keyvault": keyvault,
        "api_versions": api_versions,
        "redactions": dict(sorted(store.redactor.counts.items())),
    }
    return parts, services.notes


def _caller(identity: dict[str, str | None]) -> str:
    """The signed-in identity as a message names it."""
    named = [f"{k.replace('_', ' ')} {v}" for k, v in identity.items() if v and k != "tenant_id"]
    return f"the identity ({', '.join(named)})" if named else "the identity"
