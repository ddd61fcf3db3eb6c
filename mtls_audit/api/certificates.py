"""Certificates as rules read them: the inventory (``ctx.certificate_inventory``), the
service's hostnames and CA store, backend client certificates, Key Vault certificates, facts
read from DER, and distinguished names
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
from mtls_audit.model.service import CaCertificate, Hostname

__all__ = [
    "BackendCertificate",
    "CaCertificate",
    "CertificateEntity",
    "CertificateRole",
    "DistinguishedNameError",
    "DnForm",
    "Hostname",
    "InventoryCertificate",
    "ParsedDn",
    "Rdn",
    "backend_certificates",
    "certificate_facts",
    "expiry_phrase",
    "keyvault_certificate",
    "parse_dn",
]
