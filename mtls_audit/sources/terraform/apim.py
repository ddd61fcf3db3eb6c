"""The azurerm API Management child resources and the ARM child resources they become.

Each entry names the ARM child types, the attributes (or ``=constant`` names) that give each
name segment, and the properties a rule reads. Attributes a rule needs become gaps when known
only after apply; the others are shown when known and otherwise left out.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from mtls_audit.sources.terraform.plan import UNKNOWN, Instance

if TYPE_CHECKING:
    from mtls_audit.sources.terraform.azurerm import Mapper

Properties = Callable[["Mapper", Instance, str], dict[str, Any]]


def _same(inst: Instance, name: str) -> str:
    return name


@dataclass(frozen=True)
class Child:
    types: tuple[str, ...]
    names: tuple[str, ...]
    properties: Properties
    rename: Callable[[Instance, str], str] = _same


def _nothing(mapper: Mapper, inst: Instance, rid: str) -> dict[str, Any]:
    return {}


def _api_name(inst: Instance, name: str) -> str:
    """A revision that is not the current one is ``name;rev=N`` in ARM (its own resource)."""
    source = inst.get("source_api_id")
    revision = inst.get("revision")
    if isinstance(source, str) and source and isinstance(revision, str) and ";rev=" not in name:
        return f"{name};rev={revision}"
    return name


def _api(mapper: Mapper, inst: Instance, rid: str) -> dict[str, Any]:
    shown = {
        "displayName": "display_name",
        "path": "path",
        "apiRevision": "revision",
        "apiVersion": "version",
        "apiVersionSetId": "version_set_id",
        "isCurrent": "is_current",
        "subscriptionRequired": "subscription_required",
        "type": "api_type",
    }
    needed = {"serviceUrl": "service_url", "protocols": "protocols"}
    return mapper.props(inst, rid, needed, shown)


def _operation(mapper: Mapper, inst: Instance, rid: str) -> dict[str, Any]:
    shown = {"displayName": "display_name", "method": "method", "urlTemplate": "url_template"}
    return mapper.props(inst, rid, {}, shown)


def _policy(mapper: Mapper, inst: Instance, rid: str) -> dict[str, Any]:
    """``xml_content`` as authored (raw XML); ``xml_link`` is a link whose text is elsewhere."""
    link = inst.get("xml_link")
    if isinstance(link, str) and link:
        return {"format": "rawxml-link", "value": link}
    return {"format": "rawxml", "value": mapper.value(inst, rid, "xml_content")}


def _fragment(mapper: Mapper, inst: Instance, rid: str) -> dict[str, Any]:
    out = mapper.props(inst, rid, {"value": "value"}, {"description": "description"})
    fmt = inst.get("format")
    out["format"] = fmt if isinstance(fmt, str) else "xml"
    return out


def _product(mapper: Mapper, inst: Instance, rid: str) -> dict[str, Any]:
    shown = {
        "displayName": "display_name",
        "subscriptionRequired": "subscription_required",
        "approvalRequired": "approval_required",
    }
    out = mapper.props(inst, rid, {}, shown)
    published = inst.get("published")
    if isinstance(published, bool):
        out["state"] = "published" if published else "notPublished"
    return out


def _named_value(mapper: Mapper, inst: Instance, rid: str) -> dict[str, Any]:
    """The value only of a non-secret named value; a Key Vault one by its secret id."""
    secret = inst.get("secret")
    out = mapper.props(inst, rid, {}, {"displayName": "display_name"})
    out["secret"] = secret if isinstance(secret, bool) else False
    for _, vault in inst.blocks("value_from_key_vault"):
        reference = {"secretIdentifier": mapper.value(vault, rid, "secret_id")}
        client = mapper.linked(vault, "identity_client_id")
        if isinstance(client, str) and client:
            reference["identityClientId"] = client
        out["keyVault"] = reference
        return out
    if secret is not True:
        found = mapper.value(inst, rid, "value")
        if found is not None:
            out["value"] = found
    return out


def _backend(mapper: Mapper, inst: Instance, rid: str) -> dict[str, Any]:
    shown = {"protocol": "protocol", "description": "description", "title": "title"}
    out = mapper.props(inst, rid, {"url": "url"}, shown | {"resourceId": "resource_id"})
    for _, tls in inst.blocks("tls"):
        out["tls"] = mapper.props(
            tls,
            rid,
            {
                "validateCertificateChain": "validate_certificate_chain",
                "validateCertificateName": "validate_certificate_name",
            },
        )
    for _, credentials in inst.blocks("credentials"):
        out["credentials"] = _credentials(mapper, credentials, rid)
    for _, cluster in inst.blocks("service_fabric_cluster"):
        out["properties"] = {"serviceFabricCluster": _fabric(mapper, cluster, rid)}
    for _, proxy in inst.blocks("proxy"):
        out["proxy"] = mapper.props(proxy, rid, {}, {"url": "url", "username": "username"})
    return out


def _credentials(mapper: Mapper, block: Instance, rid: str) -> dict[str, Any]:
    out = mapper.props(block, rid, {"certificate": "certificate"})
    for key in ("header", "query"):
        found = block.get(key)
        if isinstance(found, dict):
            out[key] = {k: str(v).split(",") for k, v in found.items()}
    for _, auth in block.blocks("authorization"):
        out["authorization"] = mapper.props(auth, rid, {}, {"scheme": "scheme"})
        if auth.get("parameter") not in (None, UNKNOWN):
            out["authorization"]["parameter"] = auth.get("parameter")
    return out


def _fabric(mapper: Mapper, block: Instance, rid: str) -> dict[str, Any]:
    needed = {
        "clientCertificateId": "client_certificate_id",
        "clientCertificatethumbprint": "client_certificate_thumbprint",
        "serverCertificateThumbprints": "server_certificate_thumbprints",
    }
    shown = {
        "managementEndpoints": "management_endpoints",
        "maxPartitionResolutionRetries": "max_partition_resolution_retries",
    }
    out = mapper.props(block, rid, needed, shown)
    names = [
        mapper.props(
            x, rid, {"name": "name", "issuerCertificateThumbprint": "issuer_certificate_thumbprint"}
        )
        for _, x in block.blocks("server_x509_name")
    ]
    if names:
        out["serverX509Names"] = names
    return out


def _certificate(mapper: Mapper, inst: Instance, rid: str) -> dict[str, Any]:
    """A Key Vault certificate by its secret id; an uploaded one without its PFX or password."""
    shown = {"expirationDate": "expiration", "subject": "subject", "thumbprint": "thumbprint"}
    out = mapper.props(inst, rid, {}, shown)
    secret = inst.get("key_vault_secret_id")
    if secret is not None:
        reference = {"secretIdentifier": mapper.value(inst, rid, "key_vault_secret_id")}
        client = mapper.linked(inst, "key_vault_identity_client_id")
        if isinstance(client, str) and client:
            reference["identityClientId"] = client
        out["keyVault"] = reference
    return out


def _gateway(mapper: Mapper, inst: Instance, rid: str) -> dict[str, Any]:
    out = mapper.props(inst, rid, {}, {"description": "description"})
    for _, location in inst.blocks("location_data"):
        out["locationData"] = mapper.props(
            location,
            rid,
            {},
            {"name": "name", "city": "city", "district": "district", "countryOrRegion": "region"},
        )
    return out


def _gateway_hostname(mapper: Mapper, inst: Instance, rid: str) -> dict[str, Any]:
    needed = {
        "hostname": "host_name",
        "negotiateClientCertificate": "request_client_certificate_enabled",
        "tls10Enabled": "tls10_enabled",
        "tls11Enabled": "tls11_enabled",
    }
    out = mapper.props(inst, rid, needed, {"http2Enabled": "http2_enabled"})
    certificate = mapper.named_id(inst, "certificate_id")
    out["certificateId"] = certificate or mapper.value(inst, rid, "certificate_id")
    return out


def _subscription(mapper: Mapper, inst: Instance, rid: str) -> dict[str, Any]:
    """Its scope (a product, an API, or all APIs); never its keys."""
    shown = {"displayName": "display_name", "state": "state", "allowTracing": "allow_tracing"}
    out = mapper.props(inst, rid, {}, shown)
    for attribute in ("product_id", "api_id"):
        scope = mapper.named_id(inst, attribute)
        if scope:
            out["scope"] = scope
            return out
        if inst.get(attribute) is UNKNOWN:
            out["scope"] = mapper.value(inst, rid, attribute)
            return out
    out["scope"] = rid.rsplit("/subscriptions/", 1)[0] + "/apis"
    return out


_APIS = ("apis",)
CHILDREN: dict[str, Child] = {
    "azurerm_api_management_api": Child(_APIS, ("name",), _api, _api_name),
    "azurerm_api_management_api_operation": Child(
        (*_APIS, "operations"), ("api_name", "operation_id"), _operation
    ),
    "azurerm_api_management_api_policy": Child(
        (*_APIS, "policies"), ("api_name", "=policy"), _policy
    ),
    "azurerm_api_management_api_operation_policy": Child(
        (*_APIS, "operations", "policies"), ("api_name", "operation_id", "=policy"), _policy
    ),
    "azurerm_api_management_policy": Child(("policies",), ("=policy",), _policy),
    "azurerm_api_management_product": Child(("products",), ("product_id",), _product),
    "azurerm_api_management_product_policy": Child(
        ("products", "policies"), ("product_id", "=policy"), _policy
    ),
    "azurerm_api_management_product_api": Child(
        ("products", "apis"), ("product_id", "api_name"), _nothing
    ),
    "azurerm_api_management_policy_fragment": Child(("policyFragments",), ("name",), _fragment),
    "azurerm_api_management_named_value": Child(("namedValues",), ("name",), _named_value),
    "azurerm_api_management_backend": Child(("backends",), ("name",), _backend),
    "azurerm_api_management_certificate": Child(("certificates",), ("name",), _certificate),
    "azurerm_api_management_subscription": Child(
        ("subscriptions",), ("?subscription_id",), _subscription
    ),
    "azurerm_api_management_gateway": Child(("gateways",), ("name",), _gateway),
    "azurerm_api_management_gateway_host_name_configuration": Child(
        ("gateways", "hostnameConfigurations"), ("gateway_name", "name"), _gateway_hostname
    ),
}
