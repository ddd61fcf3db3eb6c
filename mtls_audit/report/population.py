"""The population an assessment covers, counted in units an auditor can recount from the
snapshot: each count has a name and a definition, and the report prints both.

Two units need care. An *operation path* is one operation reached through one product path
(the path without product policies, and one per product that holds its API): the policy rules
judge paths, so 22 operations in 2 products can be 48 paths. A *distinct certificate* is one
SHA-1 thumbprint: the same certificate kept in Key Vault, referenced by an APIM certificate
entity and bound to two hostnames is one certificate in four inventory records.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from mtls_audit.model import ids
from mtls_audit.model.build import Model, ServiceModel
from mtls_audit.model.inventory import InventoryCertificate


@dataclass(frozen=True)
class Unit:
    label: str
    definition: str


UNITS: Mapping[str, Unit] = {
    "services": Unit("API Management services", "APIM instances in scope (ARM resources)."),
    "hostnames": Unit(
        "Hostnames",
        "Hostname configurations of the services (gateway, portal, management; the built-in "
        "*.azure-api.net host included) and of their self-hosted gateways.",
    ),
    "apis": Unit("APIs", "API resources, each revision counted once."),
    "operations": Unit("Operations", "Operation resources of those APIs."),
    "operation_paths": Unit(
        "Operation paths",
        "Each operation (or an API without operations) on each product path: the path "
        "without product policies, plus one per product holding its API. Policy rules judge "
        "these paths.",
    ),
    "products": Unit("Products", "Product resources."),
    "policies": Unit(
        "Policy documents", "Policy resources at global, product, API and operation scope."
    ),
    "policy_fragments": Unit("Policy fragments", "Policy fragment resources."),
    "backends": Unit("Backends", "Backend entities."),
    "certificates": Unit(
        "APIM certificate entities",
        "Certificates uploaded to or referenced by the service "
        "(service/certificates), not counting CA certificates or Key Vault copies.",
    ),
    "distinct_certificates": Unit(
        "Distinct certificates",
        "Every certificate in the inventory (hostname, CA, APIM entity, Key Vault) counted "
        "once per SHA-1 thumbprint: an APIM copy and its Key Vault copy are one certificate. "
        "A record without a thumbprint counts once on its own.",
    ),
    "certificate_records": Unit(
        "Certificate inventory records",
        "Rows of the certificate inventory: one per hostname binding, CA certificate, APIM "
        "certificate entity and Key Vault certificate.",
    ),
    "named_values": Unit("Named values", "Named value resources (values are never read)."),
    "subscriptions": Unit(
        "APIM subscriptions (keys)",
        "API Management subscriptions, the keys callers present: not Azure subscriptions.",
    ),
    "gateways": Unit("Self-hosted gateways", "Gateway resources of the services."),
    "workspaces": Unit("Workspaces", "APIM workspaces found (their contents are not judged)."),
    "key_vaults": Unit("Key Vaults", "Vaults referenced by the services and collected."),
    "role_assignments": Unit(
        "Role assignments", "Azure role assignments at the vaults or above them."
    ),
    "keyvault_certificates": Unit(
        "Key Vault certificates", "Certificate objects read from the vaults' data plane."
    ),
    "gaps": Unit("Gaps", "Parts of the population that could not be collected or read."),
}


def operation_paths(svc: ServiceModel) -> int:
    """Operations × product paths, as :meth:`EffectivePolicies.paths` walks them."""
    products: Counter[str] = Counter(ids.key(api) for _, api in svc.product_api_links)
    operations: Counter[str] = Counter(ids.key(o.api_id) for o in svc.operations)
    return sum(
        (1 + products[ids.key(api.id)]) * max(1, operations[ids.key(api.id)]) for api in svc.apis
    )


def distinct_certificates(inventory: Sequence[InventoryCertificate]) -> int:
    thumbprints = {c.thumbprint.upper() for c in inventory if c.thumbprint}
    return len(thumbprints) + sum(1 for c in inventory if not c.thumbprint)


def population(model: Model, inventory: Sequence[InventoryCertificate]) -> dict[str, int]:
    svcs = model.services
    return {
        "services": len(svcs),
        "hostnames": sum(len(s.service.hostnames) + len(s.gateway_hostnames) for s in svcs),
        "apis": sum(len(s.apis) for s in svcs),
        "operations": sum(len(s.operations) for s in svcs),
        "operation_paths": sum(operation_paths(s) for s in svcs),
        "products": sum(len(s.products) for s in svcs),
        "policies": sum(len(s.policies) for s in svcs),
        "policy_fragments": sum(len(s.fragments) for s in svcs),
        "backends": sum(len(s.backends) for s in svcs),
        "certificates": sum(len(s.certificates) for s in svcs),
        "distinct_certificates": distinct_certificates(inventory),
        "certificate_records": len(inventory),
        "named_values": sum(len(s.named_values) for s in svcs),
        "subscriptions": sum(len(s.subscriptions) for s in svcs),
        "gateways": sum(len(s.gateways) for s in svcs),
        "workspaces": sum(len(s.workspaces) for s in svcs),
        "key_vaults": len(model.vaults),
        "role_assignments": len(model.role_assignments),
        "keyvault_certificates": len(model.keyvault_certificates),
        "gaps": len(model.gaps),
    }
