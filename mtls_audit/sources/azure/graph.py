"""Discovery of API Management instances with Azure Resource Graph (``ResourceGraphClient``).

One query across the whole scope, paged with ``$skipToken``, through the same guarded transport,
retry policy and request ledger as a collection (a Resource Graph query is the one POST the
transport lets through). What the identity cannot read becomes a named gap:

- a query that fails (403 on a management group, a timeout) names every scope it covered;
- a subscription named explicitly that Resource Graph says nothing of (it answers only from
  subscriptions the identity can read, silently) is named, found by a second small query over
  ``resourcecontainers``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING

from azure.core.exceptions import AzureError, ClientAuthenticationError

from mtls_audit.errors import CollectionError
from mtls_audit.sources.azure.arm_reads import Failure, GapLog, Json
from mtls_audit.sources.azure.auth import Limits, adopt, make_credential, resolve_endpoints
from mtls_audit.sources.azure.collect import tool_version
from mtls_audit.sources.azure.discovery import SERVICE_ID, EstateScope, FoundInstance, build_query
from mtls_audit.sources.azure.http import (
    Budget,
    CappedRetryPolicy,
    GuardedTransport,
    HttpSession,
    RequestLedger,
    origin,
)
from mtls_audit.sources.azure.http import ssl_context as make_ssl_context
from mtls_audit.sources.azure.stop import Stop, Stopped

if TYPE_CHECKING:
    from azure.mgmt.resourcegraph.aio import ResourceGraphClient

    from mtls_audit.sources.azure.source import AzureOptions

PAGE_SIZE = 1000  # the most Resource Graph returns in one page
_SUBSCRIPTIONS_QUERY = (
    "resourcecontainers\n| where type =~ 'microsoft.resources/subscriptions'\n"
    "| project id, subscriptionId\n| order by id asc"
)
_READER_HINT = "needs Reader (or any role with read) on the subscription"


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class _Pager:
    """Runs queries over one scope, page by page, counting pages and rows."""

    def __init__(self, client: ResourceGraphClient, scope: EstateScope, stop: Stop) -> None:
        self._client = client
        self._scope = scope
        self._stop = stop
        self.pages = 0

    async def rows(self, query: str, subscriptions: tuple[str, ...] = ()) -> list[Json]:
        from azure.mgmt.resourcegraph.models import QueryRequest, QueryRequestOptions

        found: list[Json] = []
        token: str | None = None
        while True:
            request = QueryRequest(
                subscriptions=list(subscriptions or self._scope.subscriptions) or None,
                management_groups=list(self._scope.management_groups) or None,
                query=query,
                options=QueryRequestOptions(
                    skip_token=token, top=PAGE_SIZE, result_format="objectArray"
                ),
            )
            async with self._stop.bounded():
                answer = await self._client.resources(request)
            self.pages += 1
            data: list[object] = answer.data if isinstance(answer.data, list) else []
            found.extend(row for row in data if isinstance(row, dict))
            token = answer.skip_token
            if not token:
                return found


async def discover(scope: EstateScope, options: AzureOptions, credential: object | None) -> Json:
    """See :func:`azure_discovery.discover_instances`."""
    from azure.mgmt.resourcegraph.aio import ResourceGraphClient

    endpoints = resolve_endpoints(
        options.cloud, options.arm_endpoint, options.authority_host, options.keyvault_suffix
    )
    arm = origin(endpoints.arm_endpoint)
    stop = Stop(options.deadline_s)
    stop.start()
    started = _now()
    gaps = GapLog()
    ledger = RequestLedger(arm, options.verbose)
    query = build_query(scope)
    rows: list[Json] = []
    readable: set[str] | None = None
    owned = credential is None
    async_credential = (
        make_credential(
            options.auth,
            endpoints,
            Limits(options.timeout_s, options.max_retries, options.connection_verify),
        )
        if owned
        else adopt(credential)
    )
    http = HttpSession(make_ssl_context(options.connection_verify))
    transport = GuardedTransport(
        allowed_origins={arm},
        ledger=ledger,
        budget=Budget(options.concurrency, arm),
        http=http,
        timeout_s=options.timeout_s,
    )
    client = ResourceGraphClient(
        async_credential,
        base_url=endpoints.arm_endpoint,
        transport=transport,
        credential_scopes=[endpoints.arm_scope],
        retry_policy=CappedRetryPolicy(
            max_retries=options.max_retries, max_wait_s=options.max_retry_after_s
        ),
    )
    pager = _Pager(client, scope, stop)
    try:
        async with client:
            rows = await pager.rows(query)
            if scope.subscriptions:
                answered = await pager.rows(_SUBSCRIPTIONS_QUERY)
                readable = {str(r.get("subscriptionId", "")).lower() for r in answered}
    except ClientAuthenticationError as error:
        raise CollectionError(f"the token was refused: {Failure.of_error(error).message}") from None
    except (AzureError, OSError, TimeoutError, Stopped) as error:
        failure = Failure.of_error(error)
        for subject in _scopes(scope):
            gaps.add(failure, subject=subject, what="services")
    finally:
        await http.close()
        await async_credential.close()
    instances, others = _instances(rows)
    for subscription in scope.subscriptions:
        if readable is not None and subscription.lower() not in readable:
            message = (
                f"Resource Graph returns nothing from subscription {subscription}: the identity "
                f"cannot read it ({_READER_HINT})"
            )
            failure = Failure(kind="forbidden", message=message)
            gaps.add(failure, subject=f"/subscriptions/{subscription}", what="services")
    provenance: Json = {
        "source": "azure-resource-graph",
        "tool": {"name": "mtls-audit", "version": tool_version()},
        "collected_at": started,
        "finished_at": _now(),
        "cloud": endpoints.cloud,
        "scope": scope.describe(),
        "query": query,
        "api_version": client._config.api_version,
        "pages": pager.pages,
        "rows_not_services": others,
        "requests": ledger.entries,
    }
    return {
        "instances": [i.describe() for i in instances],
        "gaps": gaps.gaps,
        "provenance": provenance,
    }


def _scopes(scope: EstateScope) -> list[str]:
    """What a failed query leaves unknown, as gap subjects."""
    if scope.subscriptions:
        return [f"/subscriptions/{s}" for s in scope.subscriptions]
    if scope.management_groups:
        return [
            f"/providers/Microsoft.Management/managementGroups/{g}" for g in scope.management_groups
        ]
    return ["every subscription the identity can read"]


def _instances(rows: list[Json]) -> tuple[list[FoundInstance], int]:
    """The API Management services among the rows (once each, by id), and how many rows were
    something else (a query of one's own may return other resources)."""
    found: dict[str, FoundInstance] = {}
    others = 0
    for row in rows:
        match = SERVICE_ID.match(str(row.get("id", "")))
        if match is None:
            others += 1
            continue
        location = row.get("location")
        found.setdefault(
            match[0].lower(),
            FoundInstance(
                id=match[0],
                subscription=match["subscription"].lower(),
                resource_group=match["group"],
                name=match["name"],
                location=location if isinstance(location, str) else None,
            ),
        )
    return [found[key] for key in sorted(found)], others
