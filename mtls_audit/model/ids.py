"""ARM resource ids: case-insensitive keys, parents, and names."""

from __future__ import annotations


def key(resource_id: str) -> str:
    """The comparison key of an ARM id (ids are case-insensitive)."""
    return resource_id.rstrip("/").lower()


def parent(resource_id: str) -> str:
    """The id of the parent resource (drops the last type/name pair)."""
    parts = resource_id.rstrip("/").rsplit("/", 2)
    return parts[0] if len(parts) == 3 else ""


def is_within(child_id: str, ancestor_id: str) -> bool:
    """True when ``child_id`` is ``ancestor_id`` or lies below it, segment by segment."""
    child = key(child_id).split("/")
    ancestor = key(ancestor_id).split("/")
    return child[: len(ancestor)] == ancestor


def last_name(resource_id: str) -> str:
    return resource_id.rstrip("/").rsplit("/", 1)[-1]


def service_of(resource_id: str) -> str | None:
    """The APIM service id a child id belongs to, or None."""
    parts = resource_id.split("/")
    low = resource_id.lower().split("/")
    for index in range(len(low) - 2):
        if low[index] == "microsoft.apimanagement" and low[index + 1] == "service":
            return "/".join(parts[: index + 3])
    return None
