"""One APIM instance written three ways, by hand, in the shapes the real tools emit: an ARM export
(resources as ARM returns them), `terraform show -json` of an azurerm plan, and an APIOps
extractor folder (plus the ARM export of the service alone, which APIOps does not hold).

The instance is sound: a classic-tier service whose only custom gateway hostname negotiates
client certificates, a global policy validating them (pinned thumbprint), APIs that keep
``<base/>``, an https backend presenting a Key Vault client certificate with server validation on,
TLS 1.0/1.1/SSL 3.0 off both sides, and a system identity that reads the vault's secrets.
``broken`` variants switch the mTLS-relevant settings off in each form alike.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

SUB = "00000000-0000-0000-0000-000000000000"
RG = f"/subscriptions/{SUB}/resourceGroups/rg-apim"
SERVICE = f"{RG}/providers/Microsoft.ApiManagement/service/apim-iac"
VAULT = f"{RG}/providers/Microsoft.KeyVault/vaults/kv-iac"
PRINCIPAL = "5f0c3c6e-3c1d-4b6b-9a57-2f1f0e7a1c11"
TENANT = "72f988bf-0000-0000-0000-000000000000"
PIN = "3B2C1F0A9E8D7C6B5A4F3E2D1C0B9A8F7E6D5C4B"
BACKEND_THUMBPRINT = "A1B2C3D4E5F60718293A4B5C6D7E8F9012345678"
SECRETS_USER = "4633458b-17de-408a-b874-0445c86b69e6"
PROTOCOLS = "Microsoft.WindowsAzure.ApiManagement.Gateway.Security."

GLOBAL_POLICY = f"""<policies>
  <inbound>
    <validate-client-certificate validate-revocation="true" validate-trust="true"
        validate-not-before="true" validate-not-after="true" ignore-error="false">
      <identities>
        <identity thumbprint="{PIN}" />
      </identities>
    </validate-client-certificate>
  </inbound>
  <backend><forward-request /></backend>
  <outbound />
  <on-error />
</policies>"""
API_POLICY = """<policies>
  <inbound><base /><set-backend-service backend-id="patients-backend" /></inbound>
  <backend><base /></backend>
  <outbound><base /></outbound>
  <on-error><base /></on-error>
</policies>"""
OPERATION_POLICY = """<policies>
  <inbound><base /><rate-limit calls="10" renewal-period="60" /></inbound>
  <backend><base /></backend>
  <outbound><base /></outbound>
  <on-error><base /></on-error>
</policies>"""
SECRET_CANARY = "canary-secret-value-must-not-leak-7f3a"


def arm_service(*, broken: bool = False) -> dict[str, Any]:
    """The service as an ARM export holds it (GET shape)."""
    flag = "true" if broken else "false"
    return {
        "id": SERVICE,
        "type": "Microsoft.ApiManagement/service",
        "name": "apim-iac",
        "location": "westeurope",
        "sku": {"name": "Developer", "capacity": 1},
        "identity": {"type": "SystemAssigned", "principalId": PRINCIPAL, "tenantId": TENANT},
        "properties": {
            "publisherName": "Contoso",
            "publisherEmail": "apim@contoso.example",
            "enableClientCertificate": False,
            "hostnameConfigurations": [
                {
                    "type": "Proxy",
                    "hostName": "api.contoso.example",
                    "keyVaultId": "https://kv-iac.vault.azure.net/secrets/gateway-tls",
                    "negotiateClientCertificate": not broken,
                    "defaultSslBinding": True,
                    "certificateSource": "KeyVault",
                }
            ],
            "customProperties": {
                f"{PROTOCOLS}Protocols.Tls10": flag,
                f"{PROTOCOLS}Protocols.Tls11": "false",
                f"{PROTOCOLS}Protocols.Ssl30": "false",
                f"{PROTOCOLS}Backend.Protocols.Tls10": "false",
                f"{PROTOCOLS}Backend.Protocols.Tls11": "false",
                f"{PROTOCOLS}Backend.Protocols.Ssl30": "false",
                f"{PROTOCOLS}Ciphers.TripleDes168": "false",
            },
        },
    }


def _child(path: str, properties: dict[str, Any]) -> dict[str, Any]:
    segments = path.split("/")
    return {
        "id": f"{SERVICE}/{path}",
        "type": "Microsoft.ApiManagement/service/" + "/".join(segments[0::2]),
        "name": segments[-1],
        "properties": properties,
    }


def arm_children(*, broken: bool = False) -> list[dict[str, Any]]:
    backend_url = (
        "http://patients.contoso.example" if broken else "https://patients.contoso.example"
    )
    return [
        _child("policies/policy", {"format": "rawxml", "value": GLOBAL_POLICY}),
        _child(
            "apis/patients",
            {
                "displayName": "Patients",
                "path": "patients",
                "protocols": ["https"],
                "serviceUrl": "https://patients.contoso.example",
                "subscriptionRequired": True,
            },
        ),
        _child("apis/patients/policies/policy", {"format": "rawxml", "value": API_POLICY}),
        _child("apis/patients/operations/get-patient", {}),
        _child(
            "apis/patients/operations/get-patient/policies/policy",
            {"format": "rawxml", "value": OPERATION_POLICY},
        ),
        _child(
            "products/clinical",
            {"displayName": "Clinical", "subscriptionRequired": True, "state": "published"},
        ),
        _child("products/clinical/apis/patients", {}),
        _child(
            "backends/patients-backend",
            {
                "url": backend_url,
                "protocol": "http",
                "tls": {
                    "validateCertificateChain": not broken,
                    "validateCertificateName": True,
                },
                "credentials": {"certificate": [BACKEND_THUMBPRINT]},
            },
        ),
        _child(
            "certificates/backend-client",
            {
                "keyVault": {
                    "secretIdentifier": "https://kv-iac.vault.azure.net/secrets/backend-client"
                },
                "thumbprint": BACKEND_THUMBPRINT,
                "subject": "CN=apim-iac client",
                "expirationDate": "2030-01-01T00:00:00Z",
            },
        ),
        _child(
            "namedValues/environment",
            {"displayName": "environment", "secret": False, "value": "production"},
        ),
        _child("namedValues/api-key", {"displayName": "api-key", "secret": True}),
    ]


def arm_outside() -> list[dict[str, Any]]:
    """The vault and the role assignment that lets the service's identity read it."""
    scope = VAULT
    return [
        {
            "id": VAULT,
            "type": "Microsoft.KeyVault/vaults",
            "name": "kv-iac",
            "location": "westeurope",
            "properties": {
                "tenantId": TENANT,
                "vaultUri": "https://kv-iac.vault.azure.net/",
                "enableRbacAuthorization": True,
                "enableSoftDelete": True,
                "softDeleteRetentionInDays": 90,
                "enablePurgeProtection": True,
                "accessPolicies": [],
            },
        },
        {
            "id": f"{scope}/providers/Microsoft.Authorization/roleAssignments/"
            "1b0c8a4e-0d3f-4c9e-9f6a-6a2b7c3d4e5f",
            "type": "Microsoft.Authorization/roleAssignments",
            "name": "1b0c8a4e-0d3f-4c9e-9f6a-6a2b7c3d4e5f",
            "properties": {
                "scope": scope,
                "roleDefinitionId": f"/subscriptions/{SUB}/providers/Microsoft.Authorization/"
                f"roleDefinitions/{SECRETS_USER}",
                "principalId": PRINCIPAL,
            },
        },
    ]


def arm_export(*, broken: bool = False) -> dict[str, Any]:
    """The whole instance as ``{"value": [...]}`` (an ARM list)."""
    return {"value": [arm_service(broken=broken), *arm_children(broken=broken), *arm_outside()]}


# --- Terraform ---------------------------------------------------------------------------------

_MODULE = "registry.terraform.io/hashicorp/azurerm"


def _change(
    address: str,
    after: dict[str, Any],
    unknown: dict[str, Any] | None = None,
    actions: tuple[str, ...] = ("no-op",),
) -> dict[str, Any]:
    kind, name = address.split(".")[:2]
    return {
        "address": address,
        "mode": "managed",
        "type": kind,
        "name": name,
        "provider_name": _MODULE,
        "change": {
            "actions": list(actions),
            "before": None if actions == ("create",) else after,
            "after": after,
            "after_unknown": unknown or {},
            "before_sensitive": False,
            "after_sensitive": {},
        },
    }


def _refs(address: str, **expressions: str) -> dict[str, Any]:
    kind, name = address.split(".")
    return {
        "address": address,
        "mode": "managed",
        "type": kind,
        "name": name,
        "provider_config_key": "azurerm",
        "expressions": {
            attribute: {"references": [target, target.rsplit(".", 1)[0]]}
            for attribute, target in expressions.items()
        },
        "schema_version": 0,
    }


def _service_values(*, broken: bool) -> dict[str, Any]:
    return {
        "name": "apim-iac",
        "resource_group_name": "rg-apim",
        "location": "westeurope",
        "publisher_name": "Contoso",
        "publisher_email": "apim@contoso.example",
        "sku_name": "Developer_1",
        "client_certificate_enabled": False,
        "identity": [
            {
                "type": "SystemAssigned",
                "identity_ids": [],
                "principal_id": PRINCIPAL,
                "tenant_id": TENANT,
            }
        ],
        "hostname_configuration": [
            {
                "proxy": [
                    {
                        "host_name": "api.contoso.example",
                        "key_vault_certificate_id": "https://kv-iac.vault.azure.net/secrets/"
                        "gateway-tls",
                        "negotiate_client_certificate": not broken,
                        "default_ssl_binding": True,
                        "certificate": None,
                        "certificate_password": None,
                        "certificate_source": "KeyVault",
                        "ssl_keyvault_identity_client_id": None,
                    }
                ],
                "management": [],
                "portal": [],
                "developer_portal": [],
                "scm": [],
            }
        ],
        "security": [
            {
                "frontend_tls10_enabled": broken,
                "frontend_tls11_enabled": False,
                "frontend_ssl30_enabled": False,
                "backend_tls10_enabled": False,
                "backend_tls11_enabled": False,
                "backend_ssl30_enabled": False,
                "triple_des_ciphers_enabled": False,
            }
        ],
        "certificate": [],
    }


def _apim_child(address: str, **values: Any) -> tuple[str, dict[str, Any]]:
    return address, {"api_management_name": "apim-iac", "resource_group_name": "rg-apim", **values}


def terraform_plan(*, broken: bool = False) -> dict[str, Any]:
    """A plan against the deployed instance: everything known (an update plan)."""
    backend_url = (
        "http://patients.contoso.example" if broken else "https://patients.contoso.example"
    )
    service_id = "azurerm_api_management.apim"
    children = [
        (
            "azurerm_api_management_policy.global",
            {"api_management_id": SERVICE, "xml_content": GLOBAL_POLICY, "xml_link": None},
        ),
        _apim_child(
            "azurerm_api_management_api.patients",
            name="patients",
            revision="1",
            display_name="Patients",
            path="patients",
            protocols=["https"],
            service_url="https://patients.contoso.example",
            subscription_required=True,
            source_api_id=None,
        ),
        _apim_child(
            "azurerm_api_management_api_policy.patients",
            api_name="patients",
            xml_content=API_POLICY,
            xml_link=None,
        ),
        _apim_child(
            "azurerm_api_management_api_operation.get_patient",
            api_name="patients",
            operation_id="get-patient",
            display_name="Get patient",
            method="GET",
            url_template="/patients/{id}",
        ),
        _apim_child(
            "azurerm_api_management_api_operation_policy.get_patient",
            api_name="patients",
            operation_id="get-patient",
            xml_content=OPERATION_POLICY,
            xml_link=None,
        ),
        _apim_child(
            "azurerm_api_management_product.clinical",
            product_id="clinical",
            display_name="Clinical",
            subscription_required=True,
            published=True,
            approval_required=False,
        ),
        _apim_child(
            "azurerm_api_management_product_api.clinical_patients",
            product_id="clinical",
            api_name="patients",
        ),
        _apim_child(
            "azurerm_api_management_backend.patients",
            name="patients-backend",
            protocol="http",
            url=backend_url,
            tls=[{"validate_certificate_chain": not broken, "validate_certificate_name": True}],
            credentials=[
                {
                    "certificate": [BACKEND_THUMBPRINT],
                    "header": None,
                    "query": None,
                    "authorization": [],
                }
            ],
            proxy=[],
            service_fabric_cluster=[],
        ),
        _apim_child(
            "azurerm_api_management_certificate.backend_client",
            name="backend-client",
            key_vault_secret_id="https://kv-iac.vault.azure.net/secrets/backend-client",
            key_vault_identity_client_id=None,
            data=None,
            password=None,
            thumbprint=BACKEND_THUMBPRINT,
            subject="CN=apim-iac client",
            expiration="2030-01-01T00:00:00Z",
        ),
        _apim_child(
            "azurerm_api_management_named_value.environment",
            name="environment",
            display_name="environment",
            secret=False,
            value="production",
            value_from_key_vault=[],
        ),
        _apim_child(
            "azurerm_api_management_named_value.api_key",
            name="api-key",
            display_name="api-key",
            secret=True,
            value=SECRET_CANARY,
            value_from_key_vault=[],
        ),
    ]
    vault = {
        "name": "kv-iac",
        "resource_group_name": "rg-apim",
        "location": "westeurope",
        "tenant_id": TENANT,
        "sku_name": "standard",
        "vault_uri": "https://kv-iac.vault.azure.net/",
        "rbac_authorization_enabled": True,
        "purge_protection_enabled": True,
        "soft_delete_retention_days": 90,
        "access_policy": [],
        "network_acls": [],
        "id": VAULT,
    }
    role = {
        "name": "1b0c8a4e-0d3f-4c9e-9f6a-6a2b7c3d4e5f",
        "scope": VAULT,
        "role_definition_name": "Key Vault Secrets User",
        "role_definition_id": None,
        "principal_id": PRINCIPAL,
    }
    changes = [
        _change(service_id, _service_values(broken=broken) | {"id": SERVICE}),
        *(_change(address, values) for address, values in children),
        _change("azurerm_key_vault.kv", vault),
        _change("azurerm_role_assignment.apim_secrets", role),
    ]
    return {
        "format_version": "1.2",
        "terraform_version": "1.9.5",
        "planned_values": {"root_module": {"resources": []}},
        "resource_changes": changes,
        "configuration": {
            "provider_config": {"azurerm": {"name": "azurerm"}},
            "root_module": {"resources": []},
        },
    }


def terraform_create_plan() -> dict[str, Any]:
    """A first deployment: ids, the identity's principal and a few inputs known only after
    apply; references in ``configuration`` link the resources."""
    plan = terraform_plan()
    changes = plan["resource_changes"]
    for change in changes:
        body = change["change"]
        body["actions"], body["before"] = ["create"], None
        body["after"].pop("id", None)
        body["after_unknown"]["id"] = True
    service = changes[0]["change"]
    service["after"]["identity"][0].pop("principal_id")
    service["after_unknown"]["identity"] = [{"principal_id": True, "tenant_id": True}]
    service["after"]["identity"][0].pop("tenant_id")
    # the hostname's certificate comes from a certificate resource created in the same run
    proxy = service["after"]["hostname_configuration"][0]["proxy"][0]
    proxy.pop("key_vault_certificate_id")
    service["after_unknown"]["hostname_configuration"] = [
        {"proxy": [{"key_vault_certificate_id": True}]}
    ]
    by_address = {c["address"]: c["change"] for c in changes}
    backend = by_address["azurerm_api_management_backend.patients"]
    backend["after"].pop("url")
    backend["after_unknown"]["url"] = True
    role = by_address["azurerm_role_assignment.apim_secrets"]
    role["after"].pop("principal_id")
    role["after"].pop("scope")
    role["after_unknown"] |= {"principal_id": True, "scope": True}
    by_address["azurerm_key_vault.kv"]["after"].pop("vault_uri")
    by_address["azurerm_key_vault.kv"]["after_unknown"]["vault_uri"] = True
    policy = by_address["azurerm_api_management_policy.global"]["after"]
    policy.pop("api_management_id")
    by_address["azurerm_api_management_policy.global"]["after_unknown"]["api_management_id"] = True
    plan["configuration"]["root_module"]["resources"] = [
        _refs(
            "azurerm_role_assignment.apim_secrets",
            principal_id="azurerm_api_management.apim.identity[0].principal_id",
            scope="azurerm_key_vault.kv.id",
        ),
        _refs(
            "azurerm_api_management_policy.global",
            api_management_id="azurerm_api_management.apim.id",
        ),
        _refs(
            "azurerm_api_management_backend.patients",
            url="azurerm_linux_web_app.patients.default_hostname",
        ),
    ]
    return plan


def terraform_state(*, broken: bool = False) -> dict[str, Any]:
    """The same instance as `terraform show -json` of the state, the backend in a module."""
    plan = terraform_plan(broken=broken)
    resources = []
    nested = []
    for change in plan["resource_changes"]:
        entry = {k: change[k] for k in ("address", "mode", "type", "name", "provider_name")}
        entry |= {"schema_version": 0, "values": change["change"]["after"], "sensitive_values": {}}
        if entry["type"] == "azurerm_api_management_backend":
            entry["address"] = "module.backends." + entry["address"]
            nested.append(entry)
        else:
            resources.append(entry)
    return {
        "format_version": "1.0",
        "terraform_version": "1.9.5",
        "values": {
            "root_module": {
                "resources": resources,
                "child_modules": [{"address": "module.backends", "resources": nested}],
            }
        },
    }


# --- APIOps ------------------------------------------------------------------------------------


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def _info(path: Path, properties: dict[str, Any]) -> None:
    _write(path, json.dumps({"properties": properties}, indent=2))


def apiops_folder(root: Path, *, broken: bool = False) -> Path:
    """The extractor's folder for the instance's APIM children (no service, no vault)."""
    folder = root / "artifacts"
    by_id = {r["id"][len(SERVICE) + 1 :]: r["properties"] for r in arm_children(broken=broken)}
    _write(folder / "policy.xml", GLOBAL_POLICY)
    _info(folder / "apis/patients/apiInformation.json", by_id["apis/patients"])
    _write(folder / "apis/patients/policy.xml", API_POLICY)
    _write(folder / "apis/patients/operations/get-patient/policy.xml", OPERATION_POLICY)
    _write(
        folder / "apis/patients/specification.yaml",
        "openapi: 3.0.1\ninfo:\n  title: Patients\n  version: '1'\npaths:\n"
        "  /patients/{id}:\n    get:\n      operationId: get-patient\n"
        "      responses:\n        '200':\n          description: OK\n",
    )
    _info(folder / "products/clinical/productInformation.json", by_id["products/clinical"])
    _write(folder / "products/clinical/apis/patients/productApiInformation.json", "{}")
    _info(
        folder / "backends/patients-backend/backendInformation.json",
        by_id["backends/patients-backend"],
    )
    _info(
        folder / "named values/environment/namedValueInformation.json",
        {"displayName": "environment", "secret": False, "value": "staging"},
    )
    _info(
        folder / "named values/api-key/namedValueInformation.json",
        {"displayName": "api-key", "secret": True},
    )
    return folder


def apiops_configuration(root: Path) -> Path:
    """The publisher's production overrides (the environment named value's value)."""
    path = root / "configuration.prod.yaml"
    _write(
        path,
        "apimServiceName: apim-iac\n"
        "namedValues:\n"
        "  - name: environment\n"
        "    properties:\n"
        "      displayName: environment\n"
        "      value: production\n"
        "  - name: api-key\n"
        "    properties:\n"
        "      displayName: api-key\n"
        f'      value: "{SECRET_CANARY}"\n',
    )
    return path


def apiops_service_export(root: Path, *, broken: bool = False) -> Path:
    """What APIOps does not hold: the service, the backend certificate, vault and role."""
    certificate = next(c for c in arm_children() if c["type"].endswith("/certificates"))
    document = {"value": [arm_service(broken=broken), copy.deepcopy(certificate), *arm_outside()]}
    path = root / "service.json"
    _write(path, json.dumps(document, indent=2))
    return path
