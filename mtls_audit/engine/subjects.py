"""What a rule judges: the kinds of subject the engine enumerates for it."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

from mtls_audit.analysis import Context
from mtls_audit.model.build import Model, ServiceModel
from mtls_audit.model.inventory import InventoryCertificate

T = TypeVar("T")


@dataclass(frozen=True, eq=False)
class SubjectKind(Generic[T]):
    """A kind of subject: ``members`` lists one service's subjects of this kind, and
    ``plural`` names them in the not-applicable result of a service that has none; a kind
    that spans services (a certificate shared by several) has ``population`` instead, the
    subjects of the whole snapshot."""

    name: str
    plural: str
    members: Callable[[ServiceModel, Context], Sequence[T]] | None = None
    population: Callable[[Context], Sequence[T]] | None = None

    def __repr__(self) -> str:
        return self.name


Service: SubjectKind[ServiceModel] = SubjectKind(
    "service", "services", members=lambda svc, ctx: (svc,)
)
"""The whole service: ``judge(service, ctx)`` is called once per APIM service."""

Snapshot: SubjectKind[Model] = SubjectKind(
    "snapshot", "snapshots", population=lambda ctx: (ctx.model,)
)
"""The snapshot as a whole: ``judge(model, ctx)`` is called once (e.g. completeness)."""

Certificate: SubjectKind[InventoryCertificate] = SubjectKind(
    "certificate", "certificates", population=lambda ctx: ctx.certificate_inventory
)
"""Each certificate the snapshot shows, once (hostnames, CA store, entities, Key Vault)."""
