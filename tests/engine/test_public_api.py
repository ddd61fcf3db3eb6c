"""The public rule API is a contract: its names change only on purpose."""

from __future__ import annotations

import mtls_audit.api as api

PINNED = {
    "MISSING",
    "AccessVerdict",
    "Backend",
    "BackendCertificate",
    "Citation",
    "Evidence",
    "Gap",
    "IdentityStatus",
    "InventoryCertificate",
    "Lifecycle",
    "Model",
    "Options",
    "PolicyCitation",
    "ReferenceIdentity",
    "Result",
    "Rule",
    "ServiceModel",
    "Severity",
    "Status",
    "Tier",
    "Vault",
    "VaultUse",
    "View",
    "access_evidence",
    "as_bool",
    "backend_certificates",
    "certificate_facts",
    "certificate_inventory",
    "days_left",
    "effective_policies",
    "failed",
    "find_vault",
    "indeterminate",
    "is_unresolved",
    "keyvault_certificate",
    "not_applicable",
    "parse_time",
    "passed",
    "reference_identities",
    "rule",
    "same",
    "secret_name_of",
    "secret_version_of",
    "vault_access",
    "vault_url_of",
    "vault_uses",
}


def test_exported_names_are_pinned() -> None:
    assert set(api.__all__) == PINNED


def test_every_exported_name_exists() -> None:
    for name in api.__all__:
        assert hasattr(api, name), name
