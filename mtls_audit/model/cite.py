"""What a result cites: a value inside a resource, or a line of a policy."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class Citation:
    """An observed value: the resource, the JSON pointer inside it and the value seen there.

    ``observed`` is ``MISSING`` when the property is absent (absent and null differ in ARM).
    """

    resource_id: str
    pointer: str
    observed: Any

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"resource_id": self.resource_id, "pointer": self.pointer}
        if self.observed is MISSING:
            out["absent"] = True
        else:
            out["observed"] = self.observed
        return out


@dataclass(frozen=True, slots=True)
class PolicyCitation:
    """A place in a policy document: its scope, resource, line and a short excerpt."""

    resource_id: str
    scope: str
    line: int
    excerpt: str

    def to_json(self) -> dict[str, Any]:
        return {
            "resource_id": self.resource_id,
            "scope": self.scope,
            "line": self.line,
            "excerpt": self.excerpt,
        }


class _Missing:
    """The marker for an absent property (a singleton that serialises as nothing)."""

    _instance: _Missing | None = None

    def __new__(cls) -> _Missing:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "MISSING"

    def __bool__(self) -> bool:
        return False


MISSING: Any = _Missing()

Evidence = Citation | PolicyCitation
