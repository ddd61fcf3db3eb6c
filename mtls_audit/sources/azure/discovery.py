"""Which API Management instances an estate holds: the scope of a discovery and its query.

An estate is given by a scope (subscriptions, management groups, or every subscription the
identity can read), optionally narrowed by tags, or by a Resource Graph query of one's own. It is
discovered with one paged Resource Graph query across the whole scope (``azure_graph``), so that
thousands of subscriptions cost a handful of requests rather than one listing each.

Importing this module is cheap: the Resource Graph SDK is imported when a discovery runs.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import Any

from mtls_audit.dependencies import require_modules
from mtls_audit.errors import CollectionError
from mtls_audit.sources.azure.source import SDK_MODULES, AzureOptions, _problems, _quiet_sdk_logs

GRAPH_MODULES = {**SDK_MODULES, "azure.mgmt.resourcegraph": "azure-mgmt-resourcegraph"}
SERVICE_TYPE = "microsoft.apimanagement/service"
SERVICE_ID = re.compile(
    r"^/subscriptions/(?P<subscription>[^/]+)/resourceGroups/(?P<group>[^/]+)"
    r"/providers/Microsoft\.ApiManagement/service/(?P<name>[^/]+)$",
    re.IGNORECASE,
)
_MANAGEMENT_GROUP = re.compile(r"^[-\w.()]{1,90}$")
_TAG_KEY = re.compile(r"^[^<>%&\\?/]{1,512}$")
_ANY_SUBSCRIPTION = "00000000-0000-0000-0000-000000000000"  # stands in to check the other options
_COLUMNS = "id, name, type, subscriptionId, resourceGroup, location, tags"


@dataclass(frozen=True)
class EstateScope:
    """Where to look: exactly one of ``subscriptions``, ``management_groups`` or
    ``all_subscriptions``; then ``tags`` (all must match) or a ``query`` of one's own."""

    subscriptions: tuple[str, ...] = ()
    management_groups: tuple[str, ...] = ()
    all_subscriptions: bool = False
    tags: tuple[tuple[str, str], ...] = ()
    query: str | None = None

    def describe(self) -> dict[str, Any]:
        """The scope as provenance records it."""
        return {
            "subscriptions": list(self.subscriptions),
            "management_groups": list(self.management_groups),
            "all_subscriptions": self.all_subscriptions,
            "tags": dict(self.tags),
            "query": self.query,
        }


@dataclass(frozen=True)
class FoundInstance:
    """One API Management service Resource Graph returned."""

    id: str
    subscription: str
    resource_group: str
    name: str
    location: str | None = None

    def describe(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "subscription": self.subscription,
            "resource_group": self.resource_group,
            "name": self.name,
            "location": self.location,
        }


def scope_problems(scope: EstateScope) -> Iterator[str]:
    kinds = [
        kind
        for kind, given in (
            ("subscriptions", scope.subscriptions),
            ("management groups", scope.management_groups),
            ("all subscriptions", scope.all_subscriptions),
        )
        if given
    ]
    if len(kinds) != 1:
        found = f" (found {' and '.join(kinds)})" if kinds else ""
        yield "give exactly one of subscriptions, management groups or all subscriptions" + found
    for group in scope.management_groups:
        if not _MANAGEMENT_GROUP.match(group):
            yield f"management group {group!r} is not a valid management group id"
    for key, _ in scope.tags:
        if not _TAG_KEY.match(key):
            yield f"tag name {key!r} is not a valid Azure tag name"
    if scope.query is not None and not scope.query.strip():
        yield "the Resource Graph query is empty"
    if scope.query is not None and scope.tags:
        yield "tags cannot be combined with a query of one's own: put the condition in the query"


def parse_tag(text: str) -> tuple[str, str]:
    """``key=value`` as a pair (the value may be empty; the key may not)."""
    key, sep, value = text.partition("=")
    if not sep or not key.strip():
        raise ValueError(f"{text!r} is not KEY=VALUE")
    return key.strip(), value.strip()


def _literal(text: str) -> str:
    """A KQL string literal (single-quoted, backslash escapes)."""
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def build_query(scope: EstateScope) -> str:
    """The Resource Graph query of a scope: its own, or every APIM service with the tags."""
    if scope.query is not None:
        return scope.query.strip()
    lines = ["resources", f"| where type =~ {_literal(SERVICE_TYPE)}"]
    lines += [f"| where tags[{_literal(k)}] =~ {_literal(v)}" for k, v in scope.tags]
    lines += [f"| project {_COLUMNS}", "| order by id asc"]
    return "\n".join(lines)


def discover_instances(
    scope: EstateScope, options: AzureOptions, *, credential: object | None = None
) -> dict[str, Any]:
    """``instances`` (each :meth:`FoundInstance.describe`), ``gaps`` and ``provenance``.

    ``options`` gives sign-in, cloud, endpoints and limits (its subscriptions are not read: the
    scope's are).
    Raises :class:`CollectionError` when discovery cannot start or a token is refused.
    """
    problems = list(scope_problems(scope))
    checked = replace(options, subscriptions=scope.subscriptions or (_ANY_SUBSCRIPTION,))
    problems += _problems(checked)
    if problems:
        raise CollectionError("; ".join(problems))
    require_modules("discovery through Azure Resource Graph", GRAPH_MODULES)
    from mtls_audit.sources.azure.graph import discover

    with _quiet_sdk_logs():
        return asyncio.run(discover(scope, options, credential))
