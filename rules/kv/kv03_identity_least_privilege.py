"""MTLS-KV-03: the identity APIM reads a vault with holds no broader role than it needs."""

from __future__ import annotations

from collections.abc import Iterator

from mtls_audit import api
from mtls_audit.api.keyvault import IdentityStatus, VaultUse

from .. import _guide
from ._access import capital, each_use, judge_access, used_for


@api.rule(id="MTLS-KV-03", severity=api.Severity.MEDIUM, guide=_guide.KEY_VAULT)
def identity_least_privilege(svc: api.ServiceModel, ctx: api.Context) -> Iterator[api.Result]:
    """APIM's identity holds no broader Key Vault role than it needs.

    What it checks:
        The identity each service reads a vault with holds nothing broader than read access on
        that vault: no Key Vault Administrator, Secrets Officer, Owner, Contributor or User
        Access Administrator, no Key Vault Contributor on an access-policy vault (it can grant
        itself access), no custom role that writes or deletes vault items or assigns roles,
        and no access policy beyond get/list. One result per (vault, identity) of each
        service; not applicable where the reference names an identity the service lacks
        (MTLS-KV-01).

    Why it matters:
        The gateway identity is exposed to everything that runs in APIM policies. With write
        or role-assignment rights, a compromise of APIM becomes a compromise of the vault:
        certificates replaced, secrets deleted, access granted to others.

    Example of a failing configuration:
        Key Vault Administrator assigned to APIM's principal at the vault or its resource
        group.

    What passes:
        Key Vault Certificate User or Secrets User only; on an access-policy vault, secrets and
        certificates get/list only.

    How to fix:
        portal: Key vault > Access control (IAM) > Role assignments: replace APIM's Administrator,
            Secrets Officer, Owner or Contributor assignment with Key Vault Certificate User (or
            Secrets User); on an access-policy vault, keep secrets Get, List only.
        cli: az role assignment delete --assignee PRINCIPAL --role 'Key Vault Administrator' --scope
            VAULT_ID; az role assignment create --role 'Key Vault Certificate User' …
        arm: roleDefinitionId …/roleDefinitions/db79e9a7-68ee-4b58-9aeb-b90e7c24fcba (Key Vault
            Certificate User) instead of 00482a5a-… (Key Vault Administrator)
        terraform: azurerm_role_assignment { role_definition_name = "Key Vault Certificate User" … }

    References:
        https://learn.microsoft.com/azure/key-vault/general/rbac-guide
        https://learn.microsoft.com/azure/key-vault/general/security-features
    """
    return each_use(ctx, svc, _judge)


def _judge(ctx: api.Context, svc: api.ServiceModel, use: VaultUse) -> api.Result:
    vault = use.shown_vault
    where = f"(used by the {used_for(use)})"
    who = use.identity.description
    if use.identity.status is IdentityStatus.MISSING:
        return api.not_applicable(
            svc.id,
            f"The {use.refs[0].label} {use.identity.reason}: no identity holds rights on {vault} "
            "for it (see MTLS-KV-01).",
            *use.identity.evidence,
            key=use.key,
            name=use.label,
        )
    access = judge_access(ctx, svc, use)
    verdict = access.verdict
    if verdict is None or verdict.over_privileged is None:
        why = access.unjudged or " ".join(verdict.unknowns if verdict else ())
        message = f"Whether {who} holds more than it needs on {vault} {where} cannot be told: {why}"
        return api.indeterminate(svc.id, message, *access.evidence, key=use.key, name=use.label)
    if verdict.over_privileged:
        broad = " ".join(g.note for g in verdict.grants if g.over_privileged)
        message = f"{capital(who)} holds more than it needs on {vault} {where}: {broad}"
        return api.failed(svc.id, message, *access.evidence, key=use.key, name=use.label)
    held = " ".join(g.note for g in verdict.grants) or "It holds no role or access policy there."
    message = f"{capital(who)} holds nothing broader than it needs on {vault} {where}: {held}"
    return api.passed(svc.id, message, *access.evidence, key=use.key, name=use.label)
