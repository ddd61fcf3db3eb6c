"""Exported ARM resources (wire format, Azure PowerShell) as flat ARM wire-format entries.

Wire-format resources are kept as they are; a missing ``type``/``name`` is taken from the id.
PowerShell objects (``Get-AzResource -ExpandProperties | ConvertTo-Json``) get ARM wire names for
their PascalCase top-level members (``ResourceId`` → ``id``, ``Sku.Name`` → ``sku.name``, …);
``properties`` content is kept as is. Nested ``resources`` arrays become flat entries.
"""

from __future__ import annotations

from typing import Any

from mtls_audit.sources.arm.template import type_from_id

Found = list[tuple[dict[str, Any], str]]
"""Resources, each with the JSON pointer of the object it was read from."""

_PS_KEYS = {
    "resourceid": "id", "id": "id", "name": "name", "resourcename": "name",
    "resourcetype": "type", "type": "type", "properties": "properties", "sku": "sku",
    "identity": "identity", "location": "location", "tags": "tags", "kind": "kind",
    "zones": "zones", "plan": "plan", "managedby": "managedBy", "etag": "etag",
    "apiversion": "apiVersion", "systemdata": "systemData", "extendedlocation": "extendedLocation",
}  # fmt: skip
_PS_PREFERRED = ("ResourceId", "ResourceType", "Name")
_PS_DROPPED = {
    "resourcegroupname", "subscriptionid", "extensionresourcename", "extensionresourcetype",
    "parentresource", "createdtime", "changedtime", "tagstable", "resources",
}  # fmt: skip


def is_powershell(item: Any) -> bool:
    """Whether a JSON object is a Get-AzResource object (PascalCase members)."""
    return isinstance(item, dict) and ("ResourceId" in item or "ResourceType" in item)


def gap(
    kind: str, subject: str, what: str, message: str, file: str, pointer: str
) -> dict[str, Any]:
    """A gap object as the snapshot holds it (its line is added once lines are known)."""
    return {"kind": kind, "subject": subject, "what": what, "message": message,
            "file": file, "pointer": pointer}  # fmt: skip


def listing(data: Any) -> tuple[list[Any], str | None]:
    """The resource objects of an export (array, value/data list, or one) and the pointer of
    the list holding them (None for a single object)."""
    if isinstance(data, list):
        return data, ""
    for key in ("value", "data"):
        if isinstance(data.get(key), list):
            return data[key], f"/{key}"
    return [data], None


def items_of(data: Any) -> list[tuple[Any, str]]:
    """The resource objects of an export with their pointers."""
    items, at = listing(data)
    if at is None:
        return [(data, "")]
    return [(item, f"{at}/{i}") for i, item in enumerate(items)]


def flatten(data: Any, file: str) -> tuple[Found, list[dict[str, Any]]]:
    """The export's resources, nested ``resources`` pulled out after their parent."""
    found: Found = []
    gaps: list[dict[str, Any]] = []
    todo: list[tuple[Any, str, dict[str, Any] | None]] = [
        (item, pointer, None) for item, pointer in items_of(data)[::-1]
    ]
    while todo:
        item, pointer, parent = todo.pop()
        if not isinstance(item, dict):
            gaps.append(
                gap("parse-error", file, "resource", "not a resource object", file, pointer)
            )
            continue
        if is_powershell(item):
            resource = _from_powershell(item)
        else:
            resource = {k: v for k, v in item.items() if k.lower() != "resources"}
        problem = _complete(resource)
        if problem:
            gaps.append(gap("parse-error", file, "resource", f"{problem}; left out", file, pointer))
            continue
        moved = _place_under(resource, parent)
        if moved:
            gaps.append(gap("inconsistent", resource["id"], "resource", moved, file, pointer))
        found.append((resource, pointer))
        for key, children in item.items():
            if key.lower() == "resources" and isinstance(children, list):
                nested = [
                    (child, f"{pointer}/{key}/{j}", resource) for j, child in enumerate(children)
                ]
                todo.extend(reversed(nested))
    return found, gaps


def _place_under(resource: dict[str, Any], parent: dict[str, Any] | None) -> str | None:
    """A nested child whose own id names another parent is placed under its enclosing resource.

    The nesting is what the export says about ownership; the id disagreeing with it is noted.
    """
    if parent is None:
        return None
    parent_id, parent_type = str(parent["id"]).rstrip("/"), str(parent.get("type", ""))
    child_id, child_type = str(resource["id"]), str(resource.get("type", ""))
    if not child_type.lower().startswith(parent_type.lower() + "/"):
        return None  # an extension resource or another shape: keep its id
    if child_id.lower().startswith(parent_id.lower() + "/"):
        return None
    segment = child_type.rsplit("/", 1)[-1]
    resource["id"] = f"{parent_id}/{segment}/{resource['name']}"
    return (
        f"its id {child_id} names another parent than the resource it is nested in; "
        f"it is assessed as {resource['id']}"
    )


def _complete(resource: dict[str, Any]) -> str | None:
    """Fill ``type``/``name`` from the id when absent; the problem if the resource is unusable."""
    resource_id = resource.get("id")
    if not isinstance(resource_id, str) or not resource_id.startswith("/"):
        return "the resource has no ARM id"
    if isinstance(resource.get("type"), str) and "name" in resource:
        return None  # nothing to take from the id
    derived = type_from_id(resource_id)
    if derived is None:
        if not isinstance(resource.get("type"), str):
            return f"the resource has no type and its id {resource_id!r} names none"
        resource.setdefault("name", resource_id.rstrip("/").rsplit("/", 1)[-1])
    else:
        resource.setdefault("type", derived[0])
        resource.setdefault("name", derived[1])
    return None


def _from_powershell(item: dict[str, Any]) -> dict[str, Any]:
    """A Get-AzResource object in ARM wire names (null PowerShell members dropped)."""
    out: dict[str, Any] = {}
    for key in sorted(item, key=lambda k: k in _PS_PREFERRED):  # preferred spellings win
        value = item[key]
        if value is None or key.lower() in _PS_DROPPED:
            continue
        wire = _PS_KEYS.get(key.lower(), key)
        if wire == "id" and isinstance(value, str):
            value = value.strip()
        elif wire in ("sku", "identity") and isinstance(value, dict):
            value = _camel(value)
            users = value.get("userAssignedIdentities")
            if isinstance(users, dict):
                value["userAssignedIdentities"] = {
                    k: _camel(v) if isinstance(v, dict) else v for k, v in users.items()
                }
        out[wire] = value
    first = {k: out.pop(k) for k in ("id", "type", "name") if k in out}
    return first | out


def _camel(value: dict[str, Any]) -> dict[str, Any]:
    return {k[:1].lower() + k[1:]: v for k, v in value.items() if v is not None}
