"""The certificate inventory's issuers, subjects and users, and backend certificate resolution."""

from __future__ import annotations

import base64
from typing import Any

from mtls_audit.certs.facts import thumbprint
from mtls_audit.model import build_model
from mtls_audit.model.inventory import (
    backend_certificates,
    certificate_facts,
    certificate_inventory,
    keyvault_certificate,
)
from tests.certs.factory import mint_intermediate, mint_leaf, mint_root
from tests.rules.builder import SERVICE_ID, child, snapshot

KV = "https://kv-test.vault.azure.net"
CERTS = f"{SERVICE_ID}/certificates"
THUMB = "0123456789ABCDEF0123456789ABCDEF01234567"


def b64(der: bytes) -> str:
    return base64.b64encode(der).decode("ascii")


def test_key_vault_certificates_get_subject_issuer_and_users() -> None:
    root = mint_root("CN=Test Root,O=Example")
    leaf = mint_leaf(mint_intermediate(root, "CN=Issuing CA,O=Example"), "CN=api.example.org")
    service = {
        "properties": {
            "hostnameConfigurations": [
                {"type": "Proxy", "hostName": "api.example.org", "keyVaultId": f"{KV}/secrets/GW"}
            ]
        }
    }
    resources = [
        child("certificates/gw", {"keyVault": {"secretIdentifier": f"{KV}/secrets/gw/0a1b"}}),
        child("namedValues/other", {"keyVault": {"secretIdentifier": f"{KV}/secrets/other"}}),
    ]
    keyvault = {KV: {"certificates": {"gw": {"properties": {}, "cer": b64(leaf.der)}}}}
    model = build_model(snapshot(service, resources, keyvault=keyvault))
    [entry] = [c for c in certificate_inventory(model) if c.kind == "keyvault"]
    assert entry.subject == "CN=api.example.org"
    assert entry.issuer == "CN=Issuing CA, O=Example"
    assert entry.thumbprint == thumbprint(leaf.cert)
    assert entry.used_by == (SERVICE_ID, f"{CERTS}/gw")
    assert keyvault_certificate(model, f"{KV}/secrets/Gw/0a1b") is model.keyvault_certificates[0]
    assert keyvault_certificate(model, f"{KV}/secrets/other") is None
    assert keyvault_certificate(model, "not a url") is None


def test_key_vault_thumbprint_from_properties_wins_and_bad_cer_is_ignored() -> None:
    certificates = {
        "gw": {"properties": {"x509_thumbprint": THUMB}},
        "bad": {"properties": {}, "cer": "bm90IGEgY2VydA=="},
    }
    keyvault = {KV: {"certificates": certificates}}
    model = build_model(snapshot(None, [], keyvault=keyvault))
    entries = {c.name: c for c in certificate_inventory(model) if c.kind == "keyvault"}
    assert (entries["gw"].thumbprint, entries["gw"].issuer) == (THUMB, None)
    assert (entries["bad"].subject, entries["bad"].issuer, entries["bad"].used_by) == (
        None,
        None,
        (),
    )


def test_ca_entries_read_issuer_from_their_public_certificate() -> None:
    root = mint_root("CN=Test Root,O=Example")
    issuing = mint_intermediate(root, "CN=Issuing CA,O=Example")
    service = {
        "properties": {
            "certificates": [
                {"storeName": "CertificateAuthority", "encodedCertificate": b64(issuing.der)},
                {"storeName": "Root", "certificate": {"subject": "CN=Old", "thumbprint": "AB"}},
            ]
        }
    }
    model = build_model(snapshot(service))
    first, second = [c for c in certificate_inventory(model) if c.kind == "ca"]
    assert (first.subject, first.issuer) == ("CN=Issuing CA, O=Example", "CN=Test Root, O=Example")
    assert first.key == f"ca:{thumbprint(issuing.cert)}"
    assert (second.subject, second.issuer, second.key) == ("CN=Old", None, "ca:AB")


def backend(name: str, credentials: dict[str, Any]) -> dict[str, Any]:
    return child(f"backends/{name}", {"url": "https://b.example.org", "credentials": credentials})


def test_backend_certificates_resolve_by_id_name_or_thumbprint() -> None:
    resources = [
        child("certificates/client", {"thumbprint": THUMB}),
        backend("full-id", {"certificateIds": [f"{CERTS}/CLIENT"], "certificate": ["FF"]}),
        backend("by-name", {"certificateIds": ["client"]}),
        backend("by-thumbprint", {"certificate": [THUMB.lower()]}),
        backend("other-service", {"certificateIds": [f"{SERVICE_ID}x/certificates/client"]}),
        backend("none", {"certificateIds": [], "certificate": []}),
    ]
    svc = build_model(snapshot(None, resources)).services[0]
    found = backend_certificates(svc)
    assert [(u.backend.name, u.by_thumbprint, u.certificate is not None) for u in found] == [
        ("full-id", False, True),
        ("by-name", False, True),
        ("by-thumbprint", True, True),
        ("other-service", False, False),
    ]
    assert found[2].citation.pointer == "/properties/credentials/certificate/0"
    [entity] = certificate_inventory(build_model(snapshot(None, resources)))
    users = ("full-id", "by-name", "by-thumbprint")
    assert entity.used_by == tuple(f"{SERVICE_ID}/backends/{name}" for name in users)


def test_certificate_facts_of_absent_or_unreadable_text_are_none() -> None:
    assert certificate_facts(None) is None
    assert certificate_facts("  ") is None
    assert certificate_facts("not base64!") is None
    leaf = mint_leaf(mint_root(), "CN=leaf")
    facts = certificate_facts(b64(leaf.der))
    assert facts is not None
    assert facts.subject == "CN=leaf"
