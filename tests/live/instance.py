"""The API Management instance the fake Azure serves, as a list of ARM resources.

The same list can be written to a file for the offline source, so that "assessed live" and
"assessed offline" can be compared on one instance. Bodies follow Microsoft's REST examples
(the shared corpora's ``arm-examples``). Certificates are made with ``cryptography`` on the spot.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tests.redaction.canaries import Canaries, policy_text

Json = dict[str, Any]

SUBSCRIPTION = "3f1b6a52-8c1e-4d0a-9a57-2f0c1d3e4b5a"
RESOURCE_GROUP = "rg-mtls"
SERVICE = "apim-mtls"
TENANT = "72f988bf-86f1-41af-91ab-2d7cd011db47"
APIM_PRINCIPAL = "5d1e2c3b-4a59-4d6e-8f70-91a2b3c4d5e6"
CUSTOM_ROLE = "9c0d1e2f-3a4b-4c5d-8e6f-708192a3b4c5"
SERVICE_ID = (
    f"/subscriptions/{SUBSCRIPTION}/resourceGroups/{RESOURCE_GROUP}"
    f"/providers/Microsoft.ApiManagement/service/{SERVICE}"
)
VAULT_ID = (
    f"/subscriptions/{SUBSCRIPTION}/resourceGroups/rg-security"
    "/providers/Microsoft.KeyVault/vaults/kv-mtls"
)
KV_CERTIFICATE_USER = "db79e9a7-68ee-4b58-9aeb-b90e7c24fcba"
KV_SECRETS_USER = "4633458b-17de-408a-b874-0445c86b69e6"

# Values a collector must never let into a snapshot or a log: entity properties, and every
# policy construct that can carry a secret (in an API policy and in a fragment).
POLICY_CANARIES = Canaries()
PLANTED_POLICY = policy_text(POLICY_CANARIES, "live API policy")
PLANTED_FRAGMENT = policy_text(POLICY_CANARIES, "live fragment").replace("policies>", "fragment>")
PLANTED_SECRETS = (
    "nv-secret-value-PLANTED-1b7e",
    "pfx-password-PLANTED-44c2",
    "UEZYLWJvZHktUExBTlRFRC05YTNm",
    "proxy-password-PLANTED-0d9e",
    "basic-credential-PLANTED-6f21",
    "subscription-key-PLANTED-c0ff",
    "hostname-pfx-PLANTED-5e1a",
    "hostname-password-PLANTED-93bd",
    "ca-password-PLANTED-27f0",
    "backend-header-PLANTED-e4c8",
    "backend-query-PLANTED-71aa",
    *POLICY_CANARIES.planted,
)

_VALIDATE = (
    '<policies><inbound><base /><validate-client-certificate validate-revocation="true" '
    'validate-trust="true" validate-not-before="true" validate-not-after="true">'
    '<identities><identity issuer-subject="CN=Contoso Clients CA" /></identities>'
    "</validate-client-certificate></inbound><backend><base /></backend>"
    "<outbound><base /></outbound><on-error><base /></on-error></policies>"
)


@dataclass(frozen=True)
class Instance:
    resources: list[Json]
    certificates: dict[str, Json]  # Key Vault certificate bundles (wire JSON) by name
    vault_url: str

    def write(self, path: Path) -> Path:
        """The resource list as a file for the offline source."""
        path.write_text(json.dumps(self.resources, indent=2), encoding="utf-8")
        return path

    def thumbprint(self, name: str) -> str:
        der = base64.b64decode(self.certificates[name]["cer"])
        return hashlib.sha1(der).hexdigest().upper()


def _resource(parent: str, kind: str, name: str, properties: Json, **extra: Any) -> Json:
    parent_type = extra.pop("parent_type", "Microsoft.ApiManagement/service")
    return {
        "id": f"{parent}/{kind}/{name}",
        "type": f"{parent_type}/{kind}",
        "name": name,
        "properties": properties,
        **extra,
    }


def _policy(parent: str, parent_type: str, text: str = _VALIDATE) -> Json:
    # ``format=xml`` is the policy as well-formed XML (see corpora/arm-examples), not the
    # document entity-escaped as a whole.
    body = {"format": "xml", "value": text}
    return _resource(parent, "policies", "policy", body, parent_type=parent_type)


def _bundle(vault_url: str, name: str) -> Json:
    now = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"{name}.contoso.example")])
    certificate = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + dt.timedelta(days=365))
        .sign(key, hashes.SHA256())
    )
    der = certificate.public_bytes(serialization.Encoding.DER)
    version = hashlib.md5(name.encode(), usedforsecurity=False).hexdigest()
    stamp = int(now.timestamp())
    return {
        "id": f"{vault_url}/certificates/{name}/{version}",
        "kid": f"{vault_url}/keys/{name}/{version}",
        "sid": f"{vault_url}/secrets/{name}/{version}",
        "x5t": base64.urlsafe_b64encode(hashlib.sha1(der).digest()).decode().rstrip("="),
        "cer": base64.b64encode(der).decode(),
        "attributes": {
            "enabled": True,
            "nbf": stamp,
            "exp": stamp + 365 * 86400,
            "created": stamp,
            "updated": stamp,
            "recoveryLevel": "Recoverable",
            "recoverableDays": 90,
        },
        "policy": {
            "id": f"{vault_url}/certificates/{name}/policy",
            "key_props": {"exportable": True, "kty": "RSA", "key_size": 2048, "reuse_key": False},
            "secret_props": {"contentType": "application/x-pkcs12"},
            "x509_props": {"subject": f"CN={name}.contoso.example", "validity_months": 12},
            "lifetime_actions": [
                {"trigger": {"days_before_expiry": 30}, "action": {"action_type": "AutoRenew"}}
            ],
            "issuer": {"name": "Self"},
            "attributes": {"enabled": True, "created": stamp, "updated": stamp},
        },
        "tags": {"owner": "platform"},
    }


def _service(vault_url: str) -> Json:
    return {
        "id": SERVICE_ID,
        "type": "Microsoft.ApiManagement/service",
        "name": SERVICE,
        "location": "West Europe",
        "etag": "AAAAAAAWN/4=",
        "sku": {"name": "Premium", "capacity": 1},
        "identity": {"type": "SystemAssigned", "principalId": APIM_PRINCIPAL, "tenantId": TENANT},
        "properties": {
            "publisherEmail": "apis@contoso.example",
            "publisherName": "Contoso",
            "provisioningState": "Succeeded",
            "createdAtUtc": "2024-03-01T10:00:00.0000000Z",
            "gatewayUrl": f"https://{SERVICE}.azure-api.net",
            "hostnameConfigurations": [
                {
                    "type": "Proxy",
                    "hostName": f"{SERVICE}.azure-api.net",
                    "negotiateClientCertificate": False,
                    "defaultSslBinding": False,
                    "certificateSource": "BuiltIn",
                },
                {
                    "type": "Proxy",
                    "hostName": "api.contoso.example",
                    "keyVaultId": f"{vault_url}/secrets/gateway-cert",
                    "negotiateClientCertificate": True,
                    "defaultSslBinding": True,
                    "certificateSource": "KeyVault",
                },
            ],
            "customProperties": {
                "Microsoft.WindowsAzure.ApiManagement.Gateway.Security.Protocols.Tls10": "false",
                "Microsoft.WindowsAzure.ApiManagement.Gateway.Security.Protocols.Tls11": "False",
            },
            "certificates": [
                {
                    "storeName": "Root",
                    "certificate": {
                        "expiry": "2030-01-01T00:00:00+00:00",
                        "thumbprint": "0123456789ABCDEF0123456789ABCDEF01234567",
                        "subject": "CN=Contoso Clients CA",
                    },
                }
            ],
            "virtualNetworkType": "None",
            "publicNetworkAccess": "Enabled",
            "platformVersion": "stv2",
        },
        "systemData": {"createdBy": "ops@contoso.example", "createdByType": "User"},
    }


def _apis_and_products(apis: int, operations: int) -> list[Json]:
    """APIs, operations, products and their links, with policies at every kind of scope."""
    sid = SERVICE_ID
    out: list[Json] = [_policy(sid, "Microsoft.ApiManagement/service")]
    api_ids = []
    for i in range(apis):
        api = _resource(
            sid,
            "apis",
            f"api-{i}",
            {
                "displayName": f"Patients {i}",
                "apiRevision": "1",
                "path": f"patients{i}",
                "protocols": ["https"],
                "isCurrent": True,
                "serviceUrl": f"https://backend.contoso.example/p{i}",
            },
        )
        api_ids.append(api["id"])
        out.append(api)
        if i % 5 < 3:
            out.append(_policy(api["id"], "Microsoft.ApiManagement/service/apis"))
        for j in range(operations):
            operation = _resource(
                api["id"],
                "operations",
                f"op-{j}",
                {
                    "displayName": f"Get {j}",
                    "method": "GET",
                    "urlTemplate": f"/items/{j}",
                },
                parent_type="Microsoft.ApiManagement/service/apis",
            )
            out.append(operation)
            if (i * operations + j) % 10 == 0:
                parent_type = "Microsoft.ApiManagement/service/apis/operations"
                out.append(_policy(operation["id"], parent_type))
    for name, linked in (("starter", api_ids[:1]), ("clinical", api_ids)):
        product = _resource(
            sid,
            "products",
            name,
            {
                "displayName": name.title(),
                "subscriptionRequired": True,
                "state": "published",
            },
        )
        out.append(product)
        for api_id in linked:
            api_name = api_id.rsplit("/", 1)[1]
            link = _resource(
                product["id"],
                "apis",
                api_name,
                {"path": api_name},
                parent_type="Microsoft.ApiManagement/service/products",
            )
            out.append(link)
        if name == "clinical":
            out.append(_policy(product["id"], "Microsoft.ApiManagement/service/products"))
    return out


def _service_entities(vault_url: str, plant: bool) -> list[Json]:
    """Fragments, backends, certificates, named values, subscriptions, gateway, workspace."""
    sid = SERVICE_ID
    out: list[Json] = []
    fragment_text = (
        '<fragment><set-header name="x-mtls" exists-action="override">'
        "<value>1</value></set-header></fragment>"
    )
    out.append(
        _resource(
            sid,
            "policyFragments",
            "mtls-header",
            {"format": "xml", "description": "marks mTLS", "value": fragment_text},
        )
    )
    backend: Json = {
        "url": "https://backend.contoso.example/",
        "protocol": "http",
        "credentials": {"certificateIds": [f"{sid}/certificates/client-kv"]},
        "tls": {"validateCertificateChain": True, "validateCertificateName": True},
    }
    certificate: Json = {
        "subject": "CN=gateway-client",
        "thumbprint": "ABCDEF0123456789ABCDEF0123456789ABCDEF01",
        "expirationDate": "2027-01-01T00:00:00Z",
        "keyVault": {
            "secretIdentifier": f"{vault_url}/secrets/client-kv",
            "lastStatus": {"code": "Success", "timeStampUtc": "2026-11-01T00:00:00Z"},
        },
    }
    uploaded: Json = {
        "subject": "CN=uploaded",
        "thumbprint": "11" * 20,
        "expirationDate": "2026-12-24T00:00:00Z",
    }
    secret_nv: Json = {"displayName": "backend-secret", "secret": True}
    subscription: Json = {
        "displayName": "Team A",
        "scope": f"{sid}/apis",
        "state": "active",
        "allowTracing": False,
    }
    if plant:
        secret_nv["value"] = PLANTED_SECRETS[0]
        uploaded.update(password=PLANTED_SECRETS[1], data=PLANTED_SECRETS[2])
        backend["proxy"] = {"url": "http://proxy.contoso.example", "password": PLANTED_SECRETS[3]}
        backend["credentials"]["authorization"] = {
            "scheme": "Basic",
            "parameter": PLANTED_SECRETS[4],
        }
        backend["credentials"]["header"] = {"x-functions-key": [PLANTED_SECRETS[9]]}
        backend["credentials"]["query"] = {"code": [PLANTED_SECRETS[10]]}
        subscription.update(primaryKey=PLANTED_SECRETS[5], secondaryKey=PLANTED_SECRETS[5])
        out += [
            _resource(sid, "apis", "planted", {"displayName": "Planted", "path": "planted"}),
            _policy(f"{sid}/apis/planted", "Microsoft.ApiManagement/service/apis", PLANTED_POLICY),
            _resource(
                sid, "policyFragments", "planted", {"format": "xml", "value": PLANTED_FRAGMENT}
            ),
        ]
    out += [
        _resource(sid, "backends", "patients-backend", backend),
        _resource(sid, "backends", "orders-fabric", _fabric_backend(sid)),
        _resource(sid, "certificates", "client-kv", certificate),
        _resource(sid, "certificates", "uploaded-ca", uploaded),
        _resource(
            sid, "namedValues", "plain", {"displayName": "region", "value": "weu", "secret": False}
        ),
        _resource(sid, "namedValues", "secret", secret_nv),
        _resource(
            sid,
            "namedValues",
            "from-kv",
            {
                "displayName": "backend-key",
                "secret": True,
                "keyVault": {"secretIdentifier": f"{vault_url}/secrets/backend-key"},
            },
        ),
        _resource(sid, "subscriptions", "team-a", subscription),
    ]
    gateway = _resource(
        sid,
        "gateways",
        "onprem",
        {"description": "on-premises gateway", "locationData": {"name": "Amsterdam"}},
    )
    gateway_type = "Microsoft.ApiManagement/service/gateways"
    workspace = _resource(sid, "workspaces", "team-a", {"displayName": "Team A"})
    out += [
        gateway,
        _resource(
            gateway["id"],
            "hostnameConfigurations",
            "default",
            {
                "hostname": "onprem.contoso.example",
                "certificateId": f"{sid}/certificates/client-kv",
                "negotiateClientCertificate": True,
                "tls10Enabled": False,
                "tls11Enabled": False,
                "http2Enabled": True,
            },
            parent_type=gateway_type,
        ),
        _resource(
            gateway["id"],
            "certificateAuthorities",
            "uploaded-ca",
            {"isTrusted": True},
            parent_type=gateway_type,
        ),
        workspace,
        _policy(workspace["id"], "Microsoft.ApiManagement/service/workspaces"),
    ]
    return out


def _key_vault(vault_url: str) -> list[Json]:
    def assignment(scope: str, guid: str, role: str) -> Json:
        return {
            "id": f"{scope}/providers/Microsoft.Authorization/roleAssignments/{guid}",
            "type": "Microsoft.Authorization/roleAssignments",
            "name": guid,
            "properties": {
                "roleDefinitionId": f"/subscriptions/{SUBSCRIPTION}/providers/"
                f"Microsoft.Authorization/roleDefinitions/{role}",
                "principalId": APIM_PRINCIPAL,
                "principalType": "ServicePrincipal",
                "scope": scope,
            },
        }

    role_definition = {
        "id": f"/subscriptions/{SUBSCRIPTION}/providers/Microsoft.Authorization/"
        f"roleDefinitions/{CUSTOM_ROLE}",
        "type": "Microsoft.Authorization/roleDefinitions",
        "name": CUSTOM_ROLE,
        "properties": {
            "roleName": "Secret readers (custom)",
            "type": "CustomRole",
            "permissions": [
                {
                    "actions": [],
                    "notActions": [],
                    "dataActions": ["Microsoft.KeyVault/vaults/secrets/getSecret/action"],
                    "notDataActions": [],
                }
            ],
            "assignableScopes": [f"/subscriptions/{SUBSCRIPTION}"],
        },
    }
    vault = {
        "id": VAULT_ID,
        "type": "Microsoft.KeyVault/vaults",
        "name": "kv-mtls",
        "location": "westeurope",
        "properties": {
            "tenantId": TENANT,
            "sku": {"family": "A", "name": "standard"},
            "accessPolicies": [],
            "enableRbacAuthorization": True,
            "enableSoftDelete": True,
            "enablePurgeProtection": True,
            "vaultUri": f"{vault_url}/",
            "networkAcls": {"bypass": "AzureServices", "defaultAction": "Deny"},
            "provisioningState": "Succeeded",
        },
    }
    return [
        vault,
        assignment(VAULT_ID, "0a1b2c3d-0000-4000-8000-000000000001", KV_CERTIFICATE_USER),
        assignment(
            f"/subscriptions/{SUBSCRIPTION}", "0a1b2c3d-0000-4000-8000-000000000002", CUSTOM_ROLE
        ),
        assignment(
            f"{VAULT_ID}/secrets/backend-key",
            "0a1b2c3d-0000-4000-8000-000000000003",
            KV_SECRETS_USER,
        ),
        role_definition,
    ]


def build_instance(
    vault_url: str, *, apis: int = 5, operations: int = 3, plant_secrets: bool = False
) -> Instance:
    """One Premium APIM service with its children, one Key Vault and the roles on it."""
    vault_url = vault_url.rstrip("/")
    service = _service(vault_url)
    if plant_secrets:
        properties = service["properties"]
        properties["hostnameConfigurations"].append(
            {
                "type": "Management",
                "hostName": "mgmt.contoso.example",
                "encodedCertificate": PLANTED_SECRETS[6],
                "certificatePassword": PLANTED_SECRETS[7],
            }
        )
        properties["certificates"][0]["certificatePassword"] = PLANTED_SECRETS[8]
    resources = [
        service,
        *_apis_and_products(apis, operations),
        *_service_entities(vault_url, plant_secrets),
        *_key_vault(vault_url),
    ]
    certificates = {name: _bundle(vault_url, name) for name in ("gateway-cert", "client-kv")}
    return Instance(resources, certificates, vault_url)


def _fabric_backend(sid: str) -> Json:
    """A Service Fabric backend, as the backends API returns one."""
    return {
        "url": "fabric:/shop/orders",
        "protocol": "http",
        "properties": {
            "serviceFabricCluster": {
                "clientCertificateId": f"{sid}/certificates/client-kv",
                "managementEndpoints": ["https://sf.contoso.example:19080"],
                "maxPartitionResolutionRetries": 5,
                "serverX509Names": [
                    {"name": "CN=sf.contoso.example", "issuerCertificateThumbprint": "22" * 20}
                ],
            }
        },
    }
