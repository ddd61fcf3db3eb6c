# ruff: noqa: E501  (policy text lines are kept whole, as a policy author writes them)
"""Offline inputs with a unique fake canary in every secret-bearing place the tool reads.

:func:`planted_inputs` writes an ARM export (every resource type with a secret-bearing
property, policies with every construct that can carry a secret, in both policy formats) and a
deployment template (the template-only ways a secret can leak: a ``secret`` flag left as an
expression, expressions that cannot be resolved inside secret properties, which become gaps).
Each canary is fresh per run and names where it was planted.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

SUBSCRIPTION = "00000000-0000-0000-0000-0000000000c1"
GROUP = f"/subscriptions/{SUBSCRIPTION}/resourceGroups/rg-canary"
SERVICE = f"{GROUP}/providers/Microsoft.ApiManagement/service/apim-canary"
VAULT = f"{GROUP}/providers/Microsoft.KeyVault/vaults/kv-canary"
PUBLIC_MARKER = "public-marker-kept-7d1"
"""A value that is not secret: it must reach the snapshot (the search does find values)."""


@dataclass
class Canaries:
    """Fresh canaries, each remembered with the place it was planted in."""

    run: str = field(default_factory=lambda: secrets.token_hex(3))
    planted: dict[str, str] = field(default_factory=dict)

    @property
    def prefix(self) -> str:
        """What every canary of this run starts with: found in an output, even cut short or
        wrapped, it is a leak."""
        return f"cnry{self.run}x"

    def __call__(self, place: str, *, shape: str = "") -> str:
        """A new canary for ``place``; ``shape`` ``token`` gives letters, digits and a dot
        (a bearer token), ``base64`` a base64 alphabet run (``Basic``, keys, PFX)."""
        n = len(self.planted)
        core = f"{self.prefix}{n:03d}"
        value = {"token": f"{core}.Zq9", "base64": f"{core}Q9xZ+/w=="}.get(shape, core)
        self.planted[value] = place
        return value


def _child(path: str, properties: dict[str, Any], base: str = SERVICE) -> dict[str, Any]:
    segments = path.split("/")
    provider = "Microsoft.ApiManagement/service" if base == SERVICE else "Microsoft.KeyVault/vaults"
    return {
        "id": f"{base}/{path}",
        "type": f"{provider}/" + "/".join(segments[0::2]),
        "name": segments[-1],
        "properties": properties,
    }


def policy_text(c: Canaries, where: str, *, quote: str = '"') -> str:
    """A policy with every construct that can carry a secret, each with its own canary;
    ``quote`` is how the JSON body writes its quotes (``&quot;`` in ``format: xml``)."""
    jwt = f"eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ{c(f'{where} JWT in a header')}.c2lnbmF0dXJl"
    c.planted[jwt] = f"{where} JWT (whole)"
    return f"""<policies>
  <inbound>
    <base />
    <set-header name="Authorization" exists-action="override">
      <value>Bearer {c(f"{where} set-header Authorization Bearer", shape="token")}</value>
    </set-header>
    <set-header name="Proxy-Authorization" exists-action="override">
      <value>Basic {c(f"{where} set-header Basic", shape="base64")}</value>
    </set-header>
    <set-header name="Ocp-Apim-Subscription-Key" exists-action="override">
      <value>{c(f"{where} set-header Ocp-Apim-Subscription-Key")}</value>
    </set-header>
    <set-header name="api-key" exists-action="override">
      <value>{c(f"{where} set-header api-key")}</value>
    </set-header>
    <set-header name="x-api-key" exists-action="override">
      <value>{c(f"{where} set-header x-api-key")}</value>
    </set-header>
    <set-header name="x-functions-key" exists-action="append">
      <value>{c(f"{where} set-header x-functions-key")}</value>
      <value>{{{{functions-key}}}}</value>
    </set-header>
    <set-header name="X-Forwarded-Token" exists-action="override">
      <value>{jwt}</value>
    </set-header>
    <set-header name="X-Region" exists-action="override"><value>{PUBLIC_MARKER}</value></set-header>
    <set-query-parameter name="code" exists-action="override">
      <value>{c(f"{where} set-query-parameter code")}</value>
    </set-query-parameter>
    <set-query-parameter name="subscription-key" exists-action="override">
      <value>{c(f"{where} set-query-parameter subscription-key")}</value>
    </set-query-parameter>
    <check-header name="x-shared-secret" failed-check-httpcode="401" failed-check-error-message="no" ignore-case="false">
      <value>{c(f"{where} check-header value")}</value>
    </check-header>
    <set-variable name="clientSecret" value="{c(f"{where} set-variable clientSecret")}" />
    <validate-jwt header-name="Authorization" failed-validation-httpcode="401">
      <issuer-signing-keys><key>{c(f"{where} validate-jwt signing key", shape="base64")}</key></issuer-signing-keys>
      <decryption-keys><key>{c(f"{where} validate-jwt decryption key", shape="base64")}</key></decryption-keys>
    </validate-jwt>
    <send-request mode="new" response-variable-name="token" timeout="20" ignore-error="true">
      <set-url>https://login.example.org/token?code={c(f"{where} send-request set-url code")}</set-url>
      <set-method>POST</set-method>
      <set-header name="Authorization" exists-action="override">
        <value>Bearer {c(f"{where} send-request Authorization", shape="token")}</value>
      </set-header>
      <set-body>client_id=app&amp;client_secret={c(f"{where} send-request form client_secret")}&amp;grant_type=client_credentials</set-body>
    </send-request>
    <send-one-way-request mode="new">
      <set-url>https://hooks.example.org/x</set-url>
      <set-body>{{{quote}user{quote}: {quote}svc{quote}, {quote}password{quote}: {quote}{c(f"{where} send-one-way-request JSON password")}{quote}}}</set-body>
    </send-one-way-request>
    <authentication-managed-identity resource="https://vault.azure.net" client-id="00000000-0000-0000-0000-0000000000aa" />
  </inbound>
  <backend>
    <set-backend-service base-url="https://fn.example.org/api?sig={c(f"{where} base-url sig")}" />
    <authentication-certificate body="{c(f"{where} authentication-certificate body", shape="base64")}" password="{c(f"{where} authentication-certificate password")}" />
    <authentication-basic username="svc" password="{c(f"{where} authentication-basic password")}" />
    <forward-request />
  </backend>
  <outbound><base /></outbound>
  <on-error><base /></on-error>
</policies>
"""


def export_resources(c: Canaries) -> list[dict[str, Any]]:
    """Every resource type the tool reads that can hold a secret, with canaries planted."""
    escaped = policy_text(c, "global policy (format xml)", quote="&quot;")
    return [
        {
            "id": SERVICE,
            "type": "Microsoft.ApiManagement/service",
            "name": "apim-canary",
            "location": "westeurope",
            "sku": {"name": "Premium", "capacity": 1},
            "properties": {
                "hostnameConfigurations": [
                    {
                        "type": "Proxy",
                        "hostName": "api.canary.example.org",
                        "negotiateClientCertificate": True,
                        "encodedCertificate": c(
                            "service hostname encodedCertificate", shape="base64"
                        ),
                        "certificatePassword": c("service hostname certificatePassword"),
                    }
                ],
                "certificates": [
                    {
                        "storeName": "Root",
                        "encodedCertificate": c("service CA encodedCertificate", shape="base64"),
                        "certificatePassword": c("service CA certificatePassword"),
                    }
                ],
            },
        },
        _child("apis/orders", {"path": "orders", "displayName": "Orders", "protocols": ["https"]}),
        _child("apis/orders/operations/get", {"method": "GET", "urlTemplate": "/"}),
        _child("policies/policy", {"format": "xml", "value": escaped}),
        _child(
            "apis/orders/policies/policy",
            {"format": "rawxml", "value": policy_text(c, "API policy")},
        ),
        _child(
            "policyFragments/auth",
            {
                "format": "rawxml",
                "value": policy_text(c, "fragment").replace("policies>", "fragment>"),
            },
        ),
        _child(
            "namedValues/plain", {"displayName": "region", "secret": False, "value": PUBLIC_MARKER}
        ),
        _child(
            "namedValues/hidden",
            {"displayName": "hidden", "secret": True, "value": c("named value secret true")},
        ),
        _child(
            "namedValues/hidden-text",
            {
                "displayName": "hidden-text",
                "secret": "True",
                "value": c("named value secret 'True'"),
            },
        ),
        _child(
            "properties/legacy",
            {
                "displayName": "legacy",
                "secret": True,
                "value": c("legacy service/properties secret"),
            },
        ),
        _child(
            "certificates/uploaded",
            {"data": c("certificate data", shape="base64"), "password": c("certificate password")},
        ),
        _child(
            "backends/orders",
            {
                "url": f"https://fn.example.org/api?code={c('backend url code')}",
                "protocol": "http",
                "credentials": {
                    "header": {
                        "x-functions-key": [c("backend credentials header"), "{{functions-key}}"]
                    },
                    "query": {"code": [c("backend credentials query")]},
                    "authorization": {
                        "scheme": "Basic",
                        "parameter": c("backend authorization parameter", shape="base64"),
                    },
                },
                "proxy": {
                    "url": "http://proxy.example.org",
                    "username": "svc",
                    "password": c("backend proxy password"),
                },
            },
        ),
        _child(
            "loggers/insights",
            {
                "loggerType": "applicationInsights",
                "credentials": {
                    "instrumentationKey": c("logger instrumentationKey"),
                    "connectionString": f"InstrumentationKey={c('logger connectionString')};IngestionEndpoint=https://x/",
                },
            },
        ),
        _child(
            "loggers/hub",
            {
                "loggerType": "azureEventHub",
                "credentials": {
                    "name": "hub",
                    "connectionString": f"Endpoint=sb://x/;SharedAccessKeyName=send;SharedAccessKey={c('event hub logger key', shape='base64')}",
                },
            },
        ),
        _child(
            "caches/redis",
            {
                "connectionString": f"redis.example.org:6380,password={c('cache connectionString')},ssl=True",
                "useFromLocation": "default",
            },
        ),
        _child(
            "identityProviders/aad",
            {"clientId": "app", "clientSecret": c("identityProvider clientSecret")},
        ),
        _child(
            "openidConnectProviders/oidc",
            {
                "clientId": "app",
                "clientSecret": c("openidConnectProvider clientSecret"),
                "metadataEndpoint": "https://x/.well-known",
            },
        ),
        _child(
            "authorizationServers/as",
            {
                "clientId": "app",
                "clientSecret": c("authorizationServer clientSecret"),
                "resourceOwnerUsername": "owner",
                "resourceOwnerPassword": c("authorizationServer resourceOwnerPassword"),
            },
        ),
        _child(
            "authorizationProviders/github",
            {
                "identityProvider": "github",
                "oauth2": {
                    "redirectUrl": "https://x",
                    "grantTypes": {
                        "authorizationCode": {
                            "clientId": "app",
                            "clientSecret": c(
                                "authorizationProvider authorizationCode clientSecret"
                            ),
                        },
                        "clientCredentials": {
                            "clientId": "app",
                            "clientSecret": c(
                                "authorizationProvider clientCredentials clientSecret"
                            ),
                        },
                    },
                },
            },
        ),
        _child(
            "authorizationProviders/github/authorizations/a1",
            {
                "authorizationType": "OAuth2",
                "oauth2grantType": "ClientCredentials",
                "parameters": {
                    "clientId": "app",
                    "clientSecret": c("authorization parameters clientSecret"),
                },
            },
        ),
        _child(
            "portalsettings/delegation",
            {
                "url": "https://delegation.example.org",
                "validationKey": c("delegation validationKey", shape="base64"),
                "subscriptions": {"enabled": True},
            },
        ),
        _child(
            "subscriptions/team",
            {
                "displayName": "Team",
                "scope": f"{SERVICE}/apis",
                "state": "active",
                "primaryKey": c("subscription primaryKey"),
                "secondaryKey": c("subscription secondaryKey"),
            },
        ),
        _child(
            "users/ana",
            {
                "email": "ana@example.org",
                "firstName": "Ana",
                "lastName": "L",
                "password": c("user password"),
            },
        ),
        _child(
            "tenant/access",
            {
                "enabled": True,
                "primaryKey": c("tenant access primaryKey"),
                "secondaryKey": c("tenant access secondaryKey"),
            },
        ),
        {
            "id": VAULT,
            "type": "Microsoft.KeyVault/vaults",
            "name": "kv-canary",
            "properties": {"tenantId": SUBSCRIPTION, "enableRbacAuthorization": True},
        },
        _child(
            "secrets/s1",
            {"value": c("Key Vault secret value"), "contentType": "text/plain"},
            base=VAULT,
        ),
        {
            "id": f"{GROUP}/providers/Microsoft.Web/sites/app-canary",
            "type": "Microsoft.Web/sites",
            "name": "app-canary",
            "properties": {
                "siteConfig": {
                    "appSettings": [
                        {"name": "DB", "value": c("unread type (Microsoft.Web/sites) app setting")}
                    ]
                }
            },
        },
    ]


def template(c: Canaries) -> dict[str, Any]:
    """A deployment template whose secrets hide behind what the offline source cannot resolve."""
    unresolved_policy = (
        '[concat(\'<policies><inbound><set-header name="Authorization" exists-action="override">'
        f"<value>Bearer {c('template policy expression Bearer', shape='token')}</value>"
        "</set-header></inbound></policies>', noSuchFunction())]"
    )
    return {
        "$schema": "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#",
        "contentVersion": "1.0.0.0",
        "parameters": {"isSecret": {"type": "bool"}},
        "resources": [
            {
                "type": "Microsoft.ApiManagement/service",
                "apiVersion": "2024-05-01",
                "name": "apim-template",
                "location": "westeurope",
                "sku": {"name": "Developer", "capacity": 1},
                "properties": {"publisherEmail": "a@example.org", "publisherName": "A"},
                "resources": [
                    {
                        "type": "namedValues",
                        "apiVersion": "2024-05-01",
                        "name": "flag-is-an-expression",
                        "properties": {
                            "displayName": "f",
                            "secret": "[parameters('isSecret')]",
                            "value": c("template named value, secret flag unresolved"),
                        },
                    },
                    {
                        "type": "namedValues",
                        "apiVersion": "2024-05-01",
                        "name": "value-is-an-expression",
                        "properties": {
                            "displayName": "v",
                            "secret": True,
                            "value": f"[concat('{c('template named value expression')}', noSuchFunction())]",
                        },
                    },
                    {
                        "type": "identityProviders",
                        "apiVersion": "2024-05-01",
                        "name": "aad",
                        "properties": {
                            "clientId": "app",
                            "clientSecret": f"[concat('{c('template clientSecret expression')}', noSuchFunction())]",
                        },
                    },
                    {
                        "type": "backends",
                        "apiVersion": "2024-05-01",
                        "name": "b",
                        "properties": {
                            "url": "https://b.example.org",
                            "protocol": "http",
                            "credentials": {
                                "header": {
                                    "x-api-key": [
                                        f"[concat('{c('template backend header expression')}', noSuchFunction())]"
                                    ]
                                }
                            },
                        },
                    },
                    {
                        "type": "policies",
                        "apiVersion": "2024-05-01",
                        "name": "policy",
                        "properties": {"format": "rawxml", "value": unresolved_policy},
                    },
                ],
            }
        ],
    }


def planted_inputs(folder: Path) -> tuple[Canaries, list[Path]]:
    """Write the export and the template into ``folder``; the canaries and the two files."""
    c = Canaries()
    export, deployment = folder / "export.json", folder / "template.json"
    export.write_text(json.dumps(export_resources(c), indent=2), "utf-8")
    deployment.write_text(json.dumps(template(c), indent=2), "utf-8")
    return c, [export, deployment]
