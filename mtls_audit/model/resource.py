"""The base of every typed view: an ARM resource's wire JSON, read case-insensitively."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from mtls_audit.model.json_view import View, properties_view, resource_view


@dataclass(frozen=True, slots=True)
class Entity:
    """Any ARM resource: its wire JSON, with case-insensitive views."""

    raw: Mapping[str, Any]
    id: str = field(init=False, repr=False, compare=False)
    """The resource id, read once: a large run asks for it hundreds of thousands of times."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "id", str(self.raw.get("id", "")))

    @property
    def name(self) -> str:
        return str(self.raw.get("name", ""))

    @property
    def view(self) -> View:
        return resource_view(self.raw)

    @property
    def props(self) -> View:
        return properties_view(self.raw)

    @property
    def display_name(self) -> str:
        return self.props.text("displayName") or self.name
