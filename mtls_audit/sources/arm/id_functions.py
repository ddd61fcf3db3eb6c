"""Functions of ARM template expressions that build resource ids and describe the deployment
scope (``resourceId``, ``subscriptionResourceId``, ``resourceGroup()``, …).

Ids built offline use the offline subscription and resource group (or those the user gives),
so they never claim to be the ids Azure would give.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from mtls_audit.sources.arm.expression import Context, EvaluationError
from mtls_audit.sources.arm.values import str_arg
from mtls_audit.wording import plural

OFFLINE_LOCATION = "offline"
"""``resourceGroup().location`` offline: the real location is not in the files."""
OFFLINE_TENANT = "00000000-0000-0000-0000-000000000000"


def provider_path(resource_type: str, names: Sequence[str]) -> str:
    """``/providers/{namespace}/{type}/{name}/…`` from a full type and its name segments."""
    namespace, *types = resource_type.split("/")
    segments = [segment for name in names for segment in name.split("/")]
    if not types or len(types) != len(segments):
        raise EvaluationError(
            f"resource type {resource_type!r} needs {plural(len(types), 'name segment')}, "
            f"got {len(segments)}: {'/'.join(segments)!r}"
        )
    return f"/providers/{namespace}" + "".join(
        f"/{t}/{n}" for t, n in zip(types, segments, strict=True)
    )


def _id_args(args: Sequence[Any], function: str, most: int) -> tuple[list[str], int]:
    texts = [str_arg(arg, function) for arg in args]
    where = next((i for i, text in enumerate(texts) if "/" in text), None)
    if where is None or where > most:
        raise EvaluationError(f"{function}() has no resource type argument")
    return texts, where


def resource_id(ctx: Context, *args: Any) -> str:
    texts, where = _id_args(args, "resourceId", 2)
    subscription, group = ctx.subscription_id, ctx.resource_group
    if where == 2:
        subscription, group = texts[0], texts[1]
    elif where == 1:
        group = texts[0]
    prefix = f"/subscriptions/{subscription}"
    if group is not None:
        prefix += f"/resourceGroups/{group}"
    return prefix + provider_path(texts[where], texts[where + 1 :])


def subscription_resource_id(ctx: Context, *args: Any) -> str:
    texts, where = _id_args(args, "subscriptionResourceId", 1)
    subscription = texts[0] if where == 1 else ctx.subscription_id
    return f"/subscriptions/{subscription}" + provider_path(texts[where], texts[where + 1 :])


def tenant_resource_id(_ctx: Context, resource_type: Any, *names: Any) -> str:
    texts = [str_arg(v, "tenantResourceId") for v in (resource_type, *names)]
    return provider_path(texts[0], texts[1:])


def extension_resource_id(_ctx: Context, scope: Any, resource_type: Any, *names: Any) -> str:
    texts = [str_arg(v, "extensionResourceId") for v in (scope, resource_type, *names)]
    return texts[0].rstrip("/") + provider_path(texts[1], texts[2:])


def resource_group(ctx: Context) -> dict[str, Any]:
    if ctx.resource_group is None:
        raise EvaluationError("resourceGroup() is not available at subscription scope")
    return {
        "id": f"/subscriptions/{ctx.subscription_id}/resourceGroups/{ctx.resource_group}",
        "name": ctx.resource_group,
        "type": "Microsoft.Resources/resourceGroups",
        "location": OFFLINE_LOCATION,
        "properties": {"provisioningState": "Succeeded"},
    }


def subscription(ctx: Context) -> dict[str, Any]:
    return {
        "id": f"/subscriptions/{ctx.subscription_id}",
        "subscriptionId": ctx.subscription_id,
        "tenantId": OFFLINE_TENANT,
        "displayName": ctx.subscription_id,
    }
