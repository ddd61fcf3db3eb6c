"""The identity of each Key Vault reference, and the adapter to the access resolution."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pytest

from mtls_audit.model import Model, build_model
from mtls_audit.model.access import GrantKind
from mtls_audit.model.identity import (
    IdentityStatus,
    access_evidence,
    find_vault,
    reference_identities,
    role_definition_input,
    vault_access,
    vault_access_model,
    vault_uses,
)
from tests.rules.builder import (
    RG,
    SERVICE_ID,
    child,
    role_assignment,
    role_definition_id,
    snapshot,
    vault,
)

SYSTEM = "11111111-1111-1111-1111-111111111111"
USER = "22222222-2222-2222-2222-222222222222"
CLIENT = "aaaaaaaa-0000-0000-0000-000000000001"
UAMI = f"{RG}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/apim-kv"
KV = "https://kv-test.vault.azure.net"
CERTIFICATE_USER = "db79e9a7-68ee-4b58-9aeb-b90e7c24fcba"
READER = "21090545-7ca7-4776-b22c-e363652d74d2"
BOTH = {
    "type": "SystemAssigned, UserAssigned",
    "principalId": SYSTEM,
    "userAssignedIdentities": {UAMI: {"principalId": USER, "clientId": CLIENT}},
}


def named_value(name: str, secret_url: str, client_id: str | None = None) -> dict[str, Any]:
    key_vault: dict[str, Any] = {"secretIdentifier": secret_url}
    if client_id is not None:
        key_vault["identityClientId"] = client_id
    return child(
        f"namedValues/{name}", {"displayName": name, "secret": True, "keyVault": key_vault}
    )


def model_of(
    resources: Sequence[Mapping[str, Any]],
    *,
    identity: Mapping[str, Any] | None = None,
    gaps: Sequence[Mapping[str, Any]] = (),
) -> Model:
    service = {"identity": identity} if identity is not None else None
    return build_model(snapshot(service, resources, gaps=gaps))


def statuses(model: Model) -> list[tuple[IdentityStatus, str | None]]:
    return [(f.status, f.principal_id) for f in reference_identities(model.services[0])]


def test_no_client_id_means_the_system_identity() -> None:
    model = model_of([named_value("a", f"{KV}/secrets/a")])
    [found] = reference_identities(model.services[0])
    assert (found.status, found.system_assigned, found.principal_id) == (
        IdentityStatus.RESOLVED,
        True,
        SYSTEM,
    )
    assert found.description == "the system-assigned identity"


def test_client_id_matches_a_user_identity_case_insensitively() -> None:
    model = model_of([named_value("a", f"{KV}/secrets/a", CLIENT.upper())], identity=BOTH)
    [found] = reference_identities(model.services[0])
    assert (found.status, found.principal_id, found.resource_id) == (
        IdentityStatus.RESOLVED,
        USER,
        UAMI,
    )
    assert "apim-kv" in found.description


def test_a_client_id_the_service_lacks_is_missing() -> None:
    model = model_of([named_value("a", f"{KV}/secrets/a", "bbbb")], identity=BOTH)
    [found] = reference_identities(model.services[0])
    assert found.status is IdentityStatus.MISSING
    assert CLIENT in found.reason


def test_the_system_identity_the_service_lacks_is_missing() -> None:
    user_only = {**BOTH, "type": "UserAssigned", "principalId": None}
    model = model_of([named_value("a", f"{KV}/secrets/a")], identity=user_only)
    assert statuses(model) == [(IdentityStatus.MISSING, None)]


@pytest.mark.parametrize(
    ("identity", "client_id"),
    [
        ({"type": "[parameters('identityType')]"}, None),
        (BOTH, "[reference('apim-kv').clientId]"),
        ({"type": "UserAssigned", "userAssignedIdentities": {UAMI: {}}}, CLIENT),
    ],
    ids=["identity-type-expression", "client-id-expression", "client-ids-not-known"],
)
def test_what_the_snapshot_cannot_tell_is_unknown(
    identity: Mapping[str, Any], client_id: str | None
) -> None:
    model = model_of([named_value("a", f"{KV}/secrets/a", client_id)], identity=identity)
    assert statuses(model) == [(IdentityStatus.UNKNOWN, None)]


def test_uses_group_references_by_vault_and_identity() -> None:
    model = model_of(
        [
            named_value("a", f"{KV}/secrets/a"),
            named_value("b", f"{KV}/secrets/b/0f1e2d3c4b5a69788796a5b4c3d2e1f0"),
            named_value("c", f"{KV}/secrets/c", CLIENT),
            named_value("d", "https://other.vault.azure.net/secrets/d"),
        ],
        identity=BOTH,
    )
    uses = vault_uses(model.services[0])
    assert [(u.vault_url, u.secrets) for u in uses] == [
        (KV, ("a", "b")),
        (KV, ("c",)),
        ("https://other.vault.azure.net", ("d",)),
    ]
    assert uses[0].key == f"{KV} system"
    assert uses[1].key == f"{KV} user:{CLIENT}"


def test_find_vault_by_uri_and_by_name_when_the_uri_is_absent() -> None:
    model = model_of([vault("kv-test"), vault("kv-named", {"vaultUri": None})])
    assert find_vault(model, KV + "/") is model.vaults[0]
    assert find_vault(model, "https://KV-NAMED.vault.azure.net") is model.vaults[1]
    assert find_vault(model, "https://kv-other.vault.azure.net") is None
    renamed = model_of([vault("kv-test", {"vaultUri": "https://elsewhere.vault.azure.net/"})])
    assert find_vault(renamed, KV) is None


def test_vault_adapter_reads_rbac_and_access_policies() -> None:
    policies = [
        {"objectId": SYSTEM, "permissions": {"secrets": ["Get"], "certificates": ["List"]}},
        {"objectId": USER, "applicationId": "app", "permissions": {"secrets": ["Get"]}},
        {"objectId": "no-permissions"},
    ]
    model = model_of(
        [
            vault("kv-test", {"accessPolicies": policies}),
            vault("kv-rbac", {"enableRbacAuthorization": True}),
        ]
    )
    adapted = vault_access_model(model.vaults[0])
    assert adapted.rbac is False
    assert adapted.access_policies is not None
    assert [(e.object_id, e.secrets, e.certificates) for e in adapted.access_policies] == [
        (SYSTEM, ("Get",), ("List",)),
        ("no-permissions", (), ()),
    ]
    rbac = vault_access_model(model.vaults[1])
    assert (rbac.rbac, rbac.access_policies) == (True, None)


def test_role_definition_adapter_joins_permission_blocks() -> None:
    definition = {
        "id": role_definition_id("0d15ea5e-0000-4000-8000-000000000001"),
        "type": "Microsoft.Authorization/roleDefinitions",
        "properties": {
            "roleName": "Reader of secrets",
            "type": "CustomRole",
            "permissions": [
                {"actions": ["Microsoft.KeyVault/vaults/read"], "dataActions": ["a"]},
                {"dataActions": ["b", 3], "notDataActions": ["c"]},
            ],
        },
    }
    model = model_of([definition])
    adapted = role_definition_input(model.role_definitions[0])
    assert (adapted.name, adapted.role_type) == ("Reader of secrets", "CustomRole")
    assert adapted.actions == ("Microsoft.KeyVault/vaults/read",)
    assert adapted.data_actions == ("a", "b")
    assert adapted.not_data_actions == ("c",)


def rbac_model(*extra: Mapping[str, Any], gaps: Sequence[Mapping[str, Any]] = ()) -> Model:
    return model_of(
        [vault("kv-test", {"enableRbacAuthorization": True}), *extra],
        gaps=gaps,
    )


def test_access_is_judged_from_role_assignments() -> None:
    model = rbac_model(role_assignment("ra1", role=CERTIFICATE_USER))
    verdict = vault_access(model, SYSTEM, KV, service_id=SERVICE_ID)
    assert (verdict.can_read_secrets, verdict.over_privileged) == (True, False)
    assert vault_access(model, USER, KV).can_read_secrets is False


def test_access_is_unknown_without_the_vault_or_role_data() -> None:
    no_vault = model_of([role_assignment("ra1", role=CERTIFICATE_USER)])
    missing = vault_access(no_vault, SYSTEM, KV)
    assert missing.can_read_secrets is None
    assert "No Microsoft.KeyVault/vaults resource" in missing.unknowns[0]
    assert vault_access(rbac_model(), SYSTEM, KV).can_read_secrets is None


@pytest.mark.parametrize(
    ("subject", "known"),
    [
        (f"{RG}/providers/Microsoft.KeyVault/vaults/kv-test", False),
        (RG, False),
        (SERVICE_ID, False),
        ("infra/vault.json", False),
        (f"{KV}/", False),
        ("https://other.vault.azure.net", True),
        (f"{RG}/providers/Microsoft.KeyVault/vaults/kv-other", True),
    ],
)
def test_role_assignment_gaps_about_the_vault_or_service_make_access_unknown(
    subject: str, known: bool
) -> None:
    gap = {"kind": "forbidden", "subject": subject, "what": "role-assignments", "message": "x"}
    model = rbac_model(role_assignment("ra1", role=READER), gaps=[gap])
    verdict = vault_access(model, SYSTEM, KV, service_id=SERVICE_ID)
    assert verdict.can_read_secrets is (False if known else None)


def test_secret_scoped_assignments_count_for_their_secrets_only() -> None:
    model = rbac_model(
        role_assignment("ra1", role=CERTIFICATE_USER, scope="vault:kv-test/secrets/a")
    )
    assert vault_access(model, SYSTEM, KV, secrets=["a"]).can_read_secrets is True
    assert vault_access(model, SYSTEM, KV, secrets=["a", "b"]).can_read_secrets is False


def test_access_evidence_cites_the_vault_and_each_grant() -> None:
    model = rbac_model(role_assignment("ra1", role=CERTIFICATE_USER))
    verdict = vault_access(model, SYSTEM, KV)
    assert [g.kind for g in verdict.grants] == [GrantKind.ROLE_ASSIGNMENT]
    cites = access_evidence(model, KV, verdict)
    assert [(c.pointer, c.observed) for c in cites] == [
        ("/properties/enableRbacAuthorization", True),
        ("/properties/roleDefinitionId", role_definition_id(CERTIFICATE_USER)),
    ]
    policy_vault = model_of(
        [vault("kv-test", {"accessPolicies": [{"objectId": SYSTEM, "permissions": {}}]})]
    )
    policy_verdict = vault_access(policy_vault, SYSTEM, KV)
    assert [c.pointer for c in access_evidence(policy_vault, KV, policy_verdict)] == [
        "/properties/enableRbacAuthorization",
        "/properties/accessPolicies/0/permissions",
    ]
