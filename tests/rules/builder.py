"""Small snapshots for rule tests: a service plus the resources a case names."""

from __future__ import annotations

import base64
import copy
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import urlsplit

from tests.certs.factory import mint, mint_root

SUBSCRIPTION = "00000000-0000-0000-0000-000000000001"
RG = f"/subscriptions/{SUBSCRIPTION}/resourceGroups/rg-test"
SERVICE_ID = f"{RG}/providers/Microsoft.ApiManagement/service/apim-test"
COLLECTED_AT = "2026-11-20T09:00:00Z"

BASE_SERVICE: dict[str, Any] = {
    "id": SERVICE_ID,
    "type": "Microsoft.ApiManagement/service",
    "name": "apim-test",
    "location": "westeurope",
    "sku": {"name": "Premium", "capacity": 1},
    "identity": {"type": "SystemAssigned", "principalId": "11111111-1111-1111-1111-111111111111"},
    "properties": {"createdAtUtc": "2023-03-01T10:00:00Z", "hostnameConfigurations": []},
}


def merge(base: Any, patch: Any) -> Any:
    """Deep merge; a None value in the patch removes the key."""
    if isinstance(base, dict) and isinstance(patch, Mapping):
        out = dict(base)
        for key, value in patch.items():
            if value is None:
                out.pop(key, None)
            else:
                out[key] = merge(base.get(key), value)
        return out
    return copy.deepcopy(patch)


def child(path: str, properties: Mapping[str, Any] | None = None, **extra: Any) -> dict[str, Any]:
    """An APIM child resource from a relative path such as ``apis/a/operations/o``."""
    segments = path.strip("/").split("/")
    types = segments[0::2]
    return {
        "id": f"{SERVICE_ID}/{path.strip('/')}",
        "type": "Microsoft.ApiManagement/service/" + "/".join(types),
        "name": segments[-1],
        "properties": dict(properties or {}),
        **extra,
    }


def vault_id(name: str) -> str:
    return f"{RG}/providers/Microsoft.KeyVault/vaults/{name}"


def role_definition_id(guid: str) -> str:
    return f"/subscriptions/{SUBSCRIPTION}/providers/Microsoft.Authorization/roleDefinitions/{guid}"


def vault(name: str, properties: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """A Key Vault resource with the vaultUri of its name (a None in ``properties`` drops it)."""
    base = {"vaultUri": f"https://{name}.vault.azure.net/"}
    return {
        "id": vault_id(name),
        "type": "Microsoft.KeyVault/vaults",
        "name": name,
        "properties": merge(base, properties or {}),
    }


def scope_id(scope: str) -> str:
    """``subscription``, ``resource-group``, ``vault:NAME`` or ``vault:NAME/secrets/S``; any
    other text is taken as a full scope."""
    if scope == "subscription":
        return f"/subscriptions/{SUBSCRIPTION}"
    if scope == "resource-group":
        return RG
    if scope.startswith("vault:"):
        name, _, rest = scope[len("vault:") :].partition("/")
        return vault_id(name) + (f"/{rest}" if rest else "")
    return scope


def role_assignment(
    name: str, *, role: str, scope: str = "vault:kv-test", principal: str | None = None
) -> dict[str, Any]:
    """A role assignment of the role ``role`` (a GUID), by default to the service's identity."""
    at = scope_id(scope)
    return {
        "id": f"{at}/providers/Microsoft.Authorization/roleAssignments/{name}",
        "type": "Microsoft.Authorization/roleAssignments",
        "name": name,
        "properties": {
            "scope": at,
            "roleDefinitionId": role_definition_id(role),
            "principalId": principal or BASE_SERVICE["identity"]["principalId"],
        },
    }


def expand(resource: Mapping[str, Any]) -> dict[str, Any]:
    """A resource from a case: ``path`` (an APIM child), ``vault``, ``role_assignment`` and
    ``role_definition`` shortcuts, or a full resource."""
    if "path" in resource:
        rest = {k: v for k, v in resource.items() if k not in ("path", "properties")}
        return child(resource["path"], resource.get("properties"), **rest)
    if "vault" in resource:
        return vault(resource["vault"], resource.get("properties"))
    if "role_assignment" in resource:
        options = {k: resource[k] for k in ("role", "scope", "principal") if k in resource}
        return role_assignment(resource["role_assignment"], **options)
    if "role_definition" in resource:
        guid = resource["role_definition"]
        return {
            "id": role_definition_id(guid),
            "type": "Microsoft.Authorization/roleDefinitions",
            "name": guid,
            "properties": dict(resource.get("properties") or {}),
        }
    return dict(resource)


def snapshot(
    service: Mapping[str, Any] | None = None,
    resources: Sequence[Mapping[str, Any]] = (),
    *,
    gaps: Sequence[Mapping[str, Any]] = (),
    keyvault: Mapping[str, Any] | None = None,
    with_service: bool = True,
    probe: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """A snapshot v1 document around one service patched with ``service`` (and a ``probe``
    section completed by :func:`probe_section` when given)."""
    rows = [merge(BASE_SERVICE, service or {})] if with_service else []
    rows += [expand(r) for r in resources]
    document = {
        "schema": "mtls-audit/snapshot/v1",
        "provenance": {"source": "files", "collected_at": COLLECTED_AT},
        "resources": rows,
        "keyvault": {url: _vault_data(data) for url, data in (keyvault or {}).items()},
        "gaps": [dict(g) for g in gaps],
    }
    if probe is not None:
        document["probe"] = probe_section(probe)
    return document


def minted_cer(spec: Mapping[str, Any]) -> str:
    """Base64 DER of a throw-away certificate: ``subject``, ``key`` (a factory key kind) and
    ``self_signed`` (else issued by a throw-away root)."""
    issuer = None if spec.get("self_signed", False) else mint_root()
    cert = mint(spec.get("subject", "CN=test"), issuer=issuer, key=spec.get("key", "p256"))
    return base64.b64encode(cert.der).decode("ascii")


def _vault_data(data: Mapping[str, Any]) -> dict[str, Any]:
    """Key Vault data of a case; a ``cer`` given as a mapping is minted by :func:`minted_cer`."""
    certificates = {
        name: {**cert, "cer": minted_cer(cert["cer"])}
        if isinstance(cert.get("cer"), Mapping)
        else dict(cert)
        for name, cert in (data.get("certificates") or {}).items()
    }
    return {**data, "certificates": certificates}


def probe_section(spec: Mapping[str, Any]) -> dict[str, Any]:
    """A probe section from a short spec: targets and hosts default to the test service, their
    host to the URL's, attempts' time to the collection time."""

    def target(item: Mapping[str, Any]) -> dict[str, Any]:
        out = {"service_id": SERVICE_ID, "host": urlsplit(item["url"]).hostname, **item}
        out["attempts"] = [{"at": COLLECTED_AT, **a} for a in item.get("attempts", [])]
        return out

    return {
        "started_at": COLLECTED_AT,
        "finished_at": COLLECTED_AT,
        "targets": [target(t) for t in spec.get("targets", [])],
        "hosts": [target(t) for t in spec.get("hosts", [])],
        "skipped": list(spec.get("skipped", [])),
    }
