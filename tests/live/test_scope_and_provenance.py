"""Where the evidence came from, what an unregistered subscription contributes, which results a
Key Vault gap may touch, and backend properties kept as ARM sent them."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from mtls_audit import snapshot, workflow
from mtls_audit.report.html import render_html

from .conftest import Collect
from .fake_azure import FakeAzure, Fault
from .instance import SERVICE_ID, SUBSCRIPTION, Instance

UNREGISTERED = "9d8c7b6a-5f4e-4d3c-8b2a-190817161514"
NOT_REGISTERED_MESSAGE = (
    "The subscription is not registered to use namespace 'Microsoft.ApiManagement'. See "
    "https://aka.ms/rps-not-found for how to register subscriptions."
)


def test_provenance_says_where_and_as_whom_the_evidence_was_collected(
    collect: Collect, fake: FakeAzure, instance: Instance
) -> None:
    provenance = collect(timeout_s=3.0, max_retries=1, deadline_s=60.0)["provenance"]

    assert provenance["cloud"] == "custom"
    assert provenance["endpoints"] == {
        "arm": fake.url,
        "authority": "https://login.microsoftonline.com",
        "keyvault_suffix": None,
        "standard": False,
    }
    assert provenance["auth"] == {"mode": "given", "credential": "FakeCredential"}
    assert provenance["limits"] == {"timeout_s": 3.0, "max_retries": 1, "deadline_s": 60.0}
    assert "stopped" not in provenance


def _unregistered(fake: FakeAzure) -> None:
    fake.faults.append(
        Fault(
            rf"^/subscriptions/{UNREGISTERED}/providers/Microsoft\.ApiManagement/service$",
            status=409,
            code="MissingSubscriptionRegistration",
            message=NOT_REGISTERED_MESSAGE,
        )
    )


def test_an_unregistered_first_subscription_contributes_nothing_and_says_so_once(
    collect: Collect, fake: FakeAzure, instance: Instance
) -> None:
    _unregistered(fake)

    parts = collect(subscriptions=(UNREGISTERED, SUBSCRIPTION))

    assert parts["gaps"] == []
    assert parts["provenance"]["notes"] == [
        f"/subscriptions/{UNREGISTERED}: the Microsoft.ApiManagement provider is not "
        "registered, so it holds no API Management service"
    ]
    assert {s.method for s in fake.requests} == {"GET"}  # no registration was attempted
    assert any(r["id"] == SERVICE_ID for r in parts["resources"])


def test_an_unregistered_only_subscription_is_an_empty_collection_not_an_error(
    collect: Collect, fake: FakeAzure, instance: Instance
) -> None:
    _unregistered(fake)

    parts = collect(subscriptions=(UNREGISTERED,))

    assert (parts["resources"], parts["gaps"]) == ([], [])
    assert len(parts["provenance"]["notes"]) == 1


def _evidence(parts: dict[str, Any]) -> dict[str, Any]:
    document = snapshot.build(
        provenance=parts["provenance"],
        resources=parts["resources"],
        keyvault=parts["keyvault"],
        gaps=parts["gaps"],
    )
    digest = hashlib.sha256(snapshot.dumps(document)).hexdigest()
    return workflow.assess(document, digest, workflow.AssessOptions(fail_on=None)).evidence


def test_a_non_standard_endpoint_is_printed_on_the_report_cover(
    collect: Collect, fake: FakeAzure, instance: Instance
) -> None:
    evidence = _evidence(collect())

    source = evidence["run"]["source"]
    assert source["endpoints"]["arm"] == fake.url
    assert source["auth"]["credential"] == "FakeCredential"
    cover = render_html(evidence, evidence_sha256="0" * 64).split('class="cover"')[1]
    cover = cover.split("</section>")[0]
    assert f"non-standard endpoints: ARM {fake.url}" in cover
    source["endpoints"]["standard"] = True  # as collected from Azure itself
    cover = render_html(evidence, evidence_sha256="0" * 64).split('class="cover"')[1]
    assert "non-standard endpoints" not in cover


def _verdicts(parts: dict[str, Any], prefixes: tuple[str, ...]) -> dict[tuple[str, str, str], str]:
    evidence = _evidence(parts)
    return {
        (r["rule_id"], r["resource_id"], r["message"]): r["status"]
        for r in evidence["results"]
        if r["rule_id"].startswith(prefixes)
    }


def test_a_key_vault_403_leaves_gateway_and_tls_results_untouched(
    collect: Collect, fake: FakeAzure, instance: Instance
) -> None:
    without_hostnames = [
        r for r in instance.resources if not r["type"].endswith("/gateways/hostnameConfigurations")
    ]
    fake.serve(Instance(without_hostnames, instance.certificates, instance.vault_url))
    clean = _verdicts(collect(), ("MTLS-GW", "MTLS-TLS"))
    fake.faults.append(
        Fault(r"^/certificates/", status=403, code="Forbidden", message="denied", after_auth=True)
    )
    fake.faults.append(Fault(r"/roleAssignments$", status=403, code="AuthorizationFailed"))

    parts = collect()

    assert {g["what"] for g in parts["gaps"]} == {"keyvault-certificate", "role-assignments"}
    assert all("vault" in g["scope"] for g in parts["gaps"])
    assert _verdicts(parts, ("MTLS-GW", "MTLS-TLS")) == clean
    gateway = {v for k, v in clean.items() if k[0] == "MTLS-GW-06" and "/gateways/" in k[1]}
    assert gateway == {"fail"}  # no hostname configuration: decided, not "not collected"


def test_service_fabric_backend_properties_are_kept_as_arm_sent_them(
    collect: Collect, fake: FakeAzure, instance: Instance
) -> None:
    # Microsoft's example (ApiManagementListBackends.json), under this service.
    fabric = {
        "url": "fabric:/mytestapp/mytestservice",
        "protocol": "http",
        "properties": {
            "serviceFabricCluster": {
                "clientCertificateId": f"{SERVICE_ID}/certificates/client-cert",
                "managementEndpoints": ["https://somecluster.com"],
                "maxPartitionResolutionRetries": 5,
                "serverX509Names": [
                    {
                        "name": "ServerCommonName1",
                        "issuerCertificateThumbprint": "IssuerCertificateThumbprint1",
                    }
                ],
            }
        },
    }
    backend = {
        "id": f"{SERVICE_ID}/backends/sfbackend",
        "type": "Microsoft.ApiManagement/service/backends",
        "name": "sfbackend",
        "properties": fabric,
    }
    fake.serve(Instance([*instance.resources, backend], instance.certificates, instance.vault_url))

    parts = collect()

    (kept,) = [r for r in parts["resources"] if r["id"] == backend["id"]]
    assert json.dumps(kept, sort_keys=True) == json.dumps(backend, sort_keys=True)
