"""Which identity APIM reads each Key Vault reference with, and what that identity may do there.

A reference's ``identityClientId`` names one of the service's user-assigned identities by its
client id; without it APIM uses the system-assigned identity (FACTS §1). A reference naming an
identity the service does not have cannot be read at all: that is a finding, not an unknown.

Access is judged by :func:`mtls_audit.model.access.resolve_access` on inputs adapted from the
model here. Whatever the snapshot lacks — the vault resource, its role assignments (a
``role-assignments`` gap about the vault or the service, or no role assignment in the snapshot at
all) — makes the answer unknown, never a pass.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any
from urllib.parse import urlsplit

from mtls_audit.model import access, ids
from mtls_audit.model.build import Model, ServiceModel
from mtls_audit.model.cite import Citation
from mtls_audit.model.entities import (
    KeyVaultRef,
    RoleAssignment,
    RoleDefinition,
    Vault,
    secret_name_of,
)
from mtls_audit.model.json_view import View, is_unresolved, same


class IdentityStatus(StrEnum):
    """Whether the identity a Key Vault reference asks for is there."""

    RESOLVED = "resolved"
    """The service has the identity the reference asks for."""
    MISSING = "missing"
    """The reference asks for an identity the service does not have (a finding)."""
    UNKNOWN = "unknown"
    """The snapshot cannot tell (e.g. an unresolved template expression)."""


@dataclass(frozen=True, slots=True)
class ReferenceIdentity:
    """The identity one Key Vault reference is read with.

    ``reason`` completes a sentence that starts with the reference's label, e.g. "The hostname
    api.example.org " + "reads Key Vault as the system-assigned identity".
    """

    ref: KeyVaultRef
    status: IdentityStatus
    system_assigned: bool
    client_id: str | None
    """The ``identityClientId`` as written (None for the system-assigned identity)."""
    resource_id: str | None
    """The user-assigned identity's resource id, once resolved."""
    principal_id: str | None
    reason: str
    evidence: tuple[Citation, ...]

    @property
    def description(self) -> str:
        if self.system_assigned:
            return "the system-assigned identity"
        if self.resource_id:
            return (
                f"the user-assigned identity {ids.last_name(self.resource_id)} "
                f"(client id {self.client_id})"
            )
        return f"the user-assigned identity with client id {self.client_id}"


def reference_identity(svc: ServiceModel, ref: KeyVaultRef) -> ReferenceIdentity:
    """Resolve the identity of one reference against the service's ``identity`` block."""
    identity = svc.service.identity
    block = identity.view or View(svc.id, svc.service.view.ptr("identity"), {})
    evidence: tuple[Citation, ...] = (ref.view.cite("identityClientId"), block.cite("type"))
    raw_client = ref.view.get("identityClientId")

    def found(status: IdentityStatus, reason: str, **fields: Any) -> ReferenceIdentity:
        values: dict[str, Any] = {
            "system_assigned": raw_client in (None, ""),
            "client_id": None if raw_client in (None, "") else str(raw_client),
            "resource_id": None,
            "principal_id": None,
        }
        values.update(fields)
        return ReferenceIdentity(ref, status, reason=reason, evidence=evidence, **values)

    written = svc.service.view.get("identity")
    if is_unresolved(written):
        return found(
            IdentityStatus.UNKNOWN,
            f"cannot be tied to an identity: the service's identity {written!r} is not resolved",
        )
    if is_unresolved(block.get("type")):
        return found(
            IdentityStatus.UNKNOWN,
            f"cannot be tied to an identity: the service's identity type {block.get('type')!r} "
            "is not resolved",
        )
    if raw_client in (None, ""):
        if identity.system_assigned:
            principal = identity.principal_id
            return found(
                IdentityStatus.RESOLVED,
                "reads Key Vault as the system-assigned identity"
                + (f" (principal {principal})" if principal else ""),
                principal_id=principal,
            )
        return found(
            IdentityStatus.MISSING,
            "names no identityClientId, so APIM reads it with the system-assigned identity, "
            f"which the service does not have (identity type {identity.type})",
        )
    if not isinstance(raw_client, str) or is_unresolved(raw_client):
        return found(
            IdentityStatus.UNKNOWN,
            f"names identityClientId {raw_client!r}, which is not resolved",
        )
    users = identity.user_assigned
    evidence += (block.cite("userAssignedIdentities"),)
    match = next((u for u in users if u.client_id and same(u.client_id, raw_client)), None)
    if match is not None:
        return found(
            IdentityStatus.RESOLVED,
            f"reads Key Vault as the user-assigned identity {ids.last_name(match.resource_id)} "
            f"(client id {raw_client})",
            resource_id=match.resource_id,
            principal_id=match.principal_id,
        )
    if any(not u.client_id for u in users):
        return found(
            IdentityStatus.UNKNOWN,
            f"names identityClientId {raw_client}; the client ids of the service's "
            "user-assigned identities are not all in the snapshot",
        )
    have = ", ".join(sorted(str(u.client_id) for u in users)) or "none"
    return found(
        IdentityStatus.MISSING,
        f"names identityClientId {raw_client}, which is not a user-assigned identity of the "
        f"service (its user-assigned client ids: {have})",
    )


def reference_identities(svc: ServiceModel) -> tuple[ReferenceIdentity, ...]:
    """The identity of every Key Vault reference of the service, in reference order."""
    return tuple(reference_identity(svc, ref) for ref in svc.key_vault_refs())


@dataclass(frozen=True, slots=True)
class VaultUse:
    """The references of one service that read one vault with one identity."""

    vault_url: str | None
    """None when a secret identifier is not a URL."""
    identity: ReferenceIdentity
    """The identity of the first of ``refs``; the others ask for the same one."""
    refs: tuple[KeyVaultRef, ...]

    @property
    def secrets(self) -> tuple[str, ...]:
        names = (secret_name_of(r.secret_identifier) for r in self.refs)
        return tuple(dict.fromkeys(n for n in names if n))

    @property
    def shown_vault(self) -> str:
        """The vault URL for messages, or "an unknown vault" when the references name none."""
        return self.vault_url or "an unknown vault"

    @property
    def key(self) -> str:
        who = "system" if self.identity.system_assigned else f"user:{self.identity.client_id}"
        return f"{self.vault_url or '?'} {who}".lower()

    @property
    def label(self) -> str:
        host = urlsplit(self.vault_url).hostname if self.vault_url else None
        return f"{host or 'unknown vault'} via {self.identity.description}"


def vault_uses(svc: ServiceModel) -> tuple[VaultUse, ...]:
    """The service's Key Vault references grouped by vault and identity, in first-use order."""
    groups: dict[tuple[str, ...], list[ReferenceIdentity]] = {}
    for found in reference_identities(svc):
        client = (found.client_id or "").lower()
        key = (found.ref.vault_url or "", found.status.value, str(found.system_assigned), client)
        groups.setdefault(key, []).append(found)
    return tuple(
        VaultUse(group[0].ref.vault_url, group[0], tuple(f.ref for f in group))
        for group in groups.values()
    )


def find_vault(model: Model, vault_url: str | None) -> Vault | None:
    """The vault resource of a vault URL: by ``vaultUri``, else (for resources from templates,
    which carry no read-only ``vaultUri``) by name, vault names being their DNS labels."""
    vault = model.vault_by_url(vault_url)
    if vault is not None or not vault_url:
        return vault
    label = (urlsplit(vault_url).hostname or "").split(".", 1)[0]
    return next((v for v in model.vaults if v.uri is None and same(v.name, label)), None)


def vault_access_model(vault: Vault) -> access.VaultAccessModel:
    """``enableRbacAuthorization`` and ``accessPolicies`` (None when absent: not collected).

    Compound-identity entries (with an ``applicationId``) grant access only to that application
    acting for the object, never to the object alone, so they are left out.
    """
    policies: tuple[access.AccessPolicyEntry, ...] | None = None
    if isinstance(vault.props.get("accessPolicies"), list):
        policies = tuple(
            _policy_entry(entry)
            for entry in vault.props.children("accessPolicies")
            if not entry.text("applicationId")
        )
    return access.VaultAccessModel(vault.id, vault.rbac, policies)


def _policy_entry(entry: View) -> access.AccessPolicyEntry:
    permissions = entry.child("permissions")
    return access.AccessPolicyEntry(
        object_id=entry.text("objectId") or "",
        secrets=_strings(permissions.get("secrets") if permissions else None),
        certificates=_strings(permissions.get("certificates") if permissions else None),
    )


def role_assignment_input(assignment: RoleAssignment) -> access.RoleAssignment:
    return access.RoleAssignment(
        id=assignment.id,
        scope=assignment.scope,
        role_definition_id=assignment.role_definition_id,
        principal_id=assignment.principal_id,
    )


def role_definition_input(definition: RoleDefinition) -> access.RoleDefinition:
    """A role definition; several ``permissions`` blocks are read as one."""
    blocks = list(definition.props.children("permissions"))

    def joined(name: str) -> tuple[str, ...]:
        return tuple(action for block in blocks for action in _strings(block.get(name)))

    return access.RoleDefinition(
        id=definition.id,
        name=definition.props.text("roleName") or "",
        role_type=definition.props.text("type") or "",
        actions=joined("actions"),
        not_actions=joined("notActions"),
        data_actions=joined("dataActions"),
        not_data_actions=joined("notDataActions"),
    )


def vault_access(
    model: Model,
    principal_id: str,
    vault_url: str,
    *,
    secrets: Sequence[str] = (),
    service_id: str | None = None,
) -> access.AccessVerdict:
    """Can ``principal_id`` read secrets in the vault at ``vault_url``, and does it hold more
    than it needs? ``secrets`` names the secrets it must read (secret-scoped assignments count
    for those only); ``service_id`` widens the gaps that make role assignments unknown."""
    vault = find_vault(model, vault_url)
    if vault is None:
        return access.AccessVerdict(
            None,
            None,
            (),
            (),
            (f"No Microsoft.KeyVault/vaults resource for {vault_url} is in the snapshot.",),
        )
    assignments = None
    if _assignments_collected(model, vault, service_id):
        # Sorted, so that what a result cites does not depend on the order Azure listed them.
        assignments = sorted(
            (role_assignment_input(a) for a in model.role_assignments), key=lambda a: a.id.lower()
        )
    definitions = {d.id: role_definition_input(d) for d in model.role_definitions}
    return access.resolve_access(
        principal_id,
        vault_access_model(vault),
        assignments,
        definitions,
        secret_scopes=secrets,
    )


def access_evidence(
    model: Model, vault_url: str, verdict: access.AccessVerdict
) -> tuple[Citation, ...]:
    """Citations for a verdict: the vault's permission model and every grant found."""
    vault = find_vault(model, vault_url)
    if vault is None:
        return ()
    out = [vault.props.cite("enableRbacAuthorization")]
    assignments = {ids.key(a.id): a for a in model.role_assignments}
    policies = list(vault.props.children("accessPolicies"))
    for grant in verdict.grants:
        if grant.kind is access.GrantKind.ROLE_ASSIGNMENT:
            assignment = assignments.get(ids.key(grant.source))
            if assignment is not None:
                out.append(assignment.props.cite("roleDefinitionId"))
        else:
            out += [
                entry.cite("permissions")
                for entry in policies
                if same(entry.text("objectId"), grant.source)
            ]
    return tuple({(c.resource_id, c.pointer): c for c in out}.values())


def _assignments_collected(model: Model, vault: Vault, service_id: str | None) -> bool:
    if not model.role_assignments:
        return False
    scopes = [vault.id] + ([service_id] if service_id else [])
    for gap in model.gaps_about("role-assignments"):
        subject = gap.subject
        if not subject.startswith("/"):
            # A vault URL names one vault; a file may have held anything.
            if not subject.lower().startswith("https://"):
                return False
            if vault.uri is not None and same(subject.rstrip("/"), vault.uri):
                return False
        elif any(ids.is_within(s, subject) or ids.is_within(subject, s) for s in scopes):
            return False
    return True


def _strings(value: Any) -> tuple[str, ...]:
    items: Iterable[Any] = value if isinstance(value, list) else ()
    return tuple(v for v in items if isinstance(v, str))
