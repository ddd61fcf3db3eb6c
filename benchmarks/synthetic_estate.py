"""The fixed parts of the synthetic instance: the service, its certificates, backends,
fragments, products, and the identity, vault and subscriptions around them."""

from __future__ import annotations

import random
import uuid
from typing import Any

from benchmarks import synthetic_policies as templates

JSON = dict[str, Any]

APIM = "Microsoft.ApiManagement/service"
_SECURITY = "Microsoft.WindowsAzure.ApiManagement.Gateway.Security."
_PROTOCOL_SWITCHES = (
    "Protocols.Tls10",
    "Protocols.Tls11",
    "Protocols.Ssl30",
    "Backend.Protocols.Tls10",
    "Backend.Protocols.Tls11",
    "Backend.Protocols.Ssl30",
    "Ciphers.TripleDes168",
)
_ROLES = {
    "certificate-user": "db79e9a7-68ee-4b58-9aeb-b90e7c24fcba",
    "secrets-user": "4633458b-17de-408a-b874-0445c86b69e6",
    "administrator": "00482a5a-887f-4fb3-b363-3b7fe8e74483",
}
_OK = {"code": "Success", "timeStampUtc": "2026-11-20T06:00:00Z"}


class Estate:
    """The random source, the shared ids and the resources of one instance being built."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.subscription = self.guid()
        self.tenant = self.guid()
        self.group = f"/subscriptions/{self.subscription}/resourceGroups/rg-synthetic-{seed}"
        self.service = f"{self.group}/providers/{APIM}/apim-synthetic-{seed}"
        self.principals = {"system": self.guid(), "user": self.guid()}
        self.user_client = self.guid()
        self.user_identity = (
            f"{self.group}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id-apim"
        )
        self.vault = f"{self.group}/providers/Microsoft.KeyVault/vaults/kv-synthetic-{seed}"
        self.vault_url = f"https://kv-synthetic-{seed}.vault.azure.net"
        self.ca_thumbprint = self.thumbprint()
        self.resources: list[JSON] = []
        self.vault_certificates: JSON = {}

    def guid(self) -> str:
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    def thumbprint(self) -> str:
        return f"{self.rng.getrandbits(160):040X}"

    def add(self, rid: str, rtype: str, properties: JSON, **extra: Any) -> None:
        name = rid.rsplit("/", 1)[-1]
        self.resources.append(
            {"id": rid, "type": rtype, "name": name, "properties": properties, **extra}
        )

    def child(self, path: str, rtype: str, properties: JSON) -> None:
        """An APIM child resource: ``path`` below the service, ``rtype`` below its type."""
        self.add(f"{self.service}/{path}", f"{APIM}/{rtype}", properties)

    def policy(self, scope: str, scope_type: str, text: str, fmt: str) -> None:
        prefix = f"{scope}/" if scope else ""
        suffix = f"{scope_type}/" if scope_type else ""
        self.child(f"{prefix}policies/policy", f"{suffix}policies", {"format": fmt, "value": text})

    def vault_certificate(self, name: str, thumbprint: str, expires: str, issuer: str) -> None:
        self.vault_certificates[name] = {
            "properties": {
                "id": f"{self.vault_url}/certificates/{name}",
                "enabled": True,
                "expires_on": expires,
                "x509_thumbprint": thumbprint,
                "tags": {},
            },
            "policy": {
                "exportable": True,
                "key_type": "RSA",
                "key_size": 2048,
                "issuer_name": issuer,
                "content_type": "application/x-pkcs12",
                "lifetime_actions": [{"action": "AutoRenew", "days_before_expiry": 30}],
            },
        }


def _certificate_block(expiry: str, thumbprint: str, subject: str) -> JSON:
    return {"expiry": expiry, "thumbprint": thumbprint, "subject": subject}


def service(g: Estate, seed: int) -> None:
    gateway_thumbprint = g.thumbprint()
    g.vault_certificate("gateway-tls", gateway_thumbprint, "2027-09-01T00:00:00Z", "DigiCert")
    root = "CN=Synthetic Root CA, O=Synthetic Health, C=NL"
    properties = {
        "publisherEmail": "apim-admins@synthetic.example",
        "publisherName": "Synthetic Health",
        "provisioningState": "Succeeded",
        "createdAtUtc": "2022-05-02T08:00:00Z",
        "virtualNetworkType": "None",
        "publicNetworkAccess": "Enabled",
        "platformVersion": "stv2",
        "hostnameConfigurations": [
            {
                "type": "Proxy",
                "hostName": f"apim-synthetic-{seed}.azure-api.net",
                "negotiateClientCertificate": False,
                "certificateSource": "BuiltIn",
            },
            {
                "type": "Proxy",
                "hostName": "api.synthetic.example",
                "keyVaultId": f"{g.vault_url}/secrets/gateway-tls",
                "negotiateClientCertificate": True,
                "certificateSource": "KeyVault",
                "defaultSslBinding": True,
                "certificateStatus": "Completed",
                "certificate": _certificate_block(
                    "2027-09-01T00:00:00+00:00", gateway_thumbprint, "CN=api.synthetic.example"
                ),
            },
        ],
        "certificates": [
            {
                "storeName": "Root",
                "certificate": _certificate_block(
                    "2040-01-01T00:00:00+00:00", g.thumbprint(), root
                ),
            },
            {
                "storeName": "CertificateAuthority",
                "certificate": _certificate_block(
                    "2028-06-30T00:00:00+00:00", g.ca_thumbprint, templates.CA_SUBJECT
                ),
            },
        ],
        "customProperties": {_SECURITY + switch: "False" for switch in _PROTOCOL_SWITCHES},
    }
    users = {g.user_identity: {"principalId": g.principals["user"], "clientId": g.user_client}}
    identity = {
        "type": "SystemAssigned, UserAssigned",
        "principalId": g.principals["system"],
        "tenantId": g.tenant,
        "userAssignedIdentities": users,
    }
    g.add(
        g.service,
        APIM,
        properties,
        location="West Europe",
        identity=identity,
        sku={"name": "Premium", "capacity": 2},
        tags={"environment": "production"},
    )
    values = {"revocation": "true"}
    g.policy("", "", templates.render(templates.GLOBAL, values), templates.GLOBAL.fmt)


def certificates(g: Estate, count: int) -> list[tuple[str, str]]:
    """Backend client certificates as (name, thumbprint): three in four from Key Vault."""
    out = []
    for index in range(count):
        name, thumbprint = f"client-cert-{index:03d}", g.thumbprint()
        expires = f"202{7 + index % 2}-0{1 + index % 9}-15T00:00:00Z"
        props: JSON = {
            "subject": f"CN={name}.synthetic.example",
            "thumbprint": thumbprint,
            "expirationDate": expires,
        }
        if index % 4:
            secret = f"{g.vault_url}/secrets/{name}"
            props["keyVault"] = {"secretIdentifier": secret, "lastStatus": _OK}
            g.vault_certificate(name, thumbprint, expires, "Self" if index % 7 == 0 else "DigiCert")
        g.child(f"certificates/{name}", "certificates", props)
        out.append((name, thumbprint))
    return out


def backends(g: Estate, count: int, client_certs: list[tuple[str, str]]) -> list[str]:
    names = [f"backend-{i:03d}" for i in range(count)]
    for index, name in enumerate(names):
        scheme = "http" if index % 13 == 5 else "https"
        cert = f"{g.service}/certificates/{client_certs[index % len(client_certs)][0]}"
        g.child(
            f"backends/{name}",
            "backends",
            {
                "url": f"{scheme}://{name}.internal.example/api",
                "protocol": "http",
                "credentials": {"certificateIds": [cert]},
                "tls": {
                    "validateCertificateChain": index % 11 != 4,
                    "validateCertificateName": True,
                },
            },
        )
    return names


def fragments(g: Estate, count: int) -> list[str]:
    names = [f"fragment-{i:03d}" for i in range(count)]
    for index, name in enumerate(names):
        values = {"t1": g.thumbprint(), "t2": g.thumbprint(), "name": name}
        text = templates.render_fragment(index, values)
        g.child(
            f"policyFragments/{name}",
            "policyFragments",
            {"format": "rawxml", "description": f"Shared policy {name}", "value": text},
        )
    return names


def products(g: Estate, count: int) -> list[str]:
    names = [f"product-{i:02d}" for i in range(count)]
    for index, name in enumerate(names):
        g.child(
            f"products/{name}",
            "products",
            {
                "displayName": f"Product {index}",
                "subscriptionRequired": True,
                "state": "published",
            },
        )
        shape = templates.PRODUCT_OWN_VALIDATION if index % 5 == 4 else templates.PRODUCT_INHERIT
        text = templates.render(shape, {"revocation": "false"})
        g.policy(f"products/{name}", "products", text, shape.fmt)
    return names


def surroundings(g: Estate, product_names: list[str], api_ids: list[str]) -> None:
    """Named values, subscriptions, a self-hosted gateway, the vault and its role assignments."""
    g.child(
        "namedValues/client-ca-thumbprint",
        "namedValues",
        {"displayName": "client-ca-thumbprint", "value": g.ca_thumbprint, "secret": False},
    )
    g.child(
        "namedValues/backend-api-key",
        "namedValues",
        {
            "displayName": "backend-api-key",
            "secret": True,
            "keyVault": {
                "secretIdentifier": f"{g.vault_url}/secrets/backend-api-key",
                "identityClientId": g.user_client,
                "lastStatus": _OK,
            },
        },
    )
    scopes = [f"{g.service}/apis"] + [f"{g.service}/products/{p}" for p in product_names]
    scopes += [g.rng.choice(api_ids) for _ in range(max(1, len(api_ids) // 100))]
    for index, scope in enumerate(scopes):
        g.child(
            f"subscriptions/sub-{index:04d}",
            "subscriptions",
            {
                "scope": scope,
                "displayName": f"Subscription {index}",
                "state": "active",
                "allowTracing": index % 10 == 3,
            },
        )
    g.child("gateways/gw-onprem", "gateways", {"locationData": {"name": "On-premises"}})
    for name, negotiate in (("edge", True), ("legacy", False)):
        g.child(
            f"gateways/gw-onprem/hostnameConfigurations/{name}",
            "gateways/hostnameConfigurations",
            {
                "hostname": f"{name}.synthetic.example",
                "negotiateClientCertificate": negotiate,
                "certificateId": f"{g.service}/certificates/client-cert-000",
                "tls10Enabled": not negotiate,
                "tls11Enabled": not negotiate,
            },
        )
    g.add(
        g.user_identity,
        "Microsoft.ManagedIdentity/userAssignedIdentities",
        {
            "tenantId": g.tenant,
            "principalId": g.principals["user"],
            "clientId": g.user_client,
        },
        location="westeurope",
    )
    g.add(
        g.vault,
        "Microsoft.KeyVault/vaults",
        {
            "vaultUri": f"{g.vault_url}/",
            "tenantId": g.tenant,
            "enableRbacAuthorization": True,
            "enableSoftDelete": True,
            "enablePurgeProtection": True,
            "accessPolicies": [],
        },
        location="westeurope",
    )
    for role, scope, principal in (
        ("certificate-user", g.vault, "system"),
        ("secrets-user", g.vault, "user"),
        ("administrator", g.group, "user"),
    ):
        definition = f"/subscriptions/{g.subscription}/providers/Microsoft.Authorization/"
        g.add(
            f"{scope}/providers/Microsoft.Authorization/roleAssignments/{g.guid()}",
            "Microsoft.Authorization/roleAssignments",
            {
                "scope": scope,
                "principalId": g.principals[principal],
                "principalType": "ServicePrincipal",
                "roleDefinitionId": f"{definition}roleDefinitions/{_ROLES[role]}",
            },
        )
