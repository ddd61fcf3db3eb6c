"""Terraform plans and states and APIOps folders: sound, broken, unknown values, equivalence.

The instance of ``iac_instance`` is written by hand in each tool's shape; every form must give
the verdicts of its ARM export.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from mtls_audit import snapshot, workflow
from mtls_audit.errors import TemplateError
from mtls_audit.sources.files import FilesSource
from mtls_audit.workflow import AssessOptions, assess
from tests.sources import iac_instance as iac

Verdicts = dict[tuple[str, str], str]

# The rules the broken variants must fail, and the subject (id tail) each judges.
BROKEN = {
    ("MTLS-GW-01", "service/apim-iac"),
    ("MTLS-GW-03", "service/apim-iac"),
    ("MTLS-TLS-01", "service/apim-iac"),
    ("MTLS-OUT-01", "service/apim-iac/backends/patients-backend"),
    ("MTLS-OUT-02", "service/apim-iac/backends/patients-backend"),
}


def _collect(paths: Sequence[Path], parameters: Sequence[Path] = ()) -> dict[str, Any]:
    return FilesSource(paths, parameter_files=parameters).load()


def _verdicts(document: dict[str, Any]) -> tuple[Verdicts, int]:
    outcome = assess(document, "0" * 64, AssessOptions())
    verdicts = {
        (r["rule_id"], r["resource_id"].split("Microsoft.ApiManagement/")[-1]): r["status"]
        for r in outcome.evidence["results"]
    }
    return verdicts, outcome.gate.exit_code


def _write(tmp_path: Path, name: str, data: Any) -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(data, indent=2), encoding="utf-8")
    return path


def _forms(tmp_path: Path, *, broken: bool) -> dict[str, tuple[list[Path], list[Path]]]:
    """Each input kind of the instance: (--from-file paths, --parameters paths)."""
    apiops = tmp_path / "apiops"
    apiops.mkdir()
    return {
        "arm": ([_write(tmp_path, "export.json", iac.arm_export(broken=broken))], []),
        "plan": ([_write(tmp_path, "plan.json", iac.terraform_plan(broken=broken))], []),
        "state": ([_write(tmp_path, "state.json", iac.terraform_state(broken=broken))], []),
        "apiops": (
            [
                iac.apiops_service_export(apiops, broken=broken),
                iac.apiops_folder(apiops, broken=broken),
            ],
            [iac.apiops_configuration(apiops)],
        ),
    }


@pytest.mark.parametrize("broken", [False, True], ids=["sound", "broken"])
def test_every_form_gives_the_verdicts_of_the_arm_export(tmp_path: Path, broken: bool) -> None:
    forms = _forms(tmp_path, broken=broken)
    results = {name: _verdicts(_collect(*paths)) for name, paths in forms.items()}
    reference, code = results["arm"]
    assert code == (1 if broken else 0)
    failing = {key for key, status in reference.items() if status == "fail"}
    if broken:
        assert failing >= BROKEN
    else:
        assert not failing & BROKEN
        assert {reference[key] for key in BROKEN} == {"pass"}
    for name, (verdicts, exit_code) in results.items():
        assert verdicts == reference, name
        assert exit_code == code, name


def test_the_sound_instance_has_no_gaps_in_any_form(tmp_path: Path) -> None:
    for name, paths in _forms(tmp_path, broken=False).items():
        assert _collect(*paths)["gaps"] == [], name


def test_a_first_deployment_plan_makes_values_known_after_apply_gaps(tmp_path: Path) -> None:
    document = _collect([_write(tmp_path, "plan.json", iac.terraform_create_plan())])
    gaps = {(g["kind"], g["message"]) for g in document["gaps"]}
    assert gaps == {
        (
            "unknown-until-apply",
            "azurerm_api_management.apim: key_vault_certificate_id is known only after apply",
        ),
        (
            "unknown-until-apply",
            "azurerm_api_management_backend.patients: url is known only after apply",
        ),
        ("unknown-until-apply", "azurerm_key_vault.kv: vault_uri is known only after apply"),
    }
    by_id = {r["id"]: r for r in document["resources"]}
    backend = by_id[f"{iac.SERVICE}/backends/patients-backend"]["properties"]
    assert backend["url"] == "[known after apply: azurerm_api_management_backend.patients.url]"
    # the global policy's service id was unknown: its reference names the planned service
    assert f"{iac.SERVICE}/policies/policy" in by_id
    # the role assignment's principal is the service identity's, known only after apply
    token = "known-after-apply:azurerm_api_management.apim.identity[0].principal_id"
    assert by_id[iac.SERVICE]["identity"]["principalId"] == token
    role = next(r for r in document["resources"] if r["type"].endswith("roleAssignments"))
    assert role["properties"]["principalId"] == token
    assert role["properties"]["scope"] == iac.VAULT
    verdicts, code = _verdicts(document)
    assert code == 3
    assert verdicts[("MTLS-OUT-01", "service/apim-iac/backends/patients-backend")] == (
        "indeterminate"
    )
    assert verdicts[("MTLS-GW-01", "service/apim-iac")] == "pass"


def test_origins_name_the_terraform_address(tmp_path: Path) -> None:
    plan = _write(tmp_path, "plan.json", iac.terraform_plan())
    document = _collect([plan])
    origin = document["origins"][f"{iac.SERVICE}/backends/patients-backend".lower()]
    assert origin["address"] == "azurerm_api_management_backend.patients"
    assert origin["file"] == str(plan)
    line = plan.read_text().splitlines()[origin["line"] - 1]
    assert line.strip() == "{"
    assert (
        "azurerm_api_management_backend.patients" in plan.read_text().splitlines()[origin["line"]]
    )


def test_state_child_modules_are_read(tmp_path: Path) -> None:
    document = _collect([_write(tmp_path, "state.json", iac.terraform_state())])
    origin = document["origins"][f"{iac.SERVICE}/backends/patients-backend".lower()]
    assert origin["address"] == "module.backends.azurerm_api_management_backend.patients"
    assert origin["pointer"] == "/values/root_module/child_modules/0/resources/0"


def test_no_secret_reaches_the_snapshot(tmp_path: Path) -> None:
    for name, paths in _forms(tmp_path, broken=False).items():
        text = snapshot.dumps(_collect(*paths)).decode()
        assert iac.SECRET_CANARY not in text, name


def test_no_secret_of_any_terraform_attribute_reaches_the_snapshot(tmp_path: Path) -> None:
    canary = iac.SECRET_CANARY
    plan = iac.terraform_plan()
    by_type = {c["type"]: c["change"]["after"] for c in plan["resource_changes"]}
    proxy = by_type["azurerm_api_management"]["hostname_configuration"][0]["proxy"][0]
    proxy |= {"certificate": canary, "certificate_password": canary}
    by_type["azurerm_api_management"]["certificate"] = [
        {"encoded_certificate": canary, "certificate_password": canary, "store_name": "Root"}
    ]
    by_type["azurerm_api_management_certificate"] |= {"data": canary, "password": canary}
    backend = by_type["azurerm_api_management_backend"]
    backend["proxy"] = [{"url": "http://proxy.example", "username": "u", "password": canary}]
    backend["credentials"][0] |= {
        "header": {"x-api-key": canary},
        "query": {"code": canary},
        "authorization": [{"scheme": "Basic", "parameter": canary}],
    }
    document = _collect([_write(tmp_path, "plan.json", plan)])
    assert canary not in snapshot.dumps(document).decode()
    assert document["provenance"]["redactions"]  # the redaction on the way in counted some


def test_policy_links_are_gaps(tmp_path: Path) -> None:
    plan = iac.terraform_plan()
    for change in plan["resource_changes"]:
        if change["type"] == "azurerm_api_management_api_policy":
            link = "https://example.org/p.xml?sig=abc"
            change["change"]["after"] |= {"xml_content": None, "xml_link": link}
    document = _collect([_write(tmp_path, "plan.json", plan)])
    gap = next(g for g in document["gaps"] if g["what"] == "policies")
    assert gap["subject"] == f"{iac.SERVICE}/apis/patients/policies/policy"
    assert "link" in gap["message"]
    assert "sig=abc" not in snapshot.dumps(document).decode()


def test_deleted_resources_are_left_out(tmp_path: Path) -> None:
    plan = iac.terraform_plan()
    for change in plan["resource_changes"]:
        if change["type"] == "azurerm_api_management_backend":
            change["change"] |= {"actions": ["delete"], "after": None}
    document = _collect([_write(tmp_path, "plan.json", plan)])
    assert not [r for r in document["resources"] if r["type"].endswith("/backends")]


def test_custom_domain_and_access_policy_resources_join_their_parents(tmp_path: Path) -> None:
    plan = iac.terraform_plan()
    changes = plan["resource_changes"]
    service = changes[0]["change"]["after"]
    service["hostname_configuration"] = []
    changes.append(
        iac._change(
            "azurerm_api_management_custom_domain.apim",
            {
                "api_management_id": iac.SERVICE,
                "gateway": [
                    {
                        "host_name": "mtls.contoso.example",
                        "negotiate_client_certificate": True,
                        "key_vault_certificate_id": "https://kv-iac.vault.azure.net/secrets/t",
                    }
                ],
            },
        )
    )
    changes.append(
        iac._change(
            "azurerm_key_vault_access_policy.apim",
            {
                "key_vault_id": iac.VAULT,
                "tenant_id": iac.TENANT,
                "object_id": iac.PRINCIPAL,
                "secret_permissions": ["Get", "List"],
                "certificate_permissions": ["Get"],
            },
        )
    )
    plan["configuration"]["root_module"]["resources"] = [
        iac._refs(
            "azurerm_api_management_custom_domain.apim",
            api_management_id="azurerm_api_management.apim.id",
        ),
        iac._refs("azurerm_key_vault_access_policy.apim", key_vault_id="azurerm_key_vault.kv.id"),
    ]
    document = _collect([_write(tmp_path, "plan.json", plan)])
    by_id = {r["id"]: r for r in document["resources"]}
    hostnames = by_id[iac.SERVICE]["properties"]["hostnameConfigurations"]
    assert [(h["hostName"], h["negotiateClientCertificate"]) for h in hostnames] == [
        ("mtls.contoso.example", True)
    ]
    policies = by_id[iac.VAULT]["properties"]["accessPolicies"]
    assert policies == [
        {
            "tenantId": iac.TENANT,
            "objectId": iac.PRINCIPAL,
            "permissions": {"secrets": ["get", "list"], "certificates": ["get"]},
        }
    ]


def test_apiops_without_the_service_says_so(tmp_path: Path) -> None:
    folder = iac.apiops_folder(tmp_path)
    document = _collect([folder])
    [gap] = document["gaps"]
    assert gap["what"] == "service"
    assert "second --from-file" in gap["message"]
    assert _verdicts(document)[1] == 3


def test_apiops_configuration_overrides_apply(tmp_path: Path) -> None:
    folder = iac.apiops_folder(tmp_path)
    service = iac.apiops_service_export(tmp_path)
    plain = _collect([service, folder])
    overridden = _collect([service, folder], [iac.apiops_configuration(tmp_path)])

    def environment(document: dict[str, Any]) -> Any:
        [found] = [r for r in document["resources"] if r["id"].endswith("/environment")]
        return found["properties"]["value"]

    assert (environment(plain), environment(overridden)) == ("staging", "production")
    operation = next(r for r in plain["resources"] if r["id"].endswith("/get-patient"))
    assert operation["properties"] == {"method": "GET", "urlTemplate": "/patients/{id}"}
    origin = plain["origins"][f"{iac.SERVICE}/apis/patients/policies/policy".lower()]
    assert origin["file"] == str(folder / "apis" / "patients" / "policy.xml")


def test_terraform_configuration_is_refused_with_the_way_to_a_plan(tmp_path: Path) -> None:
    main = tmp_path / "main.tf"
    main.write_text('resource "azurerm_api_management" "x" {}\n')
    for given in (main, tmp_path):
        with pytest.raises(TemplateError, match="terraform show -json"):
            _collect([given])


def test_a_folder_that_is_not_apiops_is_refused(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("hello")
    with pytest.raises(TemplateError, match="not an APIOps artifacts folder"):
        _collect([tmp_path])


def test_findings_cite_the_terraform_address(tmp_path: Path) -> None:
    document = _collect([_write(tmp_path, "plan.json", iac.terraform_plan(broken=True))])
    outcome = assess(document, "0" * 64, AssessOptions())
    [result] = [
        r
        for r in outcome.evidence["results"]
        if r["rule_id"] == "MTLS-OUT-02" and r["status"] == "fail"
    ]
    assert result["location"]["address"] == "azurerm_api_management_backend.patients"
    written = workflow.write_outputs(outcome, ["sarif"], tmp_path / "out")
    sarif = json.loads(next(p for p in written if p.suffix == ".sarif").read_text())
    names = [
        logical["fullyQualifiedName"]
        for run in sarif["runs"]
        for entry in run["results"]
        if entry["ruleId"] == "MTLS-OUT-02"
        for logical in entry["locations"][0]["logicalLocations"]
    ]
    assert "azurerm_api_management_backend.patients" in names


def test_subscriptions_keep_their_scope_and_never_their_keys(tmp_path: Path) -> None:
    plan = iac.terraform_plan()
    product = f"{iac.SERVICE}/products/clinical"
    plan["resource_changes"].append(
        iac._change(
            "azurerm_api_management_subscription.partner",
            {
                "api_management_name": "apim-iac",
                "resource_group_name": "rg-apim",
                "product_id": product,
                "display_name": "Partner",
                "state": "active",
                "allow_tracing": True,
                "primary_key": iac.SECRET_CANARY,
            },
            {"subscription_id": True, "secondary_key": True},
        )
    )
    document = _collect([_write(tmp_path, "plan.json", plan)])
    [found] = [r for r in document["resources"] if r["type"].endswith("/subscriptions")]
    assert found["properties"] == {
        "displayName": "Partner",
        "state": "active",
        "allowTracing": True,
        "scope": product,
    }
    assert document["gaps"] == []
    assert iac.SECRET_CANARY not in snapshot.dumps(document).decode()


def test_security_flags_of_both_provider_generations(tmp_path: Path) -> None:
    plan = iac.terraform_plan()
    service = plan["resource_changes"][0]["change"]["after"]
    service["security"] = [
        {
            "enable_frontend_tls10": True,  # azurerm 3.x spelling
            "backend_tls11_enabled": False,  # azurerm 4.x spelling
            "enable_triple_des_ciphers": False,
            "tls_ecdhe_rsa_with_aes128_cbc_sha_ciphers_enabled": True,
            "tls_rsa_with_aes256_gcm_sha384_ciphers_enabled": False,
        }
    ]
    document = _collect([_write(tmp_path, "plan.json", plan)])
    service_resource = next(r for r in document["resources"] if r["id"] == iac.SERVICE)
    prefix = "Microsoft.WindowsAzure.ApiManagement.Gateway.Security."
    assert service_resource["properties"]["customProperties"] == {
        f"{prefix}Protocols.Tls10": "true",
        f"{prefix}Backend.Protocols.Tls11": "false",
        f"{prefix}Ciphers.TripleDes168": "false",
        f"{prefix}Ciphers.TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA": "true",
        f"{prefix}Ciphers.TLS_RSA_WITH_AES_256_GCM_SHA384": "false",
    }


def test_references_inside_a_module_and_for_each_instances(tmp_path: Path) -> None:
    """A module instance creates the service (its name known only after apply) and two APIs
    with for_each; the APIs name their service through the module's configuration."""
    module = 'module.apim["prod"]'
    service = iac._change(
        "azurerm_api_management.this",
        {
            "resource_group_name": "rg-apim",
            "sku_name": "Developer_1",
            "hostname_configuration": [],
            "security": [],
        },
        {"name": True, "id": True},
        ("create",),
    )
    apis = []
    for key in ("a", "b"):
        api = iac._change(
            "azurerm_api_management_api.api",
            {
                "name": f"api-{key}",
                "revision": "1",
                "path": key,
                "protocols": ["https"],
                "service_url": f"https://{key}.example",
            },
            {"api_management_name": True, "resource_group_name": True, "id": True},
            ("create",),
        )
        api |= {
            "address": f'{module}.azurerm_api_management_api.api["{key}"]',
            "index": key,
            "module_address": module,
        }
        apis.append(api)
    service |= {"address": f"{module}.azurerm_api_management.this", "module_address": module}
    plan = iac.terraform_plan()
    plan["resource_changes"] = [service, *apis]
    refs = iac._refs(
        "azurerm_api_management_api.api",
        api_management_name="azurerm_api_management.this.name",
        resource_group_name="azurerm_api_management.this.resource_group_name",
    )
    plan["configuration"]["root_module"] = {
        "module_calls": {"apim": {"source": "./apim", "module": {"resources": [refs]}}}
    }
    document = _collect([_write(tmp_path, "plan.json", plan)])
    service_id = (
        f"{iac.RG}/providers/Microsoft.ApiManagement/service/"
        f"[known after apply: {module}.azurerm_api_management.this.name]"
    )
    ids = sorted(r["id"] for r in document["resources"])
    assert ids == [service_id, f"{service_id}/apis/api-a", f"{service_id}/apis/api-b"]
    # the service's own name only labels it (its APIs found it by reference): no gap
    assert document["gaps"] == []


def test_apiops_folder_digest_and_service_choice(tmp_path: Path) -> None:
    folder = iac.apiops_folder(tmp_path)
    service = iac.apiops_service_export(tmp_path)
    first = _collect([service, folder])["provenance"]["inputs"]
    (folder / "apis" / "patients" / "policy.xml").write_text(iac.OPERATION_POLICY)
    second = _collect([service, folder])["provenance"]["inputs"]
    assert first[1]["format"] == second[1]["format"] == "apiops"
    assert first[1]["sha256"] != second[1]["sha256"]
    other = tmp_path / "other.yaml"
    other.write_text("apimServiceName: apim-elsewhere\n")
    document = _collect([service, folder], [other])
    [gap] = document["gaps"]
    assert "names none of the services given (apim-iac)" in gap["message"]


def test_an_apiops_configuration_needs_a_folder(tmp_path: Path) -> None:
    export = _write(tmp_path, "export.json", iac.arm_export())
    with pytest.raises(TemplateError, match="no APIOps artifacts folder"):
        _collect([export], [iac.apiops_configuration(tmp_path)])


def test_self_hosted_gateways_and_user_assigned_identities(tmp_path: Path) -> None:
    """A first deployment: a self-hosted gateway whose hostname names a certificate resource,
    and a user-assigned identity whose client id (known only after apply) is the one a Key
    Vault named value uses."""
    plan = iac.terraform_create_plan()
    identity = "azurerm_user_assigned_identity.apim"
    plan["resource_changes"] += [
        iac._change(identity, {"name": "id-apim", "resource_group_name": "rg-apim"},
                    {"id": True, "principal_id": True, "client_id": True, "tenant_id": True},
                    ("create",)),
        iac._change("azurerm_api_management_gateway.onprem",
                    {"name": "onprem", "location_data": [{"name": "dc1"}]},
                    {"id": True, "api_management_id": True}, ("create",)),
        iac._change("azurerm_api_management_gateway_host_name_configuration.onprem",
                    {"name": "onprem-host", "host_name": "gw.contoso.example",
                     "request_client_certificate_enabled": False, "tls10_enabled": True,
                     "tls11_enabled": False, "http2_enabled": True},
                    {"id": True, "api_management_id": True, "gateway_name": True,
                     "certificate_id": True}, ("create",)),
        iac._change("azurerm_api_management_named_value.from_vault",
                    {"name": "partner-pins", "api_management_name": "apim-iac",
                     "resource_group_name": "rg-apim", "display_name": "partner-pins",
                     "secret": True, "value_from_key_vault": [
                         {"secret_id": "https://kv-iac.vault.azure.net/secrets/pins"}]},
                    {"id": True, "value_from_key_vault": [{"identity_client_id": True}]},
                    ("create",)),
    ]  # fmt: skip
    plan["configuration"]["root_module"]["resources"] += [
        iac._refs("azurerm_api_management_gateway.onprem",
                  api_management_id="azurerm_api_management.apim.id"),
        iac._refs("azurerm_api_management_gateway_host_name_configuration.onprem",
                  api_management_id="azurerm_api_management.apim.id",
                  gateway_name="azurerm_api_management_gateway.onprem.name",
                  certificate_id="azurerm_api_management_certificate.backend_client.id"),
    ]  # fmt: skip
    named_value = iac._refs("azurerm_api_management_named_value.from_vault")
    named_value["expressions"]["value_from_key_vault"] = [
        {"identity_client_id": {"references": [f"{identity}.client_id", identity]}}
    ]
    plan["configuration"]["root_module"]["resources"].append(named_value)
    document = _collect([_write(tmp_path, "plan.json", plan)])
    by_id = {r["id"]: r for r in document["resources"]}
    hostname = by_id[f"{iac.SERVICE}/gateways/onprem/hostnameConfigurations/onprem-host"]
    assert hostname["properties"] == {
        "hostname": "gw.contoso.example",
        "negotiateClientCertificate": False,
        "tls10Enabled": True,
        "tls11Enabled": False,
        "http2Enabled": True,
        "certificateId": f"{iac.SERVICE}/certificates/backend-client",
    }
    user = by_id[f"{iac.RG}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id-apim"]
    token = f"known-after-apply:{identity}.client_id"
    assert user["properties"]["clientId"] == token
    pins = by_id[f"{iac.SERVICE}/namedValues/partner-pins"]["properties"]
    assert pins["keyVault"]["identityClientId"] == token
    verdicts, _ = _verdicts(document)
    subject = "service/apim-iac/gateways/onprem/hostnameConfigurations/onprem-host"
    assert verdicts[("MTLS-GW-06", subject)] == "fail"
