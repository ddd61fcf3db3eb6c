"""Certificates as rules read them: the inventory (``ctx.certificate_inventory``), backend
client certificates, Key Vault certificates, facts read from DER, and distinguished names
(:data:`Rdn`: one relative distinguished name, as attribute-value pairs)."""

from mtls_audit.certs.names import DistinguishedNameError, DnForm, ParsedDn, Rdn, parse_dn
from mtls_audit.certs.times import expiry_phrase
from mtls_audit.model.entities import CertificateEntity
from mtls_audit.model.inventory import (
    BackendCertificate,
    CertificateRole,
    InventoryCertificate,
    backend_certificates,
    certificate_facts,
    keyvault_certificate,
)

__all__ = [
    "BackendCertificate",
    "CertificateEntity",
    "CertificateRole",
    "DistinguishedNameError",
    "DnForm",
    "InventoryCertificate",
    "ParsedDn",
    "Rdn",
    "backend_certificates",
    "certificate_facts",
    "expiry_phrase",
    "keyvault_certificate",
    "parse_dn",
]
