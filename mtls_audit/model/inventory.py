"""The certificate inventory: every certificate the snapshot knows, where it is used."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from mtls_audit.model import ids
from mtls_audit.model.build import Model
from mtls_audit.model.cite import Citation
from mtls_audit.model.json_view import same


@dataclass(frozen=True, slots=True)
class InventoryCertificate:
    kind: str  # hostname | ca | entity | keyvault | gateway-ca
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


def certificate_inventory(model: Model) -> tuple[InventoryCertificate, ...]:
    out: list[InventoryCertificate] = []
    for svc in model.services:
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
            out.append(
                InventoryCertificate(
                    "hostname",
                    svc.id,
                    f"hostname:{host.host_name.lower()}",
                    host.host_name,
                    info.thumbprint if info else None,
                    info.subject if info else None,
                    info.expiry if info else None,
                    source,
                    host.key_vault_id,
                    host.view.text("certificateStatus"),
                    info.view.cite("expiry") if info else host.view.cite("certificate"),
                    (svc.id,),
                )
            )
        for ca in svc.service.ca_certificates:
            info = ca.certificate
            thumb = info.thumbprint if info else None
            out.append(
                InventoryCertificate(
                    "ca",
                    svc.id,
                    f"ca:{(thumb or ca.view.pointer).upper()}",
                    (info.subject if info else None) or "CA certificate",
                    thumb,
                    info.subject if info else None,
                    info.expiry if info else None,
                    "uploaded",
                    None,
                    None,
                    info.view.cite("expiry") if info else ca.view.cite("certificate"),
                    (svc.id,),
                )
            )
        users: dict[str, list[str]] = {}
        for backend in svc.backends:
            creds = backend.credentials
            for cert_id in (creds.get("certificateIds") if creds else None) or []:
                users.setdefault(ids.key(str(cert_id)), []).append(backend.id)
        for cert in svc.certificates:
            ref = cert.key_vault
            status = ref.last_status.text("code") if ref and ref.last_status else None
            out.append(
                InventoryCertificate(
                    "entity",
                    cert.id,
                    "",
                    cert.name,
                    cert.thumbprint,
                    cert.subject,
                    cert.expiry,
                    "keyvault" if ref and ref.secret_identifier else "uploaded",
                    ref.secret_identifier if ref else None,
                    status,
                    cert.props.cite("expirationDate"),
                    tuple(users.get(ids.key(cert.id), ())),
                )
            )
    for kvc in model.keyvault_certificates:
        props = kvc.properties
        out.append(
            InventoryCertificate(
                "keyvault",
                kvc.subject_id,
                "",
                kvc.name,
                props.text("x509_thumbprint"),
                None,
                kvc.expiry,
                "keyvault",
                kvc.subject_id,
                None,
                props.cite("expires_on"),
            )
        )
    return tuple(out)
