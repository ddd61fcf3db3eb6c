"""The certificate inventory: every certificate the snapshot knows, and where it is used.

Subjects and issuers come from ARM where it reports them, and from the public certificate where
the snapshot holds one (a Key Vault certificate's ``cer``, a CA entry's ``encodedCertificate``).
Backend client certificates are resolved here too (:func:`backend_certificates`), so that the
inventory's ``used_by`` and the backend rules agree on which certificate a backend names.
"""

from __future__ import annotations

import enum
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import TYPE_CHECKING

from mtls_audit.model import ids
from mtls_audit.model.build import Model, ServiceModel
from mtls_audit.model.cite import Citation
from mtls_audit.model.entities import (
    Backend,
    CertificateEntity,
    KeyVaultCertificate,
    secret_name_of,
    vault_url_of,
)
from mtls_audit.model.json_view import same

if TYPE_CHECKING:
    from mtls_audit.certs.facts import CertificateFacts


class CertificateRole(enum.StrEnum):
    """What a service uses a certificate as, beyond the kind of entry it is."""

    GATEWAY_TLS = "gateway-tls"  # a hostname's server certificate (managed or self-hosted)
    GATEWAY_CA = "gateway-ca"  # a self-hosted gateway's certificate authority
    BACKEND_CLIENT = "backend-client"  # a client certificate a backend presents


@dataclass(frozen=True, slots=True)
class InventoryCertificate:
    """One certificate the snapshot shows, with where it is used and its facts."""

    kind: str  # hostname | ca | entity | keyvault
    subject_id: str  # the resource (or Key Vault URL) a result about it names
    key: str  # tells it apart from other certificates of the same subject
    name: str
    thumbprint: str | None
    subject: str | None
    expiry: datetime | None
    source: str  # keyvault | uploaded | managed | builtin | unknown
    key_vault_ref: str | None
    refresh_status: str | None
    citation: Citation  # where the expiry was read
    used_by: tuple[str, ...] = ()
    issuer: str | None = None
    is_ca: bool | None = None  # from basic constraints, or the store it sits in; None: unknown
    roles: tuple[CertificateRole, ...] = ()  # what the service uses it as


@dataclass(frozen=True, slots=True)
class BackendCertificate:
    """One client certificate a backend entity names, and the certificate entity it resolves to.

    ``reference`` is a ``credentials.certificateIds`` entry or, when there are none, a
    ``credentials.certificate`` thumbprint (APIM ignores thumbprints when ids are given); for a
    Service Fabric backend also the cluster's ``clientCertificateId`` (or thumbprint).
    """

    backend: Backend
    reference: str
    by_thumbprint: bool
    citation: Citation
    certificate: CertificateEntity | None


@lru_cache(maxsize=256)
def _facts(encoded: str) -> CertificateFacts | None:
    from mtls_audit.certs.facts import CertificateError, CertificateFacts, load_certificate

    # Imported on the first certificate read: a snapshot without one never loads cryptography.

    try:
        return CertificateFacts.from_certificate(load_certificate(encoded))
    except CertificateError:
        return None


def certificate_facts(encoded: object) -> CertificateFacts | None:
    """The facts of a public certificate given as base64 DER (or PEM) text; None when absent or
    unreadable."""
    return _facts(encoded) if isinstance(encoded, str) and encoded.strip() else None


def keyvault_certificate(model: Model, secret_url: str | None) -> KeyVaultCertificate | None:
    """The Key Vault certificate behind a secret URL (a certificate's secret shares its name)."""
    vault, name = vault_url_of(secret_url), secret_name_of(secret_url)
    if vault is None or name is None:
        return None
    return next(
        (c for c in model.keyvault_certificates if c.vault_url == vault and same(c.name, name)),
        None,
    )


def backend_certificates(svc: ServiceModel) -> tuple[BackendCertificate, ...]:
    """Every client certificate the service's backend entities name, in backend order."""
    out: list[BackendCertificate] = []
    for backend in svc.backends:
        fabric = backend.service_fabric
        client = fabric.client_certificate if fabric else None
        if client is not None:  # presented to the cluster's management endpoint
            found = _resolve(svc.certificates, client.reference, client.by_thumbprint)
            out.append(
                BackendCertificate(
                    backend, client.reference, client.by_thumbprint, client.citation, found
                )
            )
        creds = backend.credentials
        if creds is None:
            continue
        by_thumbprint = not _strings(creds.get("certificateIds"))
        field = "certificate" if by_thumbprint else "certificateIds"
        for index, reference in _strings(creds.get(field)):
            out.append(
                BackendCertificate(
                    backend,
                    reference,
                    by_thumbprint,
                    Citation(backend.id, f"{creds.ptr(field)}/{index}", reference),
                    _resolve(svc.certificates, reference, by_thumbprint),
                )
            )
    return tuple(out)


def _strings(value: object) -> list[tuple[int, str]]:
    if not isinstance(value, list):
        return []
    return [(i, v) for i, v in enumerate(value) if isinstance(v, str) and v.strip()]


def _resolve(
    certificates: tuple[CertificateEntity, ...], reference: str, by_thumbprint: bool
) -> CertificateEntity | None:
    """A thumbprint matches case-insensitively; an id matches the entity's full id, or its name
    when the reference is not a full ARM id."""
    wanted = reference.strip()
    for cert in certificates:
        if by_thumbprint:
            if cert.thumbprint and same(cert.thumbprint.strip(), wanted):
                return cert
        elif ids.key(wanted) == ids.key(cert.id) or (
            "/providers/" not in wanted.lower() and same(cert.name, ids.last_name(wanted))
        ):
            return cert
    return None


def certificate_inventory(model: Model) -> tuple[InventoryCertificate, ...]:
    out: list[InventoryCertificate] = []
    for svc in model.services:
        out += _hostnames(svc)
        out += _ca_store(svc)
        out += _entities(svc)
    out += _keyvault(model)
    return tuple(out)


def _hostnames(svc: ServiceModel) -> Iterator[InventoryCertificate]:
    for host in svc.service.hostnames:
        info = host.certificate
        if host.is_builtin and info is None:
            continue
        source = (
            "keyvault"
            if host.key_vault_id
            else "managed"
            if same(host.view.get("certificateSource"), "Managed")
            else "builtin"
            if host.is_builtin
            else "uploaded"
        )
        yield InventoryCertificate(
            kind="hostname",
            subject_id=svc.id,
            key=f"hostname:{host.host_name.lower()}",
            name=host.host_name,
            thumbprint=info.thumbprint if info else None,
            subject=info.subject if info else None,
            expiry=info.expiry if info else None,
            source=source,
            key_vault_ref=host.key_vault_id,
            refresh_status=host.view.text("certificateStatus"),
            citation=info.view.cite("expiry") if info else host.view.cite("certificate"),
            used_by=(svc.id,),
            roles=(CertificateRole.GATEWAY_TLS,),
        )


def _ca_store(svc: ServiceModel) -> Iterator[InventoryCertificate]:
    for ca in svc.service.ca_certificates:
        info = ca.certificate
        facts = certificate_facts(ca.view.get("encodedCertificate"))
        thumb = (info.thumbprint if info else None) or (facts.thumbprint if facts else None)
        subject = (info.subject if info else None) or (facts.subject if facts else None)
        yield InventoryCertificate(
            kind="ca",
            subject_id=svc.id,
            key=f"ca:{(thumb or ca.view.pointer).upper()}",
            name=subject or "CA certificate",
            thumbprint=thumb,
            subject=subject,
            expiry=info.expiry if info else None,
            source="uploaded",
            key_vault_ref=None,
            refresh_status=None,
            citation=info.view.cite("expiry") if info else ca.view.cite("certificate"),
            used_by=(svc.id,),
            issuer=facts.issuer if facts else None,
            # The store holds trust anchors; a leaf is there only as a self-signed client
            # certificate trusted directly, which its basic constraints tell.
            is_ca=facts.is_ca if facts else True,
        )


def _entities(svc: ServiceModel) -> Iterator[InventoryCertificate]:
    users: dict[str, list[str]] = {}
    for use in backend_certificates(svc):
        if use.certificate is not None:
            users.setdefault(ids.key(use.certificate.id), []).append(use.backend.id)
    # A gateway's certificate authority is named by the certificate entity's id; a gateway
    # hostname names its server certificate by resource id.
    gateway_cas = {ids.last_name(ca.id).lower() for ca in svc.gateway_cas}
    gateway_tls = {
        ids.last_name(named).lower()
        for host in svc.gateway_hostnames
        if (named := host.props.text("certificateId"))
    }
    for cert in svc.certificates:
        ref = cert.key_vault
        status = ref.last_status.text("code") if ref and ref.last_status else None
        name = cert.name.lower()
        roles = (
            (CertificateRole.GATEWAY_CA,) * (name in gateway_cas)
            + (CertificateRole.GATEWAY_TLS,) * (name in gateway_tls)
            + (CertificateRole.BACKEND_CLIENT,) * (ids.key(cert.id) in users)
        )
        yield InventoryCertificate(
            kind="entity",
            subject_id=cert.id,
            key="",
            name=cert.name,
            thumbprint=cert.thumbprint,
            subject=cert.subject,
            expiry=cert.expiry,
            source="keyvault" if ref and (ref.secret_identifier or ref.unresolved) else "uploaded",
            key_vault_ref=ref.secret_identifier if ref else None,
            refresh_status=status,
            citation=cert.props.cite("expirationDate"),
            used_by=tuple(dict.fromkeys(users.get(ids.key(cert.id), ()))),
            is_ca=True if CertificateRole.GATEWAY_CA in roles else None,
            roles=roles,
        )


def _keyvault(model: Model) -> Iterator[InventoryCertificate]:
    users: dict[tuple[str, str], list[str]] = {}
    for svc in model.services:
        for ref in svc.key_vault_refs():
            vault, name = vault_url_of(ref.secret_identifier), secret_name_of(ref.secret_identifier)
            if vault and name:
                users.setdefault((vault, name.lower()), []).append(ref.view.resource_id)
    for kvc in model.keyvault_certificates:
        props = kvc.properties
        facts = certificate_facts(kvc.raw.get("cer"))
        yield InventoryCertificate(
            kind="keyvault",
            subject_id=kvc.subject_id,
            key="",
            name=kvc.name,
            thumbprint=props.text("x509_thumbprint") or (facts.thumbprint if facts else None),
            subject=facts.subject if facts else None,
            expiry=kvc.expiry,
            source="keyvault",
            key_vault_ref=kvc.subject_id,
            refresh_status=None,
            citation=props.cite("expires_on"),
            used_by=tuple(dict.fromkeys(users.get((kvc.vault_url, kvc.name.lower()), ()))),
            issuer=facts.issuer if facts else None,
            is_ca=facts.is_ca if facts else None,
        )
