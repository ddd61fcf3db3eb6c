"""Whether an identity can read a Key Vault's secrets, and whether it holds more than it needs.

RBAC vaults: a role assignment counts when its principal is the identity (case-insensitive) and its
scope is the vault, an ancestor of it (resource group, subscription, ``/``, or a management group
known to contain the subscription) or one secret of the vault (that secret only). Scopes are
compared by path segments, case-insensitively. Roles are recognised by the trailing GUID of
``roleDefinitionId``: the Key Vault built-ins and the broad management roles are known here; any
other role is judged by its definition's ``dataActions`` minus ``notDataActions`` (wildcards
allowed); a role without a definition cannot be judged.

Access-policy vaults: only access policies give data access (secrets ``get`` or ``all``); role
assignments matter there for management rights, since a role that can write the vault or assign
roles can grant itself access.

Over-privileged (MTLS-KV-03): Key Vault Administrator, Secrets Officer, Owner, Contributor, User
Access Administrator, Key Vault Contributor on access-policy vaults, custom roles that can write or
delete secrets, certificates or keys or assign roles (or, on access-policy vaults, write the vault),
and access policies granting more than get/list on secrets or certificates.

Missing evidence never reads as access: anything not collected makes the answer None and is named
in ``unknowns``.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum


@dataclass(frozen=True)
class RoleAssignment:
    id: str
    scope: str
    role_definition_id: str
    principal_id: str


@dataclass(frozen=True)
class RoleDefinition:
    id: str
    name: str
    """The display name (ARM ``properties.roleName``)."""
    role_type: str
    actions: tuple[str, ...]
    not_actions: tuple[str, ...]
    data_actions: tuple[str, ...]
    not_data_actions: tuple[str, ...]


@dataclass(frozen=True)
class AccessPolicyEntry:
    object_id: str
    secrets: tuple[str, ...]
    certificates: tuple[str, ...]


@dataclass(frozen=True)
class VaultAccessModel:
    vault_id: str
    rbac: bool | None
    """``enableRbacAuthorization``; None when unknown."""
    access_policies: tuple[AccessPolicyEntry, ...] | None
    """None when not collected."""


class PermissionModel(StrEnum):
    RBAC = "rbac"
    ACCESS_POLICIES = "access-policies"


class GrantKind(StrEnum):
    ROLE_ASSIGNMENT = "role-assignment"
    ACCESS_POLICY = "access-policy"


class ScopeKind(StrEnum):
    VAULT = "vault"
    ANCESTOR = "ancestor"
    MANAGEMENT_GROUP = "management-group"
    SECRET = "secret"


@dataclass(frozen=True)
class Grant:
    """One way the identity is granted something on the vault, judged under one permission model."""

    kind: GrantKind
    model: PermissionModel
    source: str
    """The role assignment id, or the access policy's object id."""
    role: str | None
    scope: str | None
    scope_kind: ScopeKind | None
    secret: str | None
    """For a secret-scoped assignment, the secret's name (lower case)."""
    sufficient: bool | None
    over_privileged: bool | None
    note: str


@dataclass(frozen=True)
class AccessVerdict:
    """Whether an identity can read a vault's secrets, holds more than it needs, and why."""

    can_read_secrets: bool | None
    over_privileged: bool | None
    grants: tuple[Grant, ...]
    reasons: tuple[str, ...]
    unknowns: tuple[str, ...]


GET_SECRET = "Microsoft.KeyVault/vaults/secrets/getSecret/action"
_ASSIGN_ROLES = "Microsoft.Authorization/roleAssignments/write"
_WRITE_VAULT = ("Microsoft.KeyVault/vaults/write", "Microsoft.KeyVault/vaults/accessPolicies/write")
_BROAD_DATA_ACTIONS = (
    "Microsoft.KeyVault/vaults/secrets/setSecret/action",
    "Microsoft.KeyVault/vaults/secrets/delete",
    "Microsoft.KeyVault/vaults/secrets/purge/action",
    "Microsoft.KeyVault/vaults/certificates/create/action",
    "Microsoft.KeyVault/vaults/certificates/import/action",
    "Microsoft.KeyVault/vaults/certificates/delete",
    "Microsoft.KeyVault/vaults/keys/create/action",
    "Microsoft.KeyVault/vaults/keys/delete",
)
_READ_ONLY_POLICY = {
    "secrets": frozenset({"get", "list"}),
    "certificates": frozenset({"get", "list", "getissuers", "listissuers"}),
}
_MANAGEMENT_GROUP = ("providers", "microsoft.management", "managementgroups")


@dataclass(frozen=True)
class _Role:
    name: str
    reads_secrets: bool | None
    """Data access on an RBAC vault."""
    over_rbac: bool | None
    over_policies: bool | None
    """Over-privileged on an access-policy vault (can grant itself access)."""
    note: str


_BUILT_IN: dict[str, _Role] = {
    "00482a5a-887f-4fb3-b363-3b7fe8e74483": _Role(
        "Key Vault Administrator", True, True, False, "controls all keys, secrets and certificates"
    ),
    "a4417e6f-fecd-4de8-b567-7b0420556985": _Role(
        "Key Vault Certificates Officer", False, False, False, "has no getSecret"
    ),
    "db79e9a7-68ee-4b58-9aeb-b90e7c24fcba": _Role(
        "Key Vault Certificate User", True, False, False, "reads certificate contents"
    ),
    "4633458b-17de-408a-b874-0445c86b69e6": _Role(
        "Key Vault Secrets User", True, False, False, "reads secret values"
    ),
    "b86a8fe4-44ce-4948-aee5-eccb2c155cd7": _Role(
        "Key Vault Secrets Officer", True, True, False, "can also write and delete secrets"
    ),
    "21090545-7ca7-4776-b22c-e363652d74d2": _Role(
        "Key Vault Reader", False, False, False, "reads metadata only, not secret values"
    ),
    "f25e0fa2-a7c8-4377-a976-54943a77a395": _Role(
        "Key Vault Contributor", False, False, True, "manages the vault; can change access policies"
    ),
    "8e3af657-a8ff-443c-a75c-2fe8c4bcb635": _Role(
        "Owner", False, True, True, "can assign roles to itself and change access policies"
    ),
    "b24988ac-6180-42a0-ab88-20f7382dd24c": _Role(
        "Contributor", False, True, True, "manages the vault; can change access policies"
    ),
    "18d7d88d-d35e-4fb5-a5c3-7773c20a72d9": _Role(
        "User Access Administrator", False, True, True, "can assign roles, to itself too"
    ),
    "acdd72a7-3385-48ef-bd42-f606fba81ae7": _Role(
        "Reader", False, False, False, "reads resource metadata only, not secret values"
    ),
}


def resolve_access(
    principal_id: str,
    vault: VaultAccessModel,
    assignments: Sequence[RoleAssignment] | None,
    definitions: Mapping[str, RoleDefinition],
    *,
    secret_scopes: Sequence[str] = (),
    management_groups: Collection[str] | None = None,
) -> AccessVerdict:
    """Judge the identity ``principal_id`` on ``vault``.

    ``assignments`` None means role assignments were not collected. ``definitions`` may be keyed
    by full role definition id or by GUID. ``secret_scopes`` names the secrets the identity must
    read (names, ARM ids or secret URLs): secret-scoped assignments count for those only.
    ``management_groups`` names the management groups known to contain the vault's subscription
    (None: not known, so assignments at a management group cannot be counted).
    """
    if not principal_id.strip():
        return AccessVerdict(None, None, (), (), ("The identity's principal id is unknown.",))
    context = _Context(
        principal=principal_id.lower(),
        vault=_segments(vault.vault_id),
        definitions={_guid(key): value for key, value in definitions.items()},
        secrets=frozenset(_secret_name(scope) for scope in secret_scopes),
        management_groups=(
            None if management_groups is None else frozenset(g.lower() for g in management_groups)
        ),
    )
    if vault.rbac is None:
        return _either(
            _judge(context, vault, assignments, PermissionModel.RBAC),
            _judge(context, vault, assignments, PermissionModel.ACCESS_POLICIES),
        )
    model = PermissionModel.RBAC if vault.rbac else PermissionModel.ACCESS_POLICIES
    return _judge(context, vault, assignments, model)


@dataclass(frozen=True)
class _Context:
    principal: str
    vault: tuple[str, ...]
    definitions: Mapping[str, RoleDefinition]
    secrets: frozenset[str]
    management_groups: frozenset[str] | None


def _judge(
    context: _Context,
    vault: VaultAccessModel,
    assignments: Sequence[RoleAssignment] | None,
    model: PermissionModel,
) -> AccessVerdict:
    unknowns: list[str] = []
    grants: list[Grant] = []
    if assignments is None:
        unknowns.append("Role assignments were not collected.")
    else:
        for assignment in assignments:
            if assignment.principal_id.lower() == context.principal:
                grants.extend(_role_grant(context, assignment, model, unknowns))
    policies = [e for e in vault.access_policies or () if e.object_id.lower() == context.principal]
    if model is PermissionModel.ACCESS_POLICIES:
        if vault.access_policies is None:
            unknowns.append("The vault's access policies were not collected.")
        grants.extend(_policy_grant(entry) for entry in policies)
    reasons = [grant.note for grant in grants]
    if model is PermissionModel.RBAC and policies:
        reasons.append("An access policy names the identity, but an RBAC vault ignores it.")
    can_read, why_not = _can_read(context, grants, model)
    # Only access policies decide data access on an access-policy vault.
    data_unknown = (
        vault.access_policies is None if model is PermissionModel.ACCESS_POLICIES else unknowns
    )
    if can_read is False and data_unknown:
        can_read = None
    elif why_not:
        reasons.append(why_not)
    over: bool | None = None
    if any(g.over_privileged for g in grants):
        over = True
    elif not unknowns and all(g.over_privileged is False for g in grants):
        over = False
    return AccessVerdict(can_read, over, tuple(grants), tuple(reasons), tuple(unknowns))


def _can_read(
    context: _Context, grants: Sequence[Grant], model: PermissionModel
) -> tuple[bool | None, str | None]:
    """The answer from the grants found, and why not when it is no."""
    if model is PermissionModel.ACCESS_POLICIES:
        if any(g.sufficient for g in grants):
            return True, None
        return False, "No access policy gives the identity secrets Get."
    if any(g.sufficient for g in grants if g.scope_kind is not ScopeKind.SECRET):
        return True, None
    covered = {g.secret for g in grants if g.sufficient and g.scope_kind is ScopeKind.SECRET}
    if context.secrets and context.secrets <= covered:
        return True, None
    if any(g.sufficient is None for g in grants):
        return None, None
    missing = sorted(context.secrets - covered)
    where = f" or on the secrets {', '.join(missing)}" if missing else ""
    return False, f"No role assignment gives the identity getSecret on the vault{where}."


def _role_grant(
    context: _Context, assignment: RoleAssignment, model: PermissionModel, unknowns: list[str]
) -> list[Grant]:
    placed = _place(context, assignment, unknowns)
    if placed is None:
        return []
    kind, where, secret = placed
    guid = _guid(assignment.role_definition_id)
    role = _BUILT_IN.get(guid) or _custom_role(context.definitions.get(guid))
    if role is None:
        unknowns.append(
            f"Role definition {guid} (assignment {assignment.id}) is not known, so what it "
            "grants cannot be judged."
        )
        role = _Role(f"unknown role {guid}", None, None, None, "its definition was not collected")
    if model is PermissionModel.RBAC:
        sufficient, over = role.reads_secrets, role.over_rbac
        effect = {True: "can", False: "cannot", None: "may or may not"}[sufficient]
        effect += " read secrets"
    else:
        sufficient, over = False, role.over_policies
        effect = "gives no data access on an access-policy vault"
    note = f"{role.name} at {where} ({assignment.id}) {effect}: {role.note}"
    return [
        Grant(
            kind=GrantKind.ROLE_ASSIGNMENT,
            model=model,
            source=assignment.id,
            role=role.name,
            scope=assignment.scope,
            scope_kind=kind,
            secret=secret,
            sufficient=sufficient,
            over_privileged=over,
            note=note + ("; over-privileged." if over else "."),
        )
    ]


def _place(
    context: _Context, assignment: RoleAssignment, unknowns: list[str]
) -> tuple[ScopeKind, str, str | None] | None:
    """Where the assignment's scope stands relative to the vault, or None when it does not apply."""
    segments = _segments(assignment.scope)
    vault = context.vault
    if segments == vault:
        return ScopeKind.VAULT, "the vault", None
    if vault[: len(segments)] == segments:
        return ScopeKind.ANCESTOR, f"the ancestor scope {assignment.scope!r}", None
    if len(segments) == len(vault) + 2 and segments[: len(vault) + 1] == (*vault, "secrets"):
        return ScopeKind.SECRET, f"the secret {segments[-1]!r} only", segments[-1]
    if len(segments) == 4 and segments[:3] == _MANAGEMENT_GROUP:
        group = segments[3]
        if context.management_groups is None:
            unknowns.append(
                f"Role assignment {assignment.id} is at management group {group!r}; whether it "
                "contains the vault's subscription is not known, so it is not counted."
            )
        elif group in context.management_groups:
            return ScopeKind.MANAGEMENT_GROUP, f"management group {group!r}", None
    return None


def _custom_role(definition: RoleDefinition | None) -> _Role | None:
    if definition is None:
        return None
    data = (definition.data_actions, definition.not_data_actions)
    management = (definition.actions, definition.not_actions)
    reads = _permits(*data, GET_SECRET)
    broad_data = [a for a in _BROAD_DATA_ACTIONS if _permits(*data, a)]
    assigns_roles = _permits(*management, _ASSIGN_ROLES)
    writes_vault = any(_permits(*management, action) for action in _WRITE_VAULT)
    powers = [
        *(["write or delete vault items"] if broad_data else []),
        *(["assign roles"] if assigns_roles else []),
        *(["write the vault"] if writes_vault else []),
    ]
    note = f"its data actions {'include' if reads else 'do not include'} getSecret" + (
        f"; it can {', '.join(powers)}" if powers else ""
    )
    return _Role(
        definition.name or _guid(definition.id),
        reads,
        bool(broad_data) or assigns_roles,
        assigns_roles or writes_vault,
        note,
    )


def _policy_grant(entry: AccessPolicyEntry) -> Grant:
    secrets = {p.lower() for p in entry.secrets}
    certificates = {p.lower() for p in entry.certificates}
    sufficient = bool(secrets & {"get", "all"})
    broad = sorted(
        (secrets - _READ_ONLY_POLICY["secrets"])
        | (certificates - _READ_ONLY_POLICY["certificates"])
    )
    allowed = ", ".join(sorted(secrets)) or "nothing"
    note = f"An access policy for {entry.object_id} allows secrets: {allowed}"
    note += ": enough to read secrets" if sufficient else ": no secrets Get"
    if broad:
        note += f"; it also allows {', '.join(broad)}, more than APIM needs"
    return Grant(
        kind=GrantKind.ACCESS_POLICY,
        model=PermissionModel.ACCESS_POLICIES,
        source=entry.object_id,
        role=None,
        scope=None,
        scope_kind=None,
        secret=None,
        sufficient=sufficient,
        over_privileged=bool(broad),
        note=note + ".",
    )


def _either(rbac: AccessVerdict, policies: AccessVerdict) -> AccessVerdict:
    """Combine the two readings of a vault whose permission model is unknown."""
    unknowns = list(dict.fromkeys(rbac.unknowns + policies.unknowns))
    if (rbac.can_read_secrets, rbac.over_privileged) != (
        policies.can_read_secrets,
        policies.over_privileged,
    ):
        unknowns.append(
            "The vault's permission model (enableRbacAuthorization) is not known, and the answer "
            "differs between RBAC and access policies."
        )
    return AccessVerdict(
        can_read_secrets=_agree(rbac.can_read_secrets, policies.can_read_secrets),
        over_privileged=_agree(rbac.over_privileged, policies.over_privileged),
        grants=rbac.grants + policies.grants,
        reasons=tuple(f"If the vault uses RBAC: {r}" for r in rbac.reasons)
        + tuple(f"If the vault uses access policies: {r}" for r in policies.reasons),
        unknowns=tuple(unknowns),
    )


def _agree(first: bool | None, second: bool | None) -> bool | None:
    return first if first == second else None


def _permits(granted: Sequence[str], denied: Sequence[str], action: str) -> bool:
    return any(_matches(p, action) for p in granted) and not any(
        _matches(p, action) for p in denied
    )


def _matches(pattern: str, action: str) -> bool:
    regex = ".*".join(re.escape(part) for part in pattern.split("*"))
    return re.fullmatch(regex, action, flags=re.IGNORECASE) is not None


def _segments(resource_id: str) -> tuple[str, ...]:
    return tuple(part for part in resource_id.lower().split("/") if part)


def _guid(role_definition_id: str) -> str:
    return role_definition_id.rstrip("/").rsplit("/", 1)[-1].lower()


def _secret_name(scope: str) -> str:
    """The secret's name from a name, an ARM id (…/secrets/x) or a secret URL (…/secrets/x/v)."""
    parts = [part for part in scope.lower().split("/") if part]
    if "secrets" in parts[:-1]:
        return parts[parts.index("secrets") + 1]
    return scope.lower()
