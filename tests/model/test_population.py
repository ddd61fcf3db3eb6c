"""What the model says when there is nothing to audit, and which gaps can change a verdict."""

from __future__ import annotations

from typing import Any

import pytest

from mtls_audit.model.population import nothing_to_audit
from mtls_audit.model.relevance import matters

SVC = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.ApiManagement/service/apim1"
KV = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.KeyVault/vaults/kv1"
ST = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/st1"
TYPES = {
    SVC.lower(): "microsoft.apimanagement/service",
    f"{SVC}/backends/b1".lower(): "microsoft.apimanagement/service/backends",
    KV.lower(): "microsoft.keyvault/vaults",
    ST.lower(): "microsoft.storage/storageaccounts",
}


def resource(rid: str, rtype: str) -> dict[str, Any]:
    return {"id": rid, "type": rtype, "name": rid.rsplit("/", 1)[-1]}


def test_a_service_is_something_to_audit() -> None:
    assert nothing_to_audit([resource(SVC, "Microsoft.ApiManagement/service")], 0) is None


def test_what_was_found_instead_is_named_most_frequent_first() -> None:
    found = [
        resource(ST, "Microsoft.Storage/storageAccounts"),
        resource(f"{SVC}/backends/a", "Microsoft.ApiManagement/service/backends"),
        resource(f"{SVC}/backends/b", "microsoft.apimanagement/service/backends"),
    ]
    assert nothing_to_audit(found, 2) == (
        "found 2 Microsoft.ApiManagement/service/backends resources, 1 "
        "Microsoft.Storage/storageAccounts resource, 2 gaps; no Microsoft.ApiManagement/service "
        "(the input has parts of apim1 but not the service itself: add its export with another "
        "--from-file): nothing to audit"
    )


def test_an_empty_input() -> None:
    assert nothing_to_audit([], 0) == (
        "found no resources; no Microsoft.ApiManagement/service: nothing to audit"
    )


@pytest.mark.parametrize(
    ("subject", "prop", "expected"),
    [
        (SVC, "/properties/publisherEmail", False),
        (SVC, "/location", False),
        (SVC, "/tags/owner", False),
        (SVC, "/properties/hostnameConfigurations/1/certificatePassword", False),
        (SVC, "/properties/hostnameConfigurations/1/hostName", True),
        (SVC, "/properties/customProperties", True),
        (SVC, "/name", True),
        (KV, "/properties/tenantId", False),
        (KV, "/properties/accessPolicies/0/tenantId", False),
        (KV, "/properties/accessPolicies/0/objectId", True),
        (f"{SVC}/backends/b1", "/properties/url", True),
        (ST, "/properties/minimumTlsVersion", False),
        (ST, "/name", False),
        (f"{SVC}/apis/unknown-resource", "/properties/serviceUrl", True),
    ],
)
def test_a_gap_matters_when_a_rule_reads_its_property(
    subject: str, prop: str, expected: bool
) -> None:
    assert matters({"subject": subject, "property": prop}, TYPES) is expected


def test_a_gap_not_about_one_property_always_matters() -> None:
    assert matters({"subject": ST, "what": "resource"}, TYPES)
    assert matters({"subject": "main.json", "property": "/x"}, TYPES)
