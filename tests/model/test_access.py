"""Key Vault access of an identity: RBAC scopes and roles, access policies, and what is unknown."""

from __future__ import annotations

import pytest

from mtls_audit.model.access import (
    AccessPolicyEntry,
    AccessVerdict,
    GrantKind,
    PermissionModel,
    RoleAssignment,
    RoleDefinition,
    ScopeKind,
    VaultAccessModel,
    resolve_access,
)

SUB = "/subscriptions/11111111-2222-3333-4444-555555555555"
RG = f"{SUB}/resourceGroups/rg-sec"
KV1 = f"{RG}/providers/Microsoft.KeyVault/vaults/kv1"
KV10 = f"{RG}/providers/Microsoft.KeyVault/vaults/kv10"
APIM = "6f1c1e0e-1a2b-4c3d-8e9f-0a1b2c3d4e5f"
OTHER = "99999999-0000-0000-0000-000000000000"
MG = "/providers/Microsoft.Management/managementGroups/corp"

ADMIN = "00482a5a-887f-4fb3-b363-3b7fe8e74483"
CERTIFICATES_OFFICER = "a4417e6f-fecd-4de8-b567-7b0420556985"
CERTIFICATE_USER = "db79e9a7-68ee-4b58-9aeb-b90e7c24fcba"
SECRETS_USER = "4633458b-17de-408a-b874-0445c86b69e6"
SECRETS_OFFICER = "b86a8fe4-44ce-4948-aee5-eccb2c155cd7"
READER = "21090545-7ca7-4776-b22c-e363652d74d2"
KV_CONTRIBUTOR = "f25e0fa2-a7c8-4377-a976-54943a77a395"
OWNER = "8e3af657-a8ff-443c-a75c-2fe8c4bcb635"
CONTRIBUTOR = "b24988ac-6180-42a0-ab88-20f7382dd24c"
CUSTOM = "0d15ea5e-0000-4000-8000-000000000001"

RBAC_VAULT = VaultAccessModel(KV1, rbac=True, access_policies=())


def role(guid: str) -> str:
    return f"{SUB}/providers/Microsoft.Authorization/roleDefinitions/{guid}"


def assign(guid: str, scope: str = KV1, principal: str = APIM, n: int = 1) -> RoleAssignment:
    return RoleAssignment(
        id=f"{scope}/providers/Microsoft.Authorization/roleAssignments/ra-{n}",
        scope=scope,
        role_definition_id=role(guid),
        principal_id=principal,
    )


def custom(
    data_actions: tuple[str, ...],
    not_data_actions: tuple[str, ...] = (),
    actions: tuple[str, ...] = (),
) -> dict[str, RoleDefinition]:
    definition = RoleDefinition(
        id=role(CUSTOM),
        name="APIM secret reader",
        role_type="CustomRole",
        actions=actions,
        not_actions=(),
        data_actions=data_actions,
        not_data_actions=not_data_actions,
    )
    return {definition.id: definition}


def rbac(
    *assignments: RoleAssignment,
    secret_scopes: tuple[str, ...] = (),
    management_groups: tuple[str, ...] | None = None,
) -> AccessVerdict:
    return resolve_access(
        APIM,
        RBAC_VAULT,
        assignments,
        {},
        secret_scopes=secret_scopes,
        management_groups=management_groups,
    )


# --- RBAC vaults: scopes -------------------------------------------------------------------------


def test_certificate_user_at_the_vault_can_read() -> None:
    verdict = rbac(assign(CERTIFICATE_USER))
    assert (verdict.can_read_secrets, verdict.over_privileged) == (True, False)
    (grant,) = verdict.grants
    assert (grant.kind, grant.model, grant.scope_kind) == (
        GrantKind.ROLE_ASSIGNMENT,
        PermissionModel.RBAC,
        ScopeKind.VAULT,
    )
    assert (grant.role, grant.sufficient, grant.over_privileged) == (
        "Key Vault Certificate User",
        True,
        False,
    )
    assert verdict.unknowns == ()
    assert "Key Vault Certificate User at the vault" in verdict.reasons[0]


@pytest.mark.parametrize("scope", [SUB, RG, SUB.upper(), RG.lower() + "/", "/"])
def test_secrets_user_inherited_from_an_ancestor_scope(scope: str) -> None:
    verdict = rbac(assign(SECRETS_USER, scope=scope))
    assert verdict.can_read_secrets is True
    assert verdict.grants[0].scope_kind is ScopeKind.ANCESTOR


@pytest.mark.parametrize(
    "scope",
    [
        KV10,
        f"{SUB}/resourceGroups/rg-sec2",
        f"{SUB}/resourceGroups/rg",
        "/subscriptions/11111111-2222-3333-4444-55555555555",
        f"{KV1}/keys/k1",
    ],
)
def test_scopes_that_share_a_prefix_but_not_a_path_do_not_apply(scope: str) -> None:
    verdict = rbac(assign(SECRETS_USER, scope=scope))
    assert verdict.can_read_secrets is False
    assert verdict.grants == ()
    assert verdict.reasons == ("No role assignment gives the identity getSecret on the vault.",)


def test_kv1_grant_does_not_reach_kv10() -> None:
    kv10 = VaultAccessModel(KV10, rbac=True, access_policies=())
    assert resolve_access(APIM, kv10, [assign(SECRETS_USER)], {}).can_read_secrets is False
    assert resolve_access(APIM, kv10, [assign(SECRETS_USER, KV10)], {}).can_read_secrets is True


def test_principal_and_scope_are_compared_case_insensitively() -> None:
    assignment = assign(SECRETS_USER, scope=KV1.upper(), principal=APIM.upper())
    verdict = resolve_access(APIM.lower(), RBAC_VAULT, [assignment], {})
    assert verdict.can_read_secrets is True


def test_another_principals_role_does_not_count() -> None:
    verdict = rbac(assign(SECRETS_USER, principal=OTHER))
    assert (verdict.can_read_secrets, verdict.over_privileged, verdict.grants) == (False, False, ())


def test_role_definition_id_is_matched_by_its_trailing_guid() -> None:
    assignment = RoleAssignment(
        "ra", KV1, f"/providers/x/roleDefinitions/{SECRETS_USER.upper()}", APIM
    )
    assert rbac(assignment).can_read_secrets is True


# --- RBAC vaults: roles --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("guid", "reads", "over"),
    [
        (READER, False, False),
        (CERTIFICATES_OFFICER, False, False),
        (ADMIN, True, True),
        (SECRETS_OFFICER, True, True),
        (KV_CONTRIBUTOR, False, False),
        (OWNER, False, True),
        (CONTRIBUTOR, False, True),
    ],
)
def test_built_in_roles_on_an_rbac_vault(guid: str, reads: bool, over: bool) -> None:
    verdict = rbac(assign(guid))
    assert (verdict.can_read_secrets, verdict.over_privileged) == (reads, over)
    assert verdict.unknowns == ()


def test_certificates_officer_reason_names_the_missing_get_secret() -> None:
    verdict = rbac(assign(CERTIFICATES_OFFICER))
    assert verdict.reasons[0].startswith("Key Vault Certificates Officer at the vault")
    assert "has no getSecret" in verdict.reasons[0]


def test_administrator_is_sufficient_and_over_privileged() -> None:
    verdict = rbac(assign(ADMIN, scope=SUB))
    assert (verdict.can_read_secrets, verdict.over_privileged) == (True, True)
    assert verdict.reasons[0].endswith("over-privileged.")


def test_a_reader_role_next_to_a_sufficient_one_still_reads() -> None:
    verdict = rbac(assign(READER, n=1), assign(SECRETS_USER, scope=RG, n=2))
    assert verdict.can_read_secrets is True
    assert [g.sufficient for g in verdict.grants] == [False, True]


@pytest.mark.parametrize(
    "data_actions",
    [
        ("Microsoft.KeyVault/vaults/secrets/getSecret/action",),
        ("microsoft.keyvault/vaults/secrets/getsecret/action",),
        ("Microsoft.KeyVault/vaults/secrets/*",),
        ("Microsoft.KeyVault/*",),
        ("*",),
    ],
)
def test_custom_role_with_get_secret(data_actions: tuple[str, ...]) -> None:
    verdict = resolve_access(APIM, RBAC_VAULT, [assign(CUSTOM)], custom(data_actions))
    assert verdict.can_read_secrets is True
    assert verdict.grants[0].role == "APIM secret reader"


def test_custom_role_exact_get_secret_is_not_over_privileged() -> None:
    only_get = custom(("Microsoft.KeyVault/vaults/secrets/getSecret/action",))
    assert resolve_access(APIM, RBAC_VAULT, [assign(CUSTOM)], only_get).over_privileged is False
    wildcard = custom(("Microsoft.KeyVault/vaults/secrets/*",))
    verdict = resolve_access(APIM, RBAC_VAULT, [assign(CUSTOM)], wildcard)
    assert verdict.over_privileged is True
    assert "write or delete vault items" in verdict.reasons[0]


def test_custom_role_whose_not_data_actions_remove_get_secret() -> None:
    definitions = custom(
        ("Microsoft.KeyVault/vaults/secrets/*",),
        not_data_actions=("Microsoft.KeyVault/vaults/secrets/getSecret/action",),
    )
    verdict = resolve_access(APIM, RBAC_VAULT, [assign(CUSTOM)], definitions)
    assert verdict.can_read_secrets is False
    assert "do not include getSecret" in verdict.reasons[0]


def test_custom_role_without_get_secret() -> None:
    definitions = custom(("Microsoft.KeyVault/vaults/secrets/readMetadata/action",))
    verdict = resolve_access(APIM, RBAC_VAULT, [assign(CUSTOM)], definitions)
    assert (verdict.can_read_secrets, verdict.over_privileged) == (False, False)


def test_definitions_may_be_keyed_by_guid() -> None:
    (definition,) = custom(("*",)).values()
    verdict = resolve_access(APIM, RBAC_VAULT, [assign(CUSTOM)], {CUSTOM: definition})
    assert verdict.can_read_secrets is True


def test_custom_role_without_a_definition_is_unknown() -> None:
    verdict = rbac(assign(CUSTOM))
    assert (verdict.can_read_secrets, verdict.over_privileged) == (None, None)
    assert verdict.grants[0].sufficient is None
    assert verdict.unknowns == (
        f"Role definition {CUSTOM} (assignment {assign(CUSTOM).id}) is not known, so what it "
        "grants cannot be judged.",
    )


def test_unknown_role_does_not_hide_a_known_sufficient_one() -> None:
    verdict = rbac(assign(CUSTOM, n=1), assign(SECRETS_USER, n=2))
    assert verdict.can_read_secrets is True
    assert verdict.over_privileged is None


def test_custom_role_that_can_assign_roles_is_over_privileged() -> None:
    definitions = custom((), actions=("Microsoft.Authorization/*",))
    verdict = resolve_access(APIM, RBAC_VAULT, [assign(CUSTOM)], definitions)
    assert (verdict.can_read_secrets, verdict.over_privileged) == (False, True)


# --- RBAC vaults: secret scopes and management groups --------------------------------------------


def test_secret_scoped_role_counts_for_that_secret_only() -> None:
    at_secret = assign(SECRETS_USER, scope=f"{KV1}/secrets/gateway-cert")
    verdict = rbac(at_secret, secret_scopes=("gateway-cert",))
    assert verdict.can_read_secrets is True
    assert (verdict.grants[0].scope_kind, verdict.grants[0].secret) == (
        ScopeKind.SECRET,
        "gateway-cert",
    )
    both = rbac(
        at_secret, secret_scopes=("https://kv1.vault.azure.net/secrets/Gateway-Cert/abc", "nv")
    )
    assert both.can_read_secrets is False
    assert both.reasons[-1] == (
        "No role assignment gives the identity getSecret on the vault or on the secrets nv."
    )
    assert rbac(at_secret).can_read_secrets is False


def test_management_group_assignment_with_unknown_containment_is_stated() -> None:
    verdict = rbac(assign(SECRETS_USER, scope=MG))
    assert verdict.can_read_secrets is None
    assert verdict.over_privileged is None
    assert verdict.grants == ()
    assert len(verdict.unknowns) == 1
    assert "management group 'corp'" in verdict.unknowns[0]
    assert "not counted" in verdict.unknowns[0]


def test_management_group_assignment_with_known_containment() -> None:
    assignment = assign(SECRETS_USER, scope=MG)
    verdict = rbac(assignment, management_groups=("Corp", "root"))
    assert verdict.can_read_secrets is True
    assert verdict.grants[0].scope_kind is ScopeKind.MANAGEMENT_GROUP
    elsewhere = rbac(assignment, management_groups=("finance",))
    assert (elsewhere.can_read_secrets, elsewhere.unknowns) == (False, ())


def test_assignments_not_collected_is_unknown_never_true() -> None:
    verdict = resolve_access(APIM, RBAC_VAULT, None, {})
    assert (verdict.can_read_secrets, verdict.over_privileged) == (None, None)
    assert verdict.unknowns == ("Role assignments were not collected.",)


def test_access_policy_on_an_rbac_vault_is_ignored() -> None:
    vault = VaultAccessModel(
        KV1, rbac=True, access_policies=(AccessPolicyEntry(APIM, ("get",), ()),)
    )
    verdict = resolve_access(APIM, vault, [], {})
    assert verdict.can_read_secrets is False
    assert "an RBAC vault ignores it" in verdict.reasons[0]


def test_blank_principal_is_unknown() -> None:
    verdict = resolve_access(" ", RBAC_VAULT, [assign(SECRETS_USER, principal=" ")], {})
    assert (verdict.can_read_secrets, verdict.unknowns) == (
        None,
        ("The identity's principal id is unknown.",),
    )


# --- access-policy vaults ------------------------------------------------------------------------


def policy_vault(*entries: AccessPolicyEntry) -> VaultAccessModel:
    return VaultAccessModel(KV1, rbac=False, access_policies=entries)


@pytest.mark.parametrize("secrets", [("Get", "List"), ("get",), ("All",)])
def test_access_policy_with_secrets_get(secrets: tuple[str, ...]) -> None:
    vault = policy_vault(AccessPolicyEntry(APIM.upper(), secrets, ("get",)))
    verdict = resolve_access(APIM, vault, [], {})
    assert verdict.can_read_secrets is True
    assert verdict.grants[0].kind is GrantKind.ACCESS_POLICY


def test_access_policy_without_secrets_get() -> None:
    vault = policy_vault(
        AccessPolicyEntry(APIM, ("list",), ("get", "list")),
        AccessPolicyEntry(OTHER, ("get",), ()),
    )
    verdict = resolve_access(APIM, vault, [], {})
    assert (verdict.can_read_secrets, verdict.over_privileged) == (False, False)
    assert verdict.reasons[-1] == "No access policy gives the identity secrets Get."


def test_access_policy_granting_more_than_needed_is_over_privileged() -> None:
    vault = policy_vault(AccessPolicyEntry(APIM, ("get", "list", "set", "delete"), ("all",)))
    verdict = resolve_access(APIM, vault, [], {})
    assert (verdict.can_read_secrets, verdict.over_privileged) == (True, True)
    assert "it also allows all, delete, set" in verdict.reasons[0]


@pytest.mark.parametrize("guid", [CONTRIBUTOR, OWNER, KV_CONTRIBUTOR])
def test_management_roles_on_an_access_policy_vault_are_over_privileged(guid: str) -> None:
    vault = policy_vault(AccessPolicyEntry(APIM, ("get",), ()))
    verdict = resolve_access(APIM, vault, [assign(guid, scope=RG)], {})
    assert (verdict.can_read_secrets, verdict.over_privileged) == (True, True)
    assert "change access policies" in verdict.reasons[0]


def test_contributor_alone_on_an_access_policy_vault_cannot_read_yet() -> None:
    verdict = resolve_access(APIM, policy_vault(), [assign(CONTRIBUTOR)], {})
    assert (verdict.can_read_secrets, verdict.over_privileged) == (False, True)


def test_data_roles_give_nothing_on_an_access_policy_vault() -> None:
    verdict = resolve_access(APIM, policy_vault(), [assign(SECRETS_USER), assign(ADMIN, n=2)], {})
    assert (verdict.can_read_secrets, verdict.over_privileged) == (False, False)
    assert all("gives no data access" in reason for reason in verdict.reasons[:2])


def test_access_policies_not_collected_is_unknown() -> None:
    vault = VaultAccessModel(KV1, rbac=False, access_policies=None)
    verdict = resolve_access(APIM, vault, [assign(SECRETS_USER)], {})
    assert verdict.can_read_secrets is None
    assert verdict.unknowns == ("The vault's access policies were not collected.",)


def test_access_policy_vault_without_role_assignments_still_answers_data_access() -> None:
    verdict = resolve_access(APIM, policy_vault(AccessPolicyEntry(APIM, ("get",), ())), None, {})
    assert (verdict.can_read_secrets, verdict.over_privileged) == (True, None)
    assert verdict.unknowns == ("Role assignments were not collected.",)


# --- unknown permission model --------------------------------------------------------------------


def test_unknown_model_answers_only_when_both_readings_agree() -> None:
    both = VaultAccessModel(
        KV1, rbac=None, access_policies=(AccessPolicyEntry(APIM, ("get",), ()),)
    )
    verdict = resolve_access(APIM, both, [assign(SECRETS_USER)], {})
    assert (verdict.can_read_secrets, verdict.over_privileged) == (True, False)
    assert {g.model for g in verdict.grants} == set(PermissionModel)
    assert verdict.reasons[0].startswith("If the vault uses RBAC: ")


def test_unknown_model_with_differing_readings_is_unknown() -> None:
    rbac_only = VaultAccessModel(KV1, rbac=None, access_policies=())
    verdict = resolve_access(APIM, rbac_only, [assign(SECRETS_USER)], {})
    assert verdict.can_read_secrets is None
    assert "permission model (enableRbacAuthorization) is not known" in verdict.unknowns[-1]


def test_no_data_at_all_is_never_true() -> None:
    nothing = VaultAccessModel(KV1, rbac=None, access_policies=None)
    verdict = resolve_access(APIM, nothing, None, {})
    assert (verdict.can_read_secrets, verdict.over_privileged) == (None, None)
    assert "Role assignments were not collected." in verdict.unknowns
    assert "The vault's access policies were not collected." in verdict.unknowns
