"""MTLS-KV-02: the identity APIM reads a vault with can read its secrets."""

from __future__ import annotations

from collections.abc import Iterator

from mtls_audit import api
from mtls_audit.api.keyvault import IdentityStatus, VaultUse

from .. import _guide
from ._access import capital, each_use, judge_access, used_for


@api.rule(id="MTLS-KV-02", severity=api.Severity.HIGH, guide=_guide.KEY_VAULT)
def identity_can_read_secrets(svc: api.ServiceModel, ctx: api.Context) -> Iterator[api.Result]:
    """APIM's identity can read the secrets it references.

    What it checks:
        For every vault a service references and every identity it reads that vault with, the
        identity can read secrets there. RBAC vaults: a role assignment to its principal at the
        vault, an ancestor scope, or each referenced secret, whose role grants
        ``Microsoft.KeyVault/vaults/secrets/getSecret/action`` (Key Vault Certificate User,
        Secrets User, Secrets Officer, Administrator, or a custom role with that data action).
        Access-policy vaults: an access policy for the principal with secrets Get. One result
        per (vault, identity) of each service. Missing role data is indeterminate.

    Why it matters:
        APIM fetches certificates and secrets from Key Vault as secrets. Without getSecret the
        first deployment fails and, later, refresh and rotation silently stop, until the
        certificate in service expires.

    Example of a failing configuration:
        APIM's identity holds only Key Vault Reader or Key Vault Certificates Officer on an RBAC
        vault (neither can read secret values), or an access policy with certificate
        permissions but no secrets Get.

    What passes:
        Key Vault Certificate User (or Secrets User) for APIM's principal at the vault or
        above it; on an access-policy vault, secrets Get and List.

    How to fix:
        portal: Key vault > Access control (IAM) > Add role assignment: Key Vault Certificate User
            (certificates) or Key Vault Secrets User (named values) for APIM's identity; on an
            access-policy vault, Access policies > Create: Secret permissions Get, List.
        cli: az role assignment create --role 'Key Vault Certificate User' --assignee-object-id
            PRINCIPAL --assignee-principal-type ServicePrincipal --scope VAULT_ID  (access policies:
            az keyvault set-policy -n VAULT --object-id PRINCIPAL --secret-permissions get list)
        arm: Microsoft.Authorization/roleAssignments at the vault: roleDefinitionId
            …/roleDefinitions/db79e9a7-68ee-4b58-9aeb-b90e7c24fcba, principalId: APIM's principal
        terraform: azurerm_role_assignment { scope = azurerm_key_vault.kv.id  role_definition_name =
            "Key Vault Certificate User"  principal_id =
            azurerm_api_management.apim.identity[0].principal_id }

    References:
        https://learn.microsoft.com/azure/api-management/api-management-howto-use-managed-service-identity
        https://learn.microsoft.com/azure/key-vault/general/rbac-guide
    """
    return each_use(ctx, svc, _judge)


def _judge(ctx: api.Context, svc: api.ServiceModel, use: VaultUse) -> api.Result:
    vault = use.shown_vault
    where = f"(used by the {used_for(use)})"
    if use.identity.status is IdentityStatus.MISSING:
        return api.failed(
            svc.id,
            f"Nothing can read {vault} {where}: the {use.refs[0].label} {use.identity.reason}.",
            *(ref.cite() for ref in use.refs),
            *use.identity.evidence,
            key=use.key,
            name=use.label,
        )
    access = judge_access(ctx, svc, use)
    verdict = access.verdict
    who = use.identity.description
    if verdict is None or verdict.can_read_secrets is None:
        why = access.unjudged or " ".join(verdict.unknowns if verdict else ())
        message = f"Whether {who} can read secrets in {vault} {where} cannot be told: {why}"
        return api.indeterminate(svc.id, message, *access.evidence, key=use.key, name=use.label)
    reasons = " ".join(verdict.reasons)
    if verdict.can_read_secrets:
        message = f"{capital(who)} can read secrets in {vault} {where}: {reasons}"
        return api.passed(svc.id, message, *access.evidence, key=use.key, name=use.label)
    message = f"{capital(who)} cannot read secrets in {vault} {where}: {reasons}"
    return api.failed(svc.id, message, *access.evidence, key=use.key, name=use.label)
