"""Every public template and export of the shared corpora is assessed without aborting."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from mtls_audit import workflow
from mtls_audit.errors import InputError
from mtls_audit.sources.files import FilesSource
from mtls_audit.workflow import AssessOptions
from tests.conftest import CORPORA, needs_shared

pytestmark = needs_shared(CORPORA)


def templates_and_exports() -> list[Path]:
    if not CORPORA.is_dir():
        return []
    return sorted(
        p
        for p in (CORPORA / "apim-samples").rglob("*.json")
        if "apiops__" not in p.as_posix()  # APIOps artifacts: not ARM (read by their own source)
    ) + sorted((CORPORA / "peer-tests").rglob("*.json"))


def assessed(paths: list[Path]) -> dict[str, Any]:
    document = FilesSource(paths).load()
    return workflow.assess(document, "0" * 64, AssessOptions()).evidence


@pytest.mark.parametrize(
    "path", templates_and_exports(), ids=lambda p: p.relative_to(CORPORA).as_posix()
)
def test_a_corpus_file_is_assessed_or_refused_by_name(path: Path) -> None:
    refusal = ""
    try:
        evidence = assessed([path])
    except InputError as exc:  # a file that is no ARM input: refused with its name, exit 2
        refusal = str(exc)
    if refusal:
        assert refusal.startswith(str(path))
    else:
        assert evidence["summary"]["gate"]["exit_code"] in (0, 1, 3)


def test_microsoft_example_bodies_assess_together(tmp_path: Path) -> None:
    """The REST API examples of one service, joined: the Service Fabric backend is judged by
    its management endpoint and cluster certificate, not as "not https"."""
    bodies = []
    for example in sorted((CORPORA / "arm-examples").glob("*.json")):
        body = json.loads(example.read_text(encoding="utf-8"))["responses"]["200"]["body"]
        bodies += body.get("value", [body])
    path = tmp_path / "examples.json"
    path.write_text(json.dumps(bodies), encoding="utf-8")
    evidence = assessed([path])
    results = evidence["results"]
    fabric = {r["rule_id"]: r for r in results if r["resource_id"].endswith("/backends/sfbackend")}
    assert fabric["MTLS-OUT-01"]["status"] == "pass"
    assert re.search(r"management endpoints? over HTTPS", fabric["MTLS-OUT-01"]["message"])
    assert fabric["MTLS-OUT-03"]["status"] == "pass"
    assert "to the Service Fabric cluster" in fabric["MTLS-OUT-03"]["message"]


def test_a_backend_module_alone_is_nothing_to_audit() -> None:
    """The AVM backend module declares a backend of a service it does not hold."""
    evidence = assessed([CORPORA / "apim-samples" / "brm-avm-apim" / "backend" / "main.json"])
    [error] = evidence["errors"]
    assert error["kind"] == "nothing-to-audit"
    assert "Microsoft.ApiManagement/service/backends" in error["message"]
    assert evidence["summary"]["gate"]["exit_code"] == 3


def test_a_quickstart_that_does_not_negotiate_fails_gw01() -> None:
    """The hostname quickstart sets negotiateClientCertificate false on both proxy hosts."""
    name = "aqt__api-management-create-with-hostname__azuredeploy.json"
    evidence = assessed([CORPORA / "apim-samples" / "quickstarts" / name])
    statuses = {r["rule_id"]: r["status"] for r in evidence["results"]}
    assert statuses["MTLS-GW-01"] == "fail"
    assert statuses["MTLS-EVID-01"] == "fail"  # the hostnames are parameters without values


def test_the_avm_backend_module_with_a_service_judges_a_service_fabric_backend(
    tmp_path: Path,
) -> None:
    """The Azure Verified Module for backends (compiled Bicep, languageVersion 2.0, nullable
    parameters, shallowMerge) with parameters for a Service Fabric backend, joined with an
    export of its service."""
    offline = "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/offline"
    service_id = f"{offline}/providers/Microsoft.ApiManagement/service/apim-x"
    parameters = {
        "apiManagementServiceName": "apim-x",
        "name": "orders",
        "url": "fabric:/shop/orders",
        "enableTelemetry": False,
        "serviceFabricCluster": {
            "managementEndpoints": ["https://sf.example.org:19080"],
            "clientCertificateId": f"{service_id}/certificates/sf-client",
            "serverX509Names": [{"name": "CN=sf.example.org", "issuerCertificateThumbprint": "AB"}],
        },
    }
    params = tmp_path / "backend.parameters.json"
    params.write_text(
        json.dumps({"parameters": {k: {"value": v} for k, v in parameters.items()}}),
        encoding="utf-8",
    )
    service = tmp_path / "service.json"
    service.write_text(
        json.dumps(
            [
                {
                    "id": service_id,
                    "type": "Microsoft.ApiManagement/service",
                    "name": "apim-x",
                    "sku": {"name": "Developer", "capacity": 1},
                    "properties": {"hostnameConfigurations": []},
                },
                {
                    "id": f"{service_id}/certificates/sf-client",
                    "type": "Microsoft.ApiManagement/service/certificates",
                    "name": "sf-client",
                    "properties": {
                        "keyVault": {"secretIdentifier": "https://kv.vault.azure.net/secrets/sf"},
                        "expirationDate": "2099-01-01T00:00:00Z",
                    },
                },
            ]
        ),
        encoding="utf-8",
    )
    module = CORPORA / "apim-samples" / "brm-avm-apim" / "backend" / "main.json"
    document = FilesSource([module, service], parameter_files=[params]).load()
    assert document["gaps"] == []
    evidence = workflow.assess(document, "0" * 64, AssessOptions()).evidence
    backend = {
        r["rule_id"]: r["status"]
        for r in evidence["results"]
        if r["resource_id"].endswith("/backends/orders")
    }
    assert backend == {
        "MTLS-OUT-01": "pass",
        "MTLS-OUT-02": "pass",
        "MTLS-OUT-03": "pass",
        "MTLS-OUT-04": "pass",
    }
