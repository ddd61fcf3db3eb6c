"""The APIOps sample artifacts (Azure/apiops, read in place) joined to a hand-written service."""

from __future__ import annotations

import json
from pathlib import Path

from mtls_audit.sources.files import FilesSource
from mtls_audit.workflow import AssessOptions, assess
from tests.conftest import CORPORA, needs_shared

SAMPLE = CORPORA / "apim-samples" / "apiops__SampleArtifacts"
pytestmark = needs_shared(SAMPLE)

SERVICE = (
    "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/offline/providers/"
    "Microsoft.ApiManagement/service/apim-sample"
)


def test_the_sample_artifacts_are_read_and_judged(tmp_path: Path) -> None:
    service = {
        "id": SERVICE,
        "type": "Microsoft.ApiManagement/service",
        "name": "apim-sample",
        "sku": {"name": "Developer", "capacity": 1},
        "properties": {
            "createdAtUtc": "2024-01-01T00:00:00Z",
            "hostnameConfigurations": [
                {
                    "type": "Proxy",
                    "hostName": "api.sample.example",
                    "negotiateClientCertificate": True,
                }
            ],
        },
    }
    export = tmp_path / "service.json"
    export.write_text(json.dumps([service]), encoding="utf-8")
    document = FilesSource([export, SAMPLE]).load()
    assert document["gaps"] == []
    # operations: 4 with a policy folder, 3 more named only by an OpenAPI specification
    counts: dict[str, int] = {}
    for resource in document["resources"]:
        kind = resource["type"].removeprefix("Microsoft.ApiManagement/service").lstrip("/")
        counts[kind] = counts.get(kind, 0) + 1
    assert {
        k: counts.get(k, 0)
        for k in (
            "apis",
            "apis/operations",
            "policies",
            "apis/policies",
            "apis/operations/policies",
            "products/policies",
            "policyFragments",
            "namedValues",
            "backends",
            "products/apis",
            "subscriptions",
        )
    } == {
        "apis": 8,
        "apis/operations": 7,
        "policies": 1,
        "apis/policies": 2,
        "apis/operations/policies": 4,
        "products/policies": 2,
        "policyFragments": 2,
        "namedValues": 4,
        "backends": 2,
        "products/apis": 7,
        "subscriptions": 2,
    }
    outcome = assess(document, "0" * 64, AssessOptions())
    results = outcome.evidence["results"]

    def status(rule: str, tail: str) -> set[str]:
        return {
            r["status"] for r in results if r["rule_id"] == rule and r["resource_id"].endswith(tail)
        }

    # No policy validates client certificates: every path to the backend is a coverage failure.
    assert status("MTLS-IN-01", "/apis/graphql-api") == {"fail"}
    assert status("MTLS-IN-02", "/apis/basic-api/operations/get-items") == {"fail"}
    # subscription2 (scope /apis/basic-api) allows tracing; subscription1 does not.
    assert status("MTLS-LEAK-04", "/subscriptions/subscription2") == {"fail"}
    # basic-api's inbound section has no <base/>: the global policy is dropped there.
    assert status("MTLS-IN-12", "/apis/basic-api") == {"fail"}
    # set-backend-service base-url="{{intranet-proxy-url}}": a named value (its serviceUrl passes)
    assert "indeterminate" in status("MTLS-OUT-01", "/apis/revisioned-api;rev=2")
    assert outcome.gate.exit_code == 1
