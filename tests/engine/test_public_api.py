"""The public rule API is a contract: its names change only on purpose."""

from __future__ import annotations

import mtls_audit.api as api

PINNED = {
    "MISSING",
    "Citation",
    "Evidence",
    "Gap",
    "InventoryCertificate",
    "Lifecycle",
    "Model",
    "Options",
    "PolicyCitation",
    "Result",
    "Rule",
    "ServiceModel",
    "Severity",
    "Status",
    "Tier",
    "View",
    "as_bool",
    "certificate_inventory",
    "days_left",
    "failed",
    "indeterminate",
    "is_unresolved",
    "not_applicable",
    "parse_time",
    "passed",
    "rule",
    "same",
    "secret_name_of",
    "secret_version_of",
    "vault_url_of",
}


def test_exported_names_are_pinned() -> None:
    assert set(api.__all__) == PINNED


def test_every_exported_name_exists() -> None:
    for name in api.__all__:
        assert hasattr(api, name), name
