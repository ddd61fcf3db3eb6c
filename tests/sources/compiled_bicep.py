"""One APIM instance written twice: as an ARM export (what the resource API returns) and as the
template ``bicep build`` makes of a current Bicep file (languageVersion 2.0: symbolic names,
user-defined types, nullable parameters, lambdas, ``existing`` resources, a module)."""

from __future__ import annotations

from typing import Any

from .arm_support import APIM, PARAMS_SCHEMA, TEMPLATE_SCHEMA

NAME = "apim-eq"
SERVICE_ID = f"{APIM}/{NAME}"
VAULT = "https://kv-eq.vault.azure.net/secrets"
POLICY = (
    "<policies>\n  <inbound>\n"
    '    <validate-client-certificate validate-revocation="true" validate-trust="true"'
    ' validate-not-before="true" validate-not-after="true" ignore-error="false">\n'
    '      <identities><identity issuer-subject="CN=Eq Partners CA" /></identities>\n'
    "    </validate-client-certificate>\n  </inbound>\n"
    "  <backend><forward-request /></backend>\n  <outbound />\n  <on-error />\n</policies>"
)
TLS_OFF = {
    f"Microsoft.WindowsAzure.ApiManagement.Gateway.Security.{side}Protocols.{protocol}": "False"
    for side in ("", "Backend.")
    for protocol in ("Tls10", "Tls11", "Ssl30")
} | {"Microsoft.WindowsAzure.ApiManagement.Gateway.Security.Ciphers.TripleDes168": "False"}
# (name, url, validate chain and name, client certificate)
BACKENDS = [
    ("labs", "https://labs.internal.example/api", True, "labs-client"),
    ("billing", "https://billing.internal.example", True, None),
]


def hostnames(hosts: list[str], negotiate: bool = True) -> list[dict[str, Any]]:
    return [
        {
            "type": "Proxy",
            "hostName": host,
            "negotiateClientCertificate": negotiate,
            "certificateSource": "KeyVault",
            "keyVaultId": f"{VAULT}/gw",
        }
        for host in hosts
    ]


def export(hosts: list[str], *, negotiate: bool = True) -> list[dict[str, Any]]:
    """The instance as ``az resource list`` / the resource API shows it."""

    def child(kind: str, name: str, props: dict[str, Any]) -> dict[str, Any]:
        return {
            "id": f"{SERVICE_ID}/{kind}/{name}",
            "type": f"Microsoft.ApiManagement/service/{kind}",
            "name": name,
            "properties": props,
        }

    service = {
        "id": SERVICE_ID,
        "type": "Microsoft.ApiManagement/service",
        "name": NAME,
        "location": "West Europe",
        "sku": {"name": "Developer", "capacity": 1},
        "identity": {
            "type": "SystemAssigned",
            "principalId": "11111111-2222-3333-4444-555555555555",
        },
        "properties": {
            "publisherEmail": "apim@example.org",
            "publisherName": "Eq",
            "provisioningState": "Succeeded",
            "hostnameConfigurations": hostnames(hosts, negotiate),
            "customProperties": TLS_OFF,
        },
    }
    backends = [
        child("backends", name, backend_properties(url, chain, cert))
        for name, url, chain, cert in BACKENDS
    ]
    return [
        service,
        *backends,
        child("certificates", "labs-client", {"keyVault": {"secretIdentifier": f"{VAULT}/labs"}}),
        child("policies", "policy", {"format": "rawxml", "value": POLICY}),
    ]


def backend_properties(url: str, chain: bool, cert: str | None) -> dict[str, Any]:
    props: dict[str, Any] = {
        "url": url,
        "protocol": "http",
        "tls": {"validateCertificateChain": chain, "validateCertificateName": chain},
    }
    if cert:
        props["credentials"] = {"certificateIds": [f"{SERVICE_ID}/certificates/{cert}"]}
    return props


def _apim_type(child: str) -> str:
    return f"Microsoft.ApiManagement/service/{child}"


def compiled() -> dict[str, Any]:
    """What ``bicep build`` writes for the same instance (values come from parameters)."""
    backend = "parameters('backends')[copyIndex()]"
    return {
        "$schema": TEMPLATE_SCHEMA,
        "languageVersion": "2.0",
        "contentVersion": "1.0.0.0",
        "metadata": {"_generator": {"name": "bicep", "version": "0.33.93.31351"}},
        "definitions": {
            "backendType": {
                "type": "object",
                "properties": {
                    "name": {"type": "string"},
                    "url": {"type": "string"},
                    "clientCertificate": {"type": "string", "nullable": True},
                },
            },
            "tlsType": {
                "type": "object",
                "properties": {
                    "validateCertificateChain": {"type": "bool"},
                    "validateCertificateName": {"type": "bool"},
                },
            },
        },
        "parameters": {
            "apimName": {"type": "string"},
            "location": {"type": "string", "defaultValue": "[resourceGroup().location]"},
            "publisherEmail": {"type": "string"},
            "hosts": {"type": "array", "items": {"type": "string"}},
            "negotiate": {"type": "bool", "defaultValue": True},
            "backends": {"type": "array", "items": {"$ref": "#/definitions/backendType"}},
            "backendTls": {"$ref": "#/definitions/tlsType", "nullable": True},
            "vaultName": {"type": "string"},
            "tags": {"type": "object", "nullable": True},
        },
        "variables": {
            "vaultUri": "[format('https://{0}.vault.azure.net/secrets', parameters('vaultName'))]",
            "protocols": ["Tls10", "Tls11", "Ssl30"],
            "prefix": "Microsoft.WindowsAzure.ApiManagement.Gateway.Security.",
            "customProperties": (
                "[shallowMerge(flatten(map(variables('protocols'), lambda('p', createArray("
                "createObject(format('{0}Protocols.{1}', variables('prefix'), "
                "lambdaVariables('p')), 'False'), createObject(format('{0}Backend.Protocols.{1}', "
                "variables('prefix'), lambdaVariables('p')), 'False'))))))]"
            ),
            "ciphers": (
                "[createObject(format('{0}Ciphers.TripleDes168', variables('prefix')), 'False')]"
            ),
            "policy": POLICY,
        },
        "resources": {
            "vault": {
                "existing": True,
                "type": "Microsoft.KeyVault/vaults",
                "apiVersion": "2023-07-01",
                "name": "[parameters('vaultName')]",
            },
            "apim": {
                "type": "Microsoft.ApiManagement/service",
                "apiVersion": "2024-05-01",
                "name": "[parameters('apimName')]",
                "location": "[deployment().location]",
                "tags": "[parameters('tags')]",
                "sku": {"name": "Developer", "capacity": 1},
                "identity": {"type": "SystemAssigned"},
                "properties": {
                    "publisherEmail": "[parameters('publisherEmail')]",
                    "publisherName": "Eq",
                    "hostnameConfigurations": (
                        "[map(parameters('hosts'), lambda('h', createObject('type', 'Proxy', "
                        "'hostName', lambdaVariables('h'), 'negotiateClientCertificate', "
                        "parameters('negotiate'), 'certificateSource', 'KeyVault', 'keyVaultId', "
                        "format('{0}/gw', variables('vaultUri')))))]"
                    ),
                    "customProperties": (
                        "[union(variables('customProperties'), variables('ciphers'))]"
                    ),
                },
            },
            "backend": {
                "copy": {"name": "backend", "count": "[length(parameters('backends'))]"},
                "type": _apim_type("backends"),
                "apiVersion": "2024-05-01",
                "name": f"[format('{{0}}/{{1}}', parameters('apimName'), {backend}.name)]",
                "properties": (
                    f"[shallowMerge(createArray(createObject('url', {backend}.url, 'protocol', "
                    "'http', 'tls', coalesce(parameters('backendTls'), createObject("
                    "'validateCertificateChain', true(), 'validateCertificateName', true()))), "
                    f"if(empty(tryGet({backend}, 'clientCertificate')), createObject(), "
                    "createObject('credentials', createObject('certificateIds', createArray("
                    "resourceId('Microsoft.ApiManagement/service/certificates', "
                    f"parameters('apimName'), {backend}.clientCertificate)))))))]"
                ),
                "dependsOn": ["apim", "policies"],
            },
            "policies": {
                "type": "Microsoft.Resources/deployments",
                "apiVersion": "2022-09-01",
                "name": "policies",
                "properties": {
                    "expressionEvaluationOptions": {"scope": "inner"},
                    "mode": "Incremental",
                    "parameters": {
                        "apimName": {"value": "[parameters('apimName')]"},
                        "vaultUri": {"value": "[variables('vaultUri')]"},
                        "policy": {"value": "[variables('policy')]"},
                    },
                    "template": _module(),
                },
                "dependsOn": ["apim"],
            },
        },
    }


def _module() -> dict[str, Any]:
    """A Bicep module: the certificate and the global policy, with symbolic names too."""
    return {
        "$schema": TEMPLATE_SCHEMA,
        "languageVersion": "2.0",
        "contentVersion": "1.0.0.0",
        "parameters": {
            "apimName": {"type": "string"},
            "vaultUri": {"type": "string"},
            "policy": {"type": "string"},
        },
        "resources": {
            "apim": {
                "existing": True,
                "type": "Microsoft.ApiManagement/service",
                "apiVersion": "2024-05-01",
                "name": "[parameters('apimName')]",
            },
            "certificate": {
                "type": _apim_type("certificates"),
                "apiVersion": "2024-05-01",
                "name": "[format('{0}/{1}', parameters('apimName'), 'labs-client')]",
                "properties": {
                    "keyVault": {"secretIdentifier": "[format('{0}/labs', parameters('vaultUri'))]"}
                },
                "dependsOn": ["apim"],
            },
            "policy": {
                "type": _apim_type("policies"),
                "apiVersion": "2024-05-01",
                "name": "[format('{0}/{1}', parameters('apimName'), 'policy')]",
                "properties": {"format": "rawxml", "value": "[parameters('policy')]"},
                "dependsOn": ["apim"],
            },
        },
    }


def parameters(hosts: list[str], **extra: Any) -> dict[str, Any]:
    """A parameters file as ``bicep build-params`` or a hand-written one has it (2019-04-01)."""
    values: dict[str, Any] = {
        "apimName": NAME,
        "hosts": hosts,
        "vaultName": "kv-eq",
        "backends": [
            {"name": name, "url": url} | ({"clientCertificate": cert} if cert else {})
            for name, url, _, cert in BACKENDS
        ],
    } | extra
    return {
        "$schema": PARAMS_SCHEMA,
        "contentVersion": "1.0.0.0",
        "parameters": {name: {"value": value} for name, value in values.items()},
    }
