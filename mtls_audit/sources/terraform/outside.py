"""The azurerm resources that are not APIM children: the service itself, its custom domains,
Key Vaults and their access policies, role assignments and user-assigned identities."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from mtls_audit.sources.roles import role_definition_id
from mtls_audit.sources.terraform.plan import UNKNOWN, Instance, identity_token

if TYPE_CHECKING:
    from mtls_audit.sources.terraform.azurerm import Mapper

_APIM = "Microsoft.ApiManagement/service"
_VAULTS = "Microsoft.KeyVault/vaults"
_IDENTITIES = "Microsoft.ManagedIdentity/userAssignedIdentities"
_HOSTNAME_TYPES = {
    "proxy": "Proxy",
    "gateway": "Proxy",
    "management": "Management",
    "portal": "Portal",
    "developer_portal": "DeveloperPortal",
    "scm": "Scm",
}
_PROTOCOLS = {
    "Security.Protocols": ("frontend_", "enable_frontend_"),
    "Security.Backend.Protocols": ("backend_", "enable_backend_"),
}
_PREFIX = "Microsoft.WindowsAzure.ApiManagement.Gateway."


def _provider_id(mapper: Mapper, inst: Instance, provider_type: str) -> str:
    name = mapper.name(inst, judged=False)
    return f"{mapper.group(inst)}/providers/{provider_type}/{name}"


def identify(mapper: Mapper, inst: Instance) -> None:
    """Register the ARM id of a resource others refer to, before any resource is mapped."""
    kinds = {
        "azurerm_api_management": _APIM,
        "azurerm_key_vault": _VAULTS,
        "azurerm_user_assigned_identity": _IDENTITIES,
    }
    if inst.type in kinds:
        mapper.ids[inst.address] = _provider_id(mapper, inst, kinds[inst.type])
    elif inst.type == "azurerm_resource_group":
        group = inst.get("name")
        if isinstance(group, str):
            mapper.ids[inst.address] = (
                f"/subscriptions/{mapper.env.subscription}/resourceGroups/{group}"
            )


def _identity(mapper: Mapper, inst: Instance) -> dict[str, Any] | None:
    for _, block in inst.blocks("identity"):
        kind = block.get("type")
        out: dict[str, Any] = {"type": kind if isinstance(kind, str) else "None"}
        if "SystemAssigned" in out["type"]:
            for key, attribute in (("principalId", "principal_id"), ("tenantId", "tenant_id")):
                found = block.get(attribute)
                out[key] = (
                    found
                    if found is not UNKNOWN
                    else identity_token(inst, "identity", 0, attribute)
                )
        users = _user_identities(mapper, block)
        if users:
            out["userAssignedIdentities"] = {rid: {} for rid in users}
        return out
    return None


def _user_identities(mapper: Mapper, block: Instance) -> list[str]:
    found = block.get("identity_ids")
    if isinstance(found, list) and all(isinstance(x, str) for x in found):
        return list(found)
    targets = {
        mapper.ids[t.address]
        for reference in block.references.get("identity_ids", ())
        for t in mapper.by_config.get(block.module + ".".join(reference.split(".")[:2]), [])
        if t.address in mapper.ids
    }
    return sorted(targets)


def _service(mapper: Mapper, inst: Instance) -> None:
    rid = mapper.ids[inst.address]
    properties: dict[str, Any] = {}
    for key, attribute in (
        ("publisherName", "publisher_name"),
        ("publisherEmail", "publisher_email"),
        ("virtualNetworkType", "virtual_network_type"),
    ):
        found = inst.get(attribute)
        if isinstance(found, str):
            properties[key] = found
    public = inst.get("public_network_access_enabled")
    if isinstance(public, bool):
        properties["publicNetworkAccess"] = "Enabled" if public else "Disabled"
    client = mapper.value(inst, rid, "client_certificate_enabled")
    if client is not None:
        properties["enableClientCertificate"] = client
    hostnames = _hostnames(mapper, inst, rid, "hostname_configuration", 0)
    if hostnames is not None:
        properties["hostnameConfigurations"] = hostnames
    custom = _security(mapper, inst, rid)
    if custom is not None:
        properties["customProperties"] = custom
    certificates = [_ca(mapper, block, rid) for _, block in inst.blocks("certificate")]
    if certificates:
        properties["certificates"] = certificates
    resource: dict[str, Any] = {"id": rid, "type": _APIM, "name": rid.rsplit("/", 1)[-1]}
    location = inst.get("location")
    if isinstance(location, str):
        resource["location"] = location
    resource["sku"] = _sku(mapper, inst, rid)
    identity = _identity(mapper, inst)
    if identity is not None:
        resource["identity"] = identity
    mapper.emit(inst, resource | {"properties": properties})


def _sku(mapper: Mapper, inst: Instance, rid: str) -> dict[str, Any]:
    """``Premium_2`` → ``{"name": "Premium", "capacity": 2}``."""
    found = mapper.value(inst, rid, "sku_name")
    if not isinstance(found, str) or found.startswith("["):
        return {"name": found}
    name, _, capacity = found.partition("_")
    return {"name": name, "capacity": int(capacity)} if capacity.isdigit() else {"name": name}


def _hostnames(
    mapper: Mapper, inst: Instance, rid: str, *path: str | int
) -> list[dict[str, Any]] | None:
    """``hostname_configuration`` (service) or the custom domain's blocks, as ARM hostnames."""
    holder = inst.get(*path) if path else inst.values
    if holder is UNKNOWN:
        unknown = mapper.value(inst, rid, *path)
        return [{"type": "Proxy", "hostName": unknown, "negotiateClientCertificate": unknown}]
    if not isinstance(holder, dict):
        return None
    out: list[dict[str, Any]] = []
    for block_name, arm_type in _HOSTNAME_TYPES.items():
        for _, block in inst.blocks(*path, block_name):
            out.append(_hostname(mapper, block, rid, arm_type))
    return out


def _certificate_details(block: Instance) -> dict[str, str]:
    """What Azure computed about a certificate (known once deployed: a state, an update)."""
    found = {key: block.get(key) for key in ("expiry", "subject", "thumbprint")}
    return {key: value for key, value in found.items() if isinstance(value, str) and value}


def _hostname(mapper: Mapper, block: Instance, rid: str, arm_type: str) -> dict[str, Any]:
    out: dict[str, Any] = {"type": arm_type}
    out |= mapper.props(
        block,
        rid,
        {"hostName": "host_name"},
        {
            "defaultSslBinding": "default_ssl_binding",
            "certificateSource": "certificate_source",
            "certificateStatus": "certificate_status",
        },
    )
    if arm_type == "Proxy":
        negotiate = mapper.value(block, rid, "negotiate_client_certificate")
        out["negotiateClientCertificate"] = negotiate if negotiate is not None else False
    for attribute in ("key_vault_certificate_id", "key_vault_id"):
        if block.get(attribute) is not None:
            out["keyVaultId"] = mapper.value(block, rid, attribute)
            break
    else:
        if block.get("certificate") not in (None, ""):
            out.setdefault("certificateSource", "Custom")
    client = mapper.linked(block, "ssl_keyvault_identity_client_id")
    if isinstance(client, str) and client:
        out["identityClientId"] = client
    details = _certificate_details(block)
    if details:
        out["certificate"] = details
    return out


def _security(mapper: Mapper, inst: Instance, rid: str) -> dict[str, str] | None:
    """The ``security`` block as the ``customProperties`` switches it sets ("true"/"false")."""
    out: dict[str, str] = {}
    for _, block in inst.blocks("security"):
        unknown = block.unknown if isinstance(block.unknown, dict) else {}
        for attribute in sorted({*block.values, *unknown}):
            key = _custom_property(attribute)
            if key is None:
                continue
            value = mapper.value(block, rid, attribute)
            if isinstance(value, bool):
                out[_PREFIX + key] = "true" if value else "false"
            elif value is not None:
                out[_PREFIX + key] = value
    if inst.get("security") is UNKNOWN:
        mapper.value(inst, rid, "security")
    return out or None


def _custom_property(attribute: str) -> str | None:
    """``frontend_tls10_enabled`` → ``Security.Protocols.Tls10``; cipher flags → ciphers."""
    for prefix, spellings in _PROTOCOLS.items():
        for spelling in spellings:
            rest = attribute.removeprefix(spelling).removesuffix("_enabled")
            if attribute.startswith(spelling) and rest in ("ssl30", "tls10", "tls11"):
                return f"{prefix}.{rest.capitalize()}"
    if attribute in ("triple_des_ciphers_enabled", "enable_triple_des_ciphers"):
        return "Security.Ciphers.TripleDes168"
    if attribute.startswith("tls_") and attribute.endswith("_ciphers_enabled"):
        suite = attribute.removesuffix("_ciphers_enabled").upper()
        return "Security.Ciphers." + suite.replace("AES128", "AES_128").replace("AES256", "AES_256")
    return None


def _ca(mapper: Mapper, block: Instance, rid: str) -> dict[str, Any]:
    out = mapper.props(
        block, rid, {"storeName": "store_name", "encodedCertificate": "encoded_certificate"}
    )
    details = _certificate_details(block)
    if details:
        out["certificate"] = details
    return out


def _custom_domain(mapper: Mapper, inst: Instance) -> None:
    """The hostnames of ``azurerm_api_management_custom_domain`` replace its service's."""
    service_id = mapper.named_id(inst, "api_management_id")
    target = mapper.target(inst, "api_management_id")
    service = mapper.resources.get(target.address) if target else None
    if service_id is None or service is None:
        message = "its service is not in the plan; its hostnames are not judged"
        mapper.gap(inst, service_id or mapper.file, message, "resource")
        return
    hostnames = _hostnames(mapper, inst, service_id) or []
    service["properties"]["hostnameConfigurations"] = hostnames


def _vault(mapper: Mapper, inst: Instance) -> None:
    rid = mapper.ids[inst.address]
    needed = {"vaultUri": "vault_uri", "tenantId": "tenant_id"}
    properties = mapper.props(inst, rid, needed, {})
    for key, attributes in (
        ("enableRbacAuthorization", ("rbac_authorization_enabled", "enable_rbac_authorization")),
        ("enablePurgeProtection", ("purge_protection_enabled",)),
    ):
        for attribute in attributes:
            if inst.get(attribute) is not None:
                properties[key] = mapper.value(inst, rid, attribute)
                break
    retention = inst.get("soft_delete_retention_days")
    if isinstance(retention, int):
        properties["enableSoftDelete"] = True
        properties["softDeleteRetentionInDays"] = retention
    properties["accessPolicies"] = [
        _access(mapper, block, rid) for _, block in inst.blocks("access_policy")
    ]
    for _, acls in inst.blocks("network_acls"):
        properties["networkAcls"] = mapper.props(
            acls, rid, {"bypass": "bypass", "defaultAction": "default_action"}, {}
        )
    mapper.emit(
        inst, {"id": rid, "type": _VAULTS, "name": rid.rsplit("/", 1)[-1], "properties": properties}
    )


def _access(mapper: Mapper, block: Instance, rid: str) -> dict[str, Any]:
    """An access policy entry: the object id may be an identity token from a reference."""
    object_id = mapper.linked(block, "object_id")
    if object_id is UNKNOWN:
        object_id = mapper.value(block, rid, "object_id")
    permissions = {
        kind: [str(p).lower() for p in found]
        if isinstance(found, list)
        else mapper.value(block, rid, f"{kind[:-1]}_permissions")
        for kind in ("secrets", "certificates", "keys")
        for found in [block.get(f"{kind[:-1]}_permissions")]
        if found is not None
    }
    return {
        "tenantId": block.get("tenant_id") if isinstance(block.get("tenant_id"), str) else "",
        "objectId": object_id,
        "permissions": permissions,
    }


def _access_policy(mapper: Mapper, inst: Instance) -> None:
    """``azurerm_key_vault_access_policy`` joins its vault's ``accessPolicies``."""
    target = mapper.target(inst, "key_vault_id")
    vault = mapper.resources.get(target.address) if target else None
    if vault is None:
        vault_id = mapper.named_id(inst, "key_vault_id")
        mapper.gap(
            inst,
            vault_id or mapper.file,
            "its Key Vault is not in the plan; the access policy is not judged",
            "access-policies",
        )
        return
    vault["properties"].setdefault("accessPolicies", []).append(_access(mapper, inst, vault["id"]))


def _role_assignment(mapper: Mapper, inst: Instance) -> None:
    scope = mapper.named_id(inst, "scope")
    if scope is None:
        mapper.gap(inst, mapper.file, "its scope is known only after apply", "role-assignments")
        return
    subscription = (
        scope.split("/")[2]
        if scope.lower().startswith("/subscriptions/")
        else mapper.env.subscription
    )
    role = inst.get("role_definition_id")
    if not isinstance(role, str):
        name = inst.get("role_definition_name")
        role = role_definition_id(subscription, name) if isinstance(name, str) else None
    if role is None:
        role = mapper.value(inst, scope, "role_definition_id")
    principal = mapper.linked(inst, "principal_id")
    if principal is UNKNOWN:
        principal = mapper.value(inst, scope, "principal_id")
    name = inst.get("name")
    name = name if isinstance(name, str) and name else inst.guid()
    rid = f"{scope}/providers/Microsoft.Authorization/roleAssignments/{name}"
    properties = {"scope": scope, "roleDefinitionId": role, "principalId": principal}
    mapper.emit(
        inst,
        {
            "id": rid,
            "type": "Microsoft.Authorization/roleAssignments",
            "name": name,
            "properties": properties,
        },
    )


def _user_identity(mapper: Mapper, inst: Instance) -> None:
    rid = mapper.ids[inst.address]
    properties = {
        key: found if found is not UNKNOWN else identity_token(inst, attribute)
        for key, attribute in (
            ("principalId", "principal_id"),
            ("clientId", "client_id"),
            ("tenantId", "tenant_id"),
        )
        for found in [inst.get(attribute)]
        if found is not None
    }
    mapper.emit(
        inst,
        {"id": rid, "type": _IDENTITIES, "name": rid.rsplit("/", 1)[-1], "properties": properties},
    )


OUTSIDE: dict[str, Callable[[Mapper, Instance], None]] = {
    "azurerm_api_management": _service,
    "azurerm_key_vault": _vault,
    "azurerm_role_assignment": _role_assignment,
    "azurerm_user_assigned_identity": _user_identity,
}
LATE: dict[str, Callable[[Mapper, Instance], None]] = {
    "azurerm_api_management_custom_domain": _custom_domain,
    "azurerm_key_vault_access_policy": _access_policy,
}
