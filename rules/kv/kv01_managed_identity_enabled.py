"""MTLS-KV-01: every Key Vault reference has the managed identity it asks for."""

from __future__ import annotations

from collections.abc import Iterator

from mtls_audit import api
from mtls_audit.api.keyvault import IdentityStatus, reference_identities

from .. import _guide

_RESULTS = {
    IdentityStatus.RESOLVED: api.passed,
    IdentityStatus.MISSING: api.failed,
    IdentityStatus.UNKNOWN: api.indeterminate,
}


@api.rule(id="MTLS-KV-01", severity=api.Severity.HIGH, guide=_guide.KEY_VAULT)
def managed_identity_enabled(svc: api.ServiceModel, ctx: api.Context) -> Iterator[api.Result]:
    """APIM has the managed identity its Key Vault references use.

    What it checks:
        Every Key Vault reference — hostname ``keyVaultId``, certificate and named value
        ``keyVault.secretIdentifier`` — has an identity to be read with: its
        ``identityClientId`` is the ``clientId`` of one of the service's user-assigned
        identities, or, without ``identityClientId``, the service has a system-assigned
        identity. One result per reference.

    Why it matters:
        APIM reads Key Vault only through a managed identity. A reference without one can be
        neither created nor refreshed: the certificate or secret never reaches the gateway, or
        stops being renewed there.

    Example of a failing configuration:
        ``"identity": {"type": "None"}`` on the service, with a hostname whose ``keyVaultId``
        names a vault secret; or ``"identityClientId": "0000…"`` that matches no
        ``userAssignedIdentities`` entry.

    What passes:
        ``"identity": {"type": "SystemAssigned"}`` with references that name no
        ``identityClientId``, or a ``identityClientId`` equal to a user-assigned identity's
        ``clientId``.

    How to fix:
        portal: API Management > Security > Managed identities: turn on the system-assigned
            identity, or add the user-assigned identity the reference names.
        cli: az apim update -n APIM -g RG --set identity.type=SystemAssigned
        arm: identity: {type: 'SystemAssigned'} (or 'SystemAssigned, UserAssigned' with
            userAssignedIdentities); keyVault.identityClientId: the user identity's clientId, or
            absent for the system identity
        terraform: azurerm_api_management: identity { type = "SystemAssigned" }

    References:
        https://learn.microsoft.com/azure/api-management/api-management-howto-use-managed-service-identity
    """
    found = reference_identities(svc)
    if not found:
        yield api.not_applicable(
            svc.id, f"{svc.service.name} has no Key Vault references.", name=svc.service.name
        )
    for identity in found:
        ref = identity.ref
        yield _RESULTS[identity.status](
            ref.view.resource_id,
            f"The {ref.label} {identity.reason}.",
            *identity.evidence,
            key=ref.label,
            name=ref.label,
        )
