"""MTLS-KV-05: Key Vault references last refreshed successfully."""

from __future__ import annotations

from collections.abc import Iterator

from mtls_audit import api
from mtls_audit.api.keyvault import KeyVaultRef

from .. import _guide


@api.rule(
    id="MTLS-KV-05",
    severity=api.Severity.HIGH,
    guide=_guide.KEY_VAULT,
    # Hostnames report their certificate health as certificateStatus (MTLS-GW-05).
    subject=api.subjects.VaultReference.where(
        lambda ref: ref.field == "secretIdentifier",
        absent="{name} has no Key Vault-backed certificates or named values.",
    ),
)
def key_vault_refresh_healthy(ref: KeyVaultRef, ctx: api.Context) -> Iterator[api.Result]:
    """Key Vault-backed certificates and named values refresh successfully.

    What it checks:
        Every Key Vault-backed certificate entity and named value has
        ``keyVault.lastStatus.code`` equal to ``Success``. A missing status is indeterminate.

    Why it matters:
        A failed refresh means APIM keeps serving an old secret: renewals stop reaching the
        gateway and the certificate in use eventually expires.

    Example of a failing configuration:
        ``"lastStatus": {"code": "Forbidden", "message": "…access denied…"}``

    What passes:
        ``"lastStatus": {"code": "Success"}``

    How to fix:
        portal: Certificates / Named values > entry > Refresh secret, after fixing the identity's
            access to the vault.
        cli: az rest --method post …/certificates/NAME/refreshSecret?api-version=2024-05-01
        arm: Grant the identity Key Vault Certificate User (or Secrets User) on the vault.
        terraform: azurerm_role_assignment { role_definition_name = "Key Vault Certificate User"
            principal_id = azurerm_api_management.x.identity[0].principal_id }

    References:
        https://learn.microsoft.com/azure/api-management/api-management-howto-properties
    """
    subject = ref.view.resource_id
    status = ref.last_status
    cite = status.cite("code") if status else ref.view.cite("lastStatus")
    code = status.text("code") if status else None
    label = ref.label
    if code is None:
        yield api.indeterminate(
            subject,
            f"The {label} has no refresh status in the snapshot.",
            cite,
            name=label,
        )
    elif code.lower() == "success":
        yield api.passed(subject, f"The {label} last refreshed successfully.", cite, name=label)
    else:
        detail = status.text("message") if status else None
        yield api.failed(
            subject,
            f"The {label} failed to refresh from Key Vault ({code}"
            + (f": {detail}" if detail else "")
            + ").",
            cite,
            name=label,
        )
