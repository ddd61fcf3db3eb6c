"""Small snapshots for rule tests: a service plus the resources a case names."""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from typing import Any

SUBSCRIPTION = "00000000-0000-0000-0000-000000000001"
RG = f"/subscriptions/{SUBSCRIPTION}/resourceGroups/rg-test"
SERVICE_ID = f"{RG}/providers/Microsoft.ApiManagement/service/apim-test"
COLLECTED_AT = "2026-11-20T09:00:00Z"

BASE_SERVICE: dict[str, Any] = {
    "id": SERVICE_ID,
    "type": "Microsoft.ApiManagement/service",
    "name": "apim-test",
    "location": "westeurope",
    "sku": {"name": "Premium", "capacity": 1},
    "identity": {"type": "SystemAssigned", "principalId": "11111111-1111-1111-1111-111111111111"},
    "properties": {"createdAtUtc": "2023-03-01T10:00:00Z", "hostnameConfigurations": []},
}


def merge(base: Any, patch: Any) -> Any:
    """Deep merge; a None value in the patch removes the key."""
    if isinstance(base, dict) and isinstance(patch, Mapping):
        out = dict(base)
        for key, value in patch.items():
            if value is None:
                out.pop(key, None)
            else:
                out[key] = merge(base.get(key), value)
        return out
    return copy.deepcopy(patch)


def child(path: str, properties: Mapping[str, Any] | None = None, **extra: Any) -> dict[str, Any]:
    """An APIM child resource from a relative path such as ``apis/a/operations/o``."""
    segments = path.strip("/").split("/")
    types = segments[0::2]
    return {
        "id": f"{SERVICE_ID}/{path.strip('/')}",
        "type": "Microsoft.ApiManagement/service/" + "/".join(types),
        "name": segments[-1],
        "properties": dict(properties or {}),
        **extra,
    }


def expand(resource: Mapping[str, Any]) -> dict[str, Any]:
    if "path" in resource:
        rest = {k: v for k, v in resource.items() if k not in ("path", "properties")}
        return child(resource["path"], resource.get("properties"), **rest)
    return dict(resource)


def snapshot(
    service: Mapping[str, Any] | None = None,
    resources: Sequence[Mapping[str, Any]] = (),
    *,
    gaps: Sequence[Mapping[str, Any]] = (),
    keyvault: Mapping[str, Any] | None = None,
    with_service: bool = True,
) -> dict[str, Any]:
    """A snapshot v1 document around one service patched with ``service``."""
    rows = [merge(BASE_SERVICE, service or {})] if with_service else []
    rows += [expand(r) for r in resources]
    return {
        "schema": "mtls-audit/snapshot/v1",
        "provenance": {"source": "files", "collected_at": COLLECTED_AT},
        "resources": rows,
        "keyvault": dict(keyvault or {}),
        "gaps": [dict(g) for g in gaps],
    }
