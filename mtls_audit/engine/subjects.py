"""What a rule judges: the kinds of subject the engine enumerates for it.

A kind lists each service's ``members`` (the engine first makes sure the collections it and
the rule need were collected for the service, and that the service passes the kind's
``gate``), or a ``population`` spanning the snapshot, or both (the members of each service,
then what lies outside the services). A kind whose subjects span services (one Key Vault
certificate referenced by two services) ``combine``\\ s the members of every service judged.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any, Generic, TypeVar

from mtls_audit.analysis import POLICY_NEEDS, Context
from mtls_audit.analysis.coverage import requests_client_certificates
from mtls_audit.analysis.paths import InboundPath
from mtls_audit.engine.results import Result, not_applicable
from mtls_audit.model.build import Model, ServiceModel
from mtls_audit.model.entities import (
    Api as ApiEntity,
)
from mtls_audit.model.entities import (
    Backend as BackendEntity,
)
from mtls_audit.model.entities import (
    KeyVaultRef,
    secret_name_of,
    vault_url_of,
)
from mtls_audit.model.entities import (
    NamedValue as NamedValueEntity,
)
from mtls_audit.model.entities import (
    Subscription as SubscriptionEntity,
)
from mtls_audit.model.inventory import InventoryCertificate
from mtls_audit.model.probe import ProbeRun
from mtls_audit.model.service import CaCertificate as CaCertificateView
from mtls_audit.model.service import Hostname as HostnameView

T = TypeVar("T")


@dataclass(frozen=True, eq=False)
class SubjectKind(Generic[T]):
    """A kind of subject: ``members`` lists one service's subjects of this kind (a service
    with none is not applicable: "NAME has no ``plural``.", or ``absent`` with ``{name}``,
    citing the service's ``source`` property when named); ``population`` lists subjects of
    the whole snapshot; ``needs`` are the collections every rule of this kind reads; ``gate``
    gives the result of a service whose members are not judged at all; ``combine`` turns the
    members of every judged service into the subjects."""

    name: str
    plural: str
    members: Callable[[ServiceModel, Context], Sequence[Any]] | None = None
    population: Callable[[Context], Sequence[T]] | None = None
    needs: tuple[str, ...] = ()
    gate: Callable[[ServiceModel, Context], Result | None] | None = None
    combine: Callable[[Sequence[Any]], Sequence[T]] | None = None
    absent: str = ""
    source: str = ""

    def __repr__(self) -> str:
        return self.name

    def where(self, keep: Callable[[Any], bool], *, absent: str) -> SubjectKind[T]:
        """The members of this kind that ``keep`` accepts; ``absent`` (with ``{name}``) is
        the not-applicable message of a service with none of them."""
        members = self.members
        if members is None:
            raise ValueError(f"{self.name} subjects span services: they cannot be filtered")
        return replace(
            self,
            members=lambda svc, ctx: [m for m in members(svc, ctx) if keep(m)],
            absent=absent,
        )

    def with_absent(self, absent: str) -> SubjectKind[T]:
        """This kind, saying ``absent`` (with ``{name}``) of a service with no member."""
        return replace(self, absent=absent)

    def unless(self, gate: Callable[[ServiceModel, Context], Result | None]) -> SubjectKind[T]:
        """This kind, with ``gate`` closing a service the kind's own gate leaves open."""
        first = self.gate

        def both(svc: ServiceModel, ctx: Context) -> Result | None:
            return (first(svc, ctx) if first is not None else None) or gate(svc, ctx)

        return replace(self, gate=both)

    def none_in(self, svc: ServiceModel) -> Result:
        """The not-applicable result of a service with no member of this kind."""
        name = svc.service.name
        message = (self.absent or "{name} has no " + self.plural + ".").format(name=name)
        cites = (svc.service.props.cite(self.source),) if self.source else ()
        return not_applicable(svc.id, message, *cites, name=name)


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

Scope: SubjectKind[ServiceModel | Model] = SubjectKind(
    "scope",
    "services",
    members=lambda svc, ctx: (svc,),
    population=lambda ctx: () if ctx.model.services else (ctx.model,),
)
"""What the audit saw: each service, or the snapshot itself when it holds no service."""


def _no_client_certificates(svc: ServiceModel, ctx: Context) -> Result | None:
    if requests_client_certificates(svc) is False:
        name = svc.service.name
        return not_applicable(
            svc.id,
            f"{name} does not request client certificates (see MTLS-GW-01): no certificate "
            "reaches its policies to be validated.",
            name=name,
        )
    return None


ApiPath: SubjectKind[InboundPath] = SubjectKind(
    "API path",
    "APIs",
    members=lambda svc, ctx: ctx.inbound_paths(svc),
    needs=POLICY_NEEDS,
)
"""Each API (or operation, where verdicts differ) on each product path of each service, with
the client-certificate verdict of its effective inbound policy
(:class:`mtls_audit.api.policy.InboundPath`)."""

MtlsPath: SubjectKind[InboundPath] = SubjectKind(
    "mTLS API path",
    "APIs",
    members=ApiPath.members,
    needs=POLICY_NEEDS,
    gate=_no_client_certificates,
)
"""An :data:`ApiPath` of a service that requests client certificates (the others are not
applicable: no certificate reaches their policies)."""

Hostname: SubjectKind[HostnameView] = SubjectKind(
    "hostname",
    "hostnames",
    members=lambda svc, ctx: svc.service.hostnames,
    source="hostnameConfigurations",
)
"""Each hostname configuration of each service (``ctx.service_of(host.view.resource_id)``
is its service)."""

CaCertificate: SubjectKind[CaCertificateView] = SubjectKind(
    "CA certificate",
    "CA certificates",
    members=lambda svc, ctx: svc.service.ca_certificates,
    source="certificates",
)
"""Each certificate of each service's CA store (``properties.certificates``)."""

Api: SubjectKind[ApiEntity] = SubjectKind(
    "API", "APIs in the snapshot", members=lambda svc, ctx: svc.apis, needs=("apis",)
)
"""Each API of each service (:class:`mtls_audit.api.Api`)."""

Backend: SubjectKind[BackendEntity] = SubjectKind(
    "backend", "backend entities", members=lambda svc, ctx: svc.backends, needs=("backends",)
)
"""Each backend entity of each service (:class:`mtls_audit.api.Backend`)."""

Subscription: SubjectKind[SubscriptionEntity] = SubjectKind(
    "subscription",
    "subscriptions in the snapshot",
    members=lambda svc, ctx: svc.subscriptions,
    needs=("subscriptions",),
)
"""Each subscription of each service."""

NamedValue: SubjectKind[NamedValueEntity] = SubjectKind(
    "named value", "named values", members=lambda svc, ctx: svc.named_values, needs=("namedValues",)
)
"""Each named value of each service."""

VaultReference: SubjectKind[KeyVaultRef] = SubjectKind(
    "Key Vault reference",
    "Key Vault references",
    members=lambda svc, ctx: svc.key_vault_refs(),
    needs=("certificates", "namedValues"),
)
"""Each Key Vault reference of each service: hostnames, certificate entities, named values
(:class:`mtls_audit.api.keyvault.KeyVaultRef`)."""


@dataclass(frozen=True)
class VaultCertificateUse:
    """One Key Vault certificate as the services use it: every reference to it and the
    services that make them. A reference that names no vault (an unresolved template
    expression) is a use of its own, with no ``vault_url``."""

    vault_url: str | None
    name: str | None
    secret_url: str | None
    references: tuple[KeyVaultRef, ...]
    services: tuple[ServiceModel, ...]


def _certificate_refs(svc: ServiceModel, ctx: Context) -> list[tuple[ServiceModel, KeyVaultRef]]:
    entities = {c.id for c in svc.certificates}
    return [
        (svc, r)
        for r in svc.key_vault_refs()
        if r.field == "keyVaultId" or r.view.resource_id in entities
    ]


def _certificate_uses(
    pairs: Sequence[tuple[ServiceModel, KeyVaultRef]],
) -> list[VaultCertificateUse]:
    unknown: list[VaultCertificateUse] = []
    known: dict[tuple[str, str], list[tuple[ServiceModel, KeyVaultRef]]] = {}
    for svc, ref in pairs:
        url, name = vault_url_of(ref.secret_identifier), secret_name_of(ref.secret_identifier)
        if url and name and ref.secret_identifier:
            known.setdefault((url, name.lower()), []).append((svc, ref))
        else:
            unknown.append(VaultCertificateUse(None, None, None, (ref,), (svc,)))
    return unknown + [
        VaultCertificateUse(
            url,
            name,
            uses[0][1].secret_identifier,
            tuple(ref for _, ref in uses),
            tuple({svc.id: svc for svc, _ in uses}.values()),
        )
        for (url, name), uses in known.items()
    ]


VaultCertificate: SubjectKind[VaultCertificateUse] = SubjectKind(
    "Key Vault certificate",
    "Key Vault certificates",
    members=_certificate_refs,
    needs=("certificates",),
    combine=_certificate_uses,
    absent="{name} references no Key Vault certificate.",
)
"""Each Key Vault certificate the services reference (hostnames, certificate entities), once
however many services use it (:class:`VaultCertificateUse`)."""

NO_PROBE = "no probe ran (run `mtls-audit probe` or `scan --probe` to test the live gateway)"


@dataclass(frozen=True)
class Probed:
    """What the live probe recorded about one subject: a service of the snapshot
    (``service``), or a probed URL outside them (``service`` None; ``subject`` names it)."""

    subject: str
    name: str
    run: ProbeRun
    service: ServiceModel | None


def _probe_gate(svc: ServiceModel, ctx: Context) -> Result | None:
    if ctx.model.probe is not None:
        return None
    name = svc.service.name
    return not_applicable(svc.id, f"{name}: {NO_PROBE}.", name=name)


def _probed_service(svc: ServiceModel, ctx: Context) -> tuple[Probed, ...]:
    run = ctx.model.probe
    return () if run is None else (Probed(svc.id, svc.service.name, run, svc),)


def _probed_elsewhere(ctx: Context) -> list[Probed]:
    run = ctx.model.probe
    if run is None:
        return []
    known = {svc.id for svc in ctx.model.services}
    return [Probed(s, s, run, None) for s in run.services() if s not in known]


ProbeSubject: SubjectKind[Probed] = SubjectKind(
    "probed service",
    "probes",
    members=_probed_service,
    population=_probed_elsewhere,
    gate=_probe_gate,
)
"""Each service as the live probe saw it, then each probed URL outside the snapshot's
services (:class:`Probed`); services are not applicable when no probe ran."""
