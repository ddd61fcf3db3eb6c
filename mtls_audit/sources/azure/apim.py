"""The API Management part of a live collection: services in scope and everything under them.

Independent listings run concurrently and each child listing starts as soon as its parent is
known. Policies are located with ``allPolicies`` (one listing naming every policy that exists) and
only those are fetched; when that endpoint is unavailable every scope is asked in turn, where a
404 just means "no policy here".
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from mtls_audit.errors import CollectionError
from mtls_audit.sources.azure.arm_reads import PERMISSION_HINTS, Api, ArmReader, Failure, Json
from mtls_audit.sources.azure.store import Store
from mtls_audit.wording import plural

_PROVIDER = "/providers/Microsoft.ApiManagement/service"
_SIMPLE_CHILDREN = ("backends", "certificates", "namedValues", "subscriptions")
_OPTIONAL_FEATURE = (400, 404)  # gateways and workspaces do not exist on every tier
_POLICY_FALLBACK_STATUSES = (400, 404)
_XML = {"format": "xml"}
_UNREACHABLE = ("timeout", "request-failed")


_NOT_REGISTERED = "MissingSubscriptionRegistration"


class ApimCollector:
    def __init__(self, reader: ArmReader, apim: Api, store: Store, caller: str) -> None:
        self._reader = reader
        self._apim = apim
        self._store = store
        self._caller = caller
        self.notes: list[str] = []

    async def discover(
        self, subscriptions: Sequence[str], resource_groups: Sequence[str], names: Sequence[str]
    ) -> list[Json]:
        """The services in scope; the first listing doubles as the reachability check."""
        scopes: list[tuple[str, str | None]] = [
            (f"/subscriptions/{sub}/resourceGroups/{group}", group)
            for sub in subscriptions
            for group in resource_groups
        ] or [(f"/subscriptions/{sub}", None) for sub in subscriptions]
        first_path = scopes[0][0] + _PROVIDER
        first, failure = await self._reader.pages(self._apim, first_path)
        if failure is not None and failure.status is None and failure.kind in _UNREACHABLE:
            raise CollectionError(f"cannot reach ARM at {self._reader.base}: {failure.message}")
        others = await asyncio.gather(
            *(self._reader.pages(self._apim, scope + _PROVIDER) for scope, _ in scopes[1:])
        )
        results = [(first, failure), *others]
        services: list[Json] = []
        groups_seen: set[str] = set()
        failed_listings: list[Failure] = []
        for (scope, group), (found, failed) in zip(scopes, results, strict=True):
            services.extend(found)
            if group is not None and (failed is None or failed.status != 404):
                groups_seen.add(group.lower())
            if failed is None or (group is not None and failed.status == 404):
                continue
            if failed.code == _NOT_REGISTERED:
                self.notes.append(
                    f"{scope.split('/resourceGroups/')[0]}: the Microsoft.ApiManagement "
                    "provider is not registered, so it holds no API Management service"
                )
                continue
            if failed.status == 403:
                failed = self._forbidden(scope, failed)
            failed_listings.append(failed)
            self._reader.gaps.add(failed, subject=scope, what="services")
        if len(failed_listings) == len(scopes) and all(f.status == 403 for f in failed_listings):
            refusal = failed_listings[0].message
            raise CollectionError(f"{refusal} ({PERMISSION_HINTS['services']})")
        for group in resource_groups:
            if group.lower() not in groups_seen:
                missing = Failure(kind="not-found", message="resource group not found", status=404)
                self._reader.gaps.add(missing, subject=group, what="services")
        return self._select(services, names, failed_listings)

    def _forbidden(self, scope: str, failure: Failure) -> Failure:
        said = f"{failure.code}: {failure.message}" if failure.code else failure.message
        message = f"{self._caller} may not list the API Management services in {scope} ({said})"
        return Failure(
            kind="forbidden",
            message=message,
            status=403,
            code=failure.code,
            request_id=failure.request_id,
        )

    def _select(
        self, services: list[Json], names: Sequence[str], failed_listings: Sequence[Failure]
    ) -> list[Json]:
        if not names:
            return services
        wanted = {name.lower() for name in names}
        chosen = [s for s in services if str(s.get("name", "")).lower() in wanted]
        for name in sorted(wanted - {str(s.get("name", "")).lower() for s in chosen}):
            if failed_listings:
                failure = Failure(
                    kind="not-collected",
                    message=f"not looked for: {plural(len(failed_listings), 'service listing')} in "
                    f"scope failed ({failed_listings[0].kind})",
                )
            else:
                message = "no API Management service of this name in the subscriptions in scope"
                failure = Failure(kind="not-found", message=message)
            self._reader.gaps.add(failure, subject=name, what="service")
        return chosen

    async def collect(self, service: Json) -> None:
        """The service and its children, flat, into the store."""
        self._store.add(service)
        sid = str(service["id"])
        async with asyncio.TaskGroup() as group:
            apis = group.create_task(self._apis(sid))
            products = group.create_task(self._parents_and_children(sid, "products", ("apis",)))
            workspaces = group.create_task(self._list(sid, "workspaces", _OPTIONAL_FEATURE))
            for child in _SIMPLE_CHILDREN:
                group.create_task(self._list(sid, child))
            group.create_task(self._fragments(sid))
            group.create_task(
                self._parents_and_children(
                    sid,
                    "gateways",
                    ("hostnameConfigurations", "certificateAuthorities"),
                    _OPTIONAL_FEATURE,
                )
            )
            group.create_task(self._policies(sid, apis, products, workspaces))

    async def _list(self, parent: str, child: str, tolerate: Sequence[int] = ()) -> list[Json]:
        found = await self._reader.items(
            self._apim, f"{parent}/{child}", what=child, subject=parent, tolerate=tolerate
        )
        return self._store.add_all(found)

    async def _parents_and_children(
        self,
        sid: str,
        collection: str,
        children: Sequence[str],
        tolerate: Sequence[int] = (),
    ) -> list[Json]:
        parents = await self._list(sid, collection, tolerate)
        await asyncio.gather(
            *(self._list(str(p["id"]), child) for p in parents if "id" in p for child in children)
        )
        return parents

    async def _apis(self, sid: str) -> list[Json]:
        """APIs and their operations (operations last in the returned list)."""
        apis = await self._list(sid, "apis")
        operations = await asyncio.gather(
            *(self._list(str(api["id"]), "operations") for api in apis if "id" in api)
        )
        return apis + [op for ops in operations for op in ops]

    async def _fragments(self, sid: str) -> None:
        fragments = await self._list(sid, "policyFragments")
        incomplete = [
            f for f in fragments if "value" not in (f.get("properties") or {}) and "id" in f
        ]
        bodies = await asyncio.gather(
            *(
                self._reader.resource(self._apim, str(f["id"]), what="policyFragments", params=_XML)
                for f in incomplete
            )
        )
        self._store.add_all(body for body in bodies if body is not None)

    async def _policies(
        self,
        sid: str,
        apis: asyncio.Task[list[Json]],
        products: asyncio.Task[list[Json]],
        workspaces: asyncio.Task[list[Json]],
    ) -> None:
        index, failure = await self._reader.pages(self._apim, f"{sid}/allPolicies")
        if failure is None:
            paths = self._indexed_policy_paths(sid, index)
            tolerate: tuple[int, ...] = ()
        elif failure.status in _POLICY_FALLBACK_STATUSES or failure.kind in (
            "server-error",
            "parse-error",
        ):
            scopes = [sid] + [
                str(r["id"]) for r in [*await apis, *await products, *await workspaces] if "id" in r
            ]
            paths = [f"{scope}/policies/policy" for scope in scopes]
            tolerate = (404,)
        else:
            self._reader.gaps.add(failure, subject=sid, what="policies")
            return
        bodies = await asyncio.gather(
            *(
                self._reader.resource(
                    self._apim, path, what="policies", params=_XML, tolerate=tolerate
                )
                for path in paths
            )
        )
        self._store.add_all(body for body in bodies if body is not None)

    def _indexed_policy_paths(self, sid: str, index: list[Json]) -> list[str]:
        """Paths of the policies ``allPolicies`` names, re-rooted on this service's id."""
        marker = sid[sid.lower().rindex("/providers/") :].lower() + "/"
        paths: dict[str, str] = {}
        for entry in index:
            reference = str((entry.get("properties") or {}).get("referencePolicyId") or "")
            at = reference.lower().find(marker)
            segments = reference.rstrip("/").split("/")
            if at < 0 or len(segments) < 2 or segments[-2].lower() != "policies":
                message = f"allPolicies names a policy outside this service: {reference!r}"
                self._reader.gaps.add(
                    Failure(kind="unsupported", message=message), subject=sid, what="policies"
                )
                continue
            path = sid + reference[at + len(marker) - 1 :]
            paths.setdefault(path.lower(), path)
        return list(paths.values())
