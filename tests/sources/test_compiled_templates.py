"""Compiled Bicep (languageVersion 2.0) and older template shapes read like an ARM export."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from mtls_audit import workflow
from mtls_audit.sources.arm.files import load_files
from mtls_audit.sources.files import FilesSource
from mtls_audit.workflow import AssessOptions

from . import compiled_bicep as bicep
from .arm_support import APIM, template, write_json

HOSTS = ["gw.example.org", "api.example.org"]


def verdicts(document: dict[str, Any]) -> set[tuple[str, str, str]]:
    evidence = workflow.assess(document, "0" * 64, AssessOptions()).evidence
    return {(r["rule_id"], r["resource_id"].lower(), r["status"]) for r in evidence["results"]}


def evidence_of(document: dict[str, Any]) -> dict[str, Any]:
    return workflow.assess(document, "0" * 64, AssessOptions()).evidence


def compiled_snapshot(tmp_path: Path, **extra: Any) -> dict[str, Any]:
    main = write_json(tmp_path, "main.json", bicep.compiled())
    params = write_json(tmp_path, "main.parameters.json", bicep.parameters(HOSTS, **extra))
    return FilesSource([main], parameter_files=[params]).load()


def test_compiled_bicep_gives_the_verdicts_of_the_export(tmp_path: Path) -> None:
    exported = FilesSource([write_json(tmp_path, "export.json", bicep.export(HOSTS))]).load()
    compiled = compiled_snapshot(tmp_path)
    assert verdicts(compiled) == verdicts(exported)
    statuses = {(rule, status) for rule, _, status in verdicts(compiled)}
    assert ("MTLS-GW-01", "pass") in statuses  # both hostnames negotiate
    assert ("MTLS-OUT-03", "fail") in statuses  # billing has no client certificate
    assert ("MTLS-OUT-01", "fail") not in statuses


def test_compiled_bicep_expands_every_resource(tmp_path: Path) -> None:
    snapshot = compiled_snapshot(tmp_path)
    by_id = {r["id"]: r for r in snapshot["resources"]}
    service = by_id[bicep.SERVICE_ID]
    hosts = service["properties"]["hostnameConfigurations"]
    assert [h["hostName"] for h in hosts] == HOSTS  # map(…, lambda(…))
    assert service["properties"]["customProperties"] == bicep.TLS_OFF  # lambdas, flatten, merge
    assert "tags" in service
    assert service["tags"] is None  # a nullable parameter not given
    labs = by_id[f"{bicep.SERVICE_ID}/backends/labs"]["properties"]
    assert labs["tls"] == {"validateCertificateChain": True, "validateCertificateName": True}
    assert labs["credentials"]["certificateIds"] == [f"{bicep.SERVICE_ID}/certificates/labs-client"]
    assert "credentials" not in by_id[f"{bicep.SERVICE_ID}/backends/billing"]["properties"]
    assert f"{bicep.SERVICE_ID}/certificates/labs-client" in by_id  # from the module
    assert all("vaults" not in rid for rid in by_id)  # an existing resource is not declared


def test_unknown_values_are_gaps_only_where_a_rule_reads_them(tmp_path: Path) -> None:
    snapshot = compiled_snapshot(tmp_path)
    properties = {g["property"] for g in snapshot["gaps"]}
    assert properties == {"/location", "/properties/publisherEmail"}  # kept in the snapshot
    evidence = evidence_of(snapshot)
    assert evidence["gaps"] == []
    assert {g["property"] for g in evidence["ignored_gaps"]} == properties
    assert evidence["summary"]["gate"] == {
        "fail_on": "critical",
        "failing": 0,
        "incomplete": False,
        "exit_code": 0,
    }


def test_an_unresolved_value_a_rule_reads_is_a_gap_not_an_abort(tmp_path: Path) -> None:
    document = bicep.compiled()
    document["resources"]["apim"]["properties"]["hostnameConfigurations"] = (
        "[reference('gateway', '2024-05-01').hostnames]"
    )
    main = write_json(tmp_path, "main.json", document)
    params = write_json(tmp_path, "p.json", bicep.parameters(HOSTS))
    snapshot = FilesSource([main], parameter_files=[params]).load()
    [gap] = [g for g in snapshot["gaps"] if g["property"].startswith("/properties/hostname")]
    assert gap["kind"] == "unsupported"
    assert "reference() reads the state of a deployed resource" in gap["message"]
    evidence = evidence_of(snapshot)
    assert evidence["summary"]["gate"]["exit_code"] == 3
    statuses = {(r["rule_id"], r["status"]) for r in evidence["results"]}
    assert ("MTLS-GW-01", "indeterminate") in statuses  # unknown hostnames: not a failure
    assert ("MTLS-EVID-01", "fail") in statuses


def test_a_broken_compiled_instance_fails_the_expected_rules(tmp_path: Path) -> None:
    snapshot = compiled_snapshot(
        tmp_path,
        negotiate=False,
        backendTls={"validateCertificateChain": False, "validateCertificateName": False},
    )
    failed = {rule for rule, _, status in verdicts(snapshot) if status == "fail"}
    assert {"MTLS-GW-01", "MTLS-OUT-02"} <= failed


def test_reference_to_a_declared_symbolic_resource(tmp_path: Path) -> None:
    document = bicep.compiled()
    resources = document["resources"]
    resources["named"] = {
        "type": "Microsoft.ApiManagement/service/namedValues",
        "apiVersion": "2024-05-01",
        "name": "[format('{0}/{1}', parameters('apimName'), 'gw-host')]",
        "properties": {
            "displayName": "gw-host",
            "value": "[reference('apim').hostnameConfigurations[0].hostName]",
            "tags": "[reference('apim').publisherEmail]",
        },
        "dependsOn": ["apim"],
    }
    main = write_json(tmp_path, "main.json", document)
    params = write_json(tmp_path, "p.json", bicep.parameters(HOSTS))
    snapshot = FilesSource([main], parameter_files=[params]).load()
    [named] = [r for r in snapshot["resources"] if r["id"].endswith("/namedValues/gw-host")]
    assert named["properties"]["value"] == "gw.example.org"
    [gap] = [g for g in snapshot["gaps"] if g["subject"] == named["id"]]
    assert gap["property"] == "/properties/tags"
    assert gap["kind"] == "unsupported"
    assert "'publisherEmail' is not declared in the template" in gap["message"]


def test_secure_user_defined_types_are_never_read(tmp_path: Path) -> None:
    canary = "CANARY-not-a-real-secret-7f3a"
    document = template(
        {
            "nv": {
                "type": "Microsoft.ApiManagement/service/namedValues",
                "apiVersion": "2024-05-01",
                "name": "apim1/creds",
                "properties": {"displayName": "creds", "value": "[parameters('creds').password]"},
            }
        },
        languageVersion="2.0",
        definitions={
            "secretType": {"type": "securestring"},
            "credsType": {
                "type": "object",
                "properties": {
                    "user": {"type": "string"},
                    "password": {"$ref": "#/definitions/secretType"},
                },
            },
        },
        parameters={"creds": {"$ref": "#/definitions/credsType"}},
    )
    main = write_json(tmp_path, "main.json", document)
    params = write_json(
        tmp_path, "p.json", {"parameters": {"creds": {"value": {"user": "u", "password": canary}}}}
    )
    snapshot = FilesSource([main], parameter_files=[params]).load()
    assert canary not in json.dumps(snapshot)
    [gap] = snapshot["gaps"]
    assert "secure parameter 'creds' is not read" in gap["message"]


POLICY_2017 = (
    '<policies><inbound><validate-client-certificate validate-revocation="true" '
    'validate-trust="true" validate-not-before="true" validate-not-after="true">'
    '<identities><identity issuer-subject="CN=Old CA" /></identities>'
    "</validate-client-certificate></inbound><backend><forward-request /></backend>"
    "<outbound /><on-error /></policies>"
)


def _api_2017(name: str, policy: dict[str, Any] | None = None) -> dict[str, Any]:
    operation = {
        "type": "operations",
        "apiVersion": "2017-03-01",
        "name": "get",
        "properties": {"displayName": "get", "method": "GET", "urlTemplate": "/"},
        "dependsOn": [name],
    }
    children = [operation] + (
        [{"type": "policies", "apiVersion": "2017-03-01", "name": "policy", "properties": policy}]
        if policy
        else []
    )
    return {
        "type": "apis",
        "apiVersion": "2017-03-01",
        "name": name,
        "properties": {"displayName": name, "path": name, "protocols": ["https"],
                       "serviceUrl": f"https://{name}.example"},
        "resources": children,
    }  # fmt: skip


def _service_2017(*children: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "Microsoft.ApiManagement/service",
        "apiVersion": "2017-03-01",
        "name": "apim-old",
        "location": "westeurope",
        "sku": {"name": "Developer", "capacity": 1},
        "properties": {
            "publisherEmail": "a@example.org",
            "publisherName": "Old",
            "hostnameConfigurations": [
                {"type": "Proxy", "hostName": "old.example.org", "negotiateClientCertificate": True}
            ],
        },
        "resources": list(children),
    }


def test_policy_content_of_old_api_versions_is_read(tmp_path: Path) -> None:
    """api-versions up to 2017-03-01 hold the text in policyContent, the format in
    contentFormat."""
    policy = {
        "type": "policies",
        "apiVersion": "2017-03-01",
        "name": "policy",
        "properties": {"policyContent": POLICY_2017, "contentFormat": "rawxml"},
    }
    document = template([_service_2017(policy, _api_2017("records"))])
    snapshot = FilesSource([write_json(tmp_path, "old.json", document)]).load()
    assert snapshot["gaps"] == []
    evidence = evidence_of(snapshot)
    [chain] = [r for r in evidence["results"] if r["rule_id"] == "MTLS-IN-03"]
    assert chain["status"] == "pass", chain["message"]
    assert chain["evidence"][0]["excerpt"].startswith("<validate-client-certificate")


def test_a_linked_policy_content_is_a_gap(tmp_path: Path) -> None:
    link = {"policyContent": "https://x.example/p.xml", "contentFormat": "xml-link"}
    document = template([_service_2017(_api_2017("legacy", link))])
    [gap] = load_files([write_json(tmp_path, "old.json", document)]).gaps
    assert gap["subject"].endswith("/apis/legacy/policies/policy")
    assert "format 'xml-link'" in gap["message"]


def test_identical_duplicates_merge_and_differing_ones_name_both(tmp_path: Path) -> None:
    backend = {
        "id": f"{APIM}/apim1/backends/labs",
        "type": "Microsoft.ApiManagement/service/backends",
        "name": "labs",
        "properties": {"url": "https://labs.example"},
    }
    other = backend | {"properties": {"url": "http://labs.example"}}
    same = write_json(tmp_path, "same.json", [backend, dict(backend)])
    result = load_files([same])
    assert result.gaps == []
    assert len(result.resources) == 1
    differing = write_json(tmp_path, "differ.json", [backend, other])
    result = load_files([differing])
    [gap] = result.gaps
    assert gap["kind"] == "duplicate"
    assert f"first in {differing} at /0 (line 2), again in {differing} at /1" in gap["message"]
    assert result.resources == [other]


def test_comments_are_accepted_and_lines_stay_right(tmp_path: Path) -> None:
    text = (
        "// exported by hand\n"
        "{\n"
        '  "$schema": "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#",\n'
        '  "contentVersion": "1.0.0.0", /* the template\'s own version */\n'
        '  "resources": [\n'
        "    {\n"
        '      "type": "Microsoft.ApiManagement/service", "apiVersion": "2024-05-01",\n'
        '      "name": "apim-c", // not a // comment inside "a string"\n'
        '      "properties": {"publisherName": "a // b /* c */"}\n'
        "    }\n"
        "  ]\n"
        "}\n"
    )
    path = tmp_path / "commented.json"
    path.write_text(text, encoding="utf-8")
    result = load_files([path])
    [resource] = result.resources
    assert resource["properties"] == {"publisherName": "a // b /* c */"}
    assert result.origins[resource["id"].lower()]["line"] == 6


def test_user_defined_functions_are_applied(tmp_path: Path) -> None:
    document = bicep.compiled()
    document["functions"] = [
        {
            "namespace": "__bicep",
            "members": {
                "gatewayHost": {
                    "parameters": [{"type": "string", "name": "name"}],
                    "output": {
                        "type": "object",
                        "value": "[createObject('type', 'Proxy', 'hostName', parameters('name'), "
                        "'negotiateClientCertificate', true())]",
                    },
                }
            },
        }
    ]
    document["resources"]["apim"]["properties"]["hostnameConfigurations"] = (
        "[map(parameters('hosts'), lambda('h', __bicep.gatewayHost(lambdaVariables('h'))))]"
    )
    main = write_json(tmp_path, "main.json", document)
    params = write_json(tmp_path, "p.json", bicep.parameters(HOSTS))
    snapshot = FilesSource([main], parameter_files=[params]).load()
    [service] = [r for r in snapshot["resources"] if r["id"] == bicep.SERVICE_ID]
    assert service["properties"]["hostnameConfigurations"] == [
        {"type": "Proxy", "hostName": host, "negotiateClientCertificate": True} for host in HOSTS
    ]


def test_values_only_azure_knows_are_gaps_only_where_read(tmp_path: Path) -> None:
    """tenant() in a vault's tenantId and deployment() in a location are not read by any
    rule; uniqueString() in a backend URL is."""
    vault = {
        "type": "Microsoft.KeyVault/vaults",
        "apiVersion": "2023-07-01",
        "name": "kv-eq",
        "location": "[deployment().location]",
        "properties": {
            "tenantId": "[tenant().tenantId]",
            "sku": {"family": "A", "name": "standard"},
            "enableRbacAuthorization": True,
        },
    }
    backend = {
        "type": "Microsoft.ApiManagement/service/backends",
        "apiVersion": "2024-05-01",
        "name": "apim-eq/labs",
        "properties": {"url": "[format('https://{0}.example', uniqueString('labs'))]"},
    }
    service = {
        "type": "Microsoft.ApiManagement/service",
        "apiVersion": "2024-05-01",
        "name": "apim-eq",
        "location": "[deployment().location]",
        "sku": {"name": "Developer", "capacity": 1},
        "properties": {"publisherEmail": "[parameters('email')]", "publisherName": "Eq"},
    }
    document = template([vault, service, backend], parameters={"email": {"type": "string"}})
    snapshot = FilesSource([write_json(tmp_path, "t.json", document)]).load()
    assert len(snapshot["gaps"]) == 5
    evidence = evidence_of(snapshot)
    [gap] = evidence["gaps"]
    assert gap["property"] == "/properties/url"
    assert "uniqueString()" in gap["message"]
    ignored = {(g["subject"].rsplit("/", 1)[-1], g["property"]) for g in evidence["ignored_gaps"]}
    assert ignored == {
        ("kv-eq", "/location"),
        ("kv-eq", "/properties/tenantId"),
        ("apim-eq", "/location"),
        ("apim-eq", "/properties/publisherEmail"),
    }
    [https] = [r for r in evidence["results"] if r["rule_id"] == "MTLS-OUT-01"]
    assert https["status"] == "indeterminate"


def test_a_principal_id_from_reference_full_is_a_gap_naming_it(tmp_path: Path) -> None:
    """Bicep writes ``apim.identity.principalId`` as reference(…, 'full'): Azure sets it."""
    document = bicep.compiled()
    document["resources"]["grant"] = {
        "type": "Microsoft.Authorization/roleAssignments",
        "apiVersion": "2022-04-01",
        "scope": "[format('Microsoft.KeyVault/vaults/{0}', parameters('vaultName'))]",
        "name": "[guid(parameters('vaultName'), 'secrets-user')]",
        "properties": {
            "principalId": "[reference('apim', '2024-05-01', 'full').identity.principalId]",
            "roleDefinitionId": "[subscriptionResourceId('Microsoft.Authorization/"
            "roleDefinitions', '4633458b-17de-408a-b874-0445c86b69e6')]",
        },
        "dependsOn": ["apim"],
    }
    main = write_json(tmp_path, "main.json", document)
    params = write_json(tmp_path, "p.json", bicep.parameters(HOSTS))
    snapshot = FilesSource([main], parameter_files=[params]).load()
    [gap] = [g for g in snapshot["gaps"] if g.get("property") == "/properties/principalId"]
    assert "'principalId' is not declared in the template" in gap["message"]
    scope = "/providers/Microsoft.KeyVault/vaults/kv-eq/providers/Microsoft.Authorization/"
    assert f"{scope}roleAssignments/" in gap["subject"]
