"""The resources a live collection keeps, with secret values removed on the way in.

Redaction is the snapshot's own (:mod:`mtls_audit.redaction`), applied as each body arrives so
that no secret is held in the collection's results at all (the APIM subscription keys too,
which a GET should not return but would be secrets if it did).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from mtls_audit.redaction import Redactor

Json = dict[str, Any]


class Store:
    """Resources by id (ARM ids are case-insensitive), each kept once."""

    def __init__(self) -> None:
        self._by_id: dict[str, Json] = {}
        self.redactor = Redactor()

    def add(self, resource: Json) -> Json:
        clean = self.redactor.resource(resource)
        self._by_id[str(clean.get("id", "")).lower()] = clean
        return clean

    def add_all(self, resources: Iterable[Json]) -> list[Json]:
        return [self.add(resource) for resource in resources]

    def of_type(self, resource_type: str) -> list[Json]:
        wanted = resource_type.lower()
        return [r for r in self._by_id.values() if str(r.get("type", "")).lower() == wanted]

    def resources(self) -> list[Json]:
        return [self._by_id[key] for key in sorted(self._by_id)]
