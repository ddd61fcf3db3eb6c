"""Case-insensitive, citable views over ARM JSON.

ARM property names are case-insensitive (``Negotiateclientcertificate`` exists in the wild) and
so are most of its enums; booleans arrive as ``true`` or as the strings ``"True"``/``"false"``.
Every lookup remembers the exact key it used, so that a citation points at what Azure said.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from mtls_audit.model.cite import MISSING, Citation


def _escape(key: str) -> str:
    return key.replace("~", "~0").replace("/", "~1")


def _find_key(obj: Mapping[str, Any], name: str) -> str | None:
    if name in obj:
        return name
    low = name.lower()
    return next((k for k in obj if k.lower() == low), None)


def is_unresolved(value: Any) -> bool:
    """A template expression that the offline source could not resolve (kept verbatim)."""
    return (
        isinstance(value, str)
        and value.startswith("[")
        and value.endswith("]")
        and not value.startswith("[[")
    )


def as_bool(value: Any) -> bool | None:
    """``true``/``"True"``/``"false"`` → bool; anything else (absent, null, expressions) → None."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        low = value.strip().lower()
        if low == "true":
            return True
        if low == "false":
            return False
    return None


def same(a: Any, b: str) -> bool:
    """Case-insensitive comparison of an ARM enum value with a known name."""
    return isinstance(a, str) and a.lower() == b.lower()


@dataclass(frozen=True, slots=True)
class View:
    """A JSON object inside a resource, with the pointer that leads to it."""

    resource_id: str
    pointer: str
    raw: Mapping[str, Any]

    def has(self, name: str) -> bool:
        return _find_key(self.raw, name) is not None

    def get(self, name: str, default: Any = None) -> Any:
        key = _find_key(self.raw, name)
        return default if key is None else self.raw[key]

    def text(self, name: str) -> str | None:
        value = self.get(name)
        return value if isinstance(value, str) and not is_unresolved(value) else None

    def flag(self, name: str) -> bool | None:
        return as_bool(self.get(name))

    def ptr(self, name: str) -> str:
        key = _find_key(self.raw, name) or name
        return f"{self.pointer}/{_escape(key)}"

    def cite(self, name: str) -> Citation:
        key = _find_key(self.raw, name)
        observed = MISSING if key is None else self.raw[key]
        return Citation(self.resource_id, self.ptr(name), observed)

    def cite_self(self) -> Citation:
        return Citation(self.resource_id, self.pointer or "/", dict(self.raw))

    def child(self, name: str) -> View | None:
        value = self.get(name)
        if isinstance(value, Mapping):
            return View(self.resource_id, self.ptr(name), value)
        return None

    def children(self, name: str) -> Iterator[View]:
        value = self.get(name)
        if isinstance(value, list):
            base = self.ptr(name)
            for index, item in enumerate(value):
                if isinstance(item, Mapping):
                    yield View(self.resource_id, f"{base}/{index}", item)


def resource_view(resource: Mapping[str, Any]) -> View:
    """The whole resource (pointer "")."""
    return View(str(resource.get("id", "")), "", resource)


def properties_view(resource: Mapping[str, Any]) -> View:
    """The resource's ``properties`` object, empty when absent."""
    top = resource_view(resource)
    return top.child("properties") or View(top.resource_id, top.ptr("properties"), {})
