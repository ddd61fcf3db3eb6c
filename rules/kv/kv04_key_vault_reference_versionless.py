"""MTLS-KV-04: Key Vault references carry no version."""

from __future__ import annotations

from collections.abc import Iterator

from mtls_audit import api
from mtls_audit.api.keyvault import secret_version_of

from .. import _guide
from .._common import vault_unknown


@api.rule(
    id="MTLS-KV-04",
    severity=api.Severity.MEDIUM,
    guide=_guide.KEY_VAULT,
    needs=("certificates", "namedValues"),
)
def key_vault_reference_versionless(
    svc: api.ServiceModel, ctx: api.Context
) -> Iterator[api.Result]:
    """Key Vault references are versionless.

    What it checks:
        Every Key Vault reference — hostname ``keyVaultId``, certificate and named value
        ``keyVault.secretIdentifier`` — names the secret without a version. A reference
        written as a template expression the offline source could not resolve is
        indeterminate.

    Why it matters:
        APIM refreshes versionless references from Key Vault within four hours; a versioned
        reference pins one version, so a renewed certificate never reaches the gateway and the
        old one expires in service.

    Example of a failing configuration:
        ``https://kv.vault.azure.net/secrets/backend-client/0f1e2d3c4b5a69788796a5b4c3d2e1f0``

    What passes:
        ``https://kv.vault.azure.net/secrets/backend-client``

    How to fix:
        portal: Choose the Key Vault secret without selecting a version.
        cli: az apim nv update / az rest: set secretIdentifier (or keyVaultId) to
            https://VAULT.vault.azure.net/secrets/NAME
        arm: keyVault.secretIdentifier: 'https://kv.vault.azure.net/secrets/name' (no /<version>)
        terraform: key_vault_secret_id = azurerm_key_vault_certificate.c.versionless_secret_id

    References:
        https://learn.microsoft.com/azure/api-management/api-management-howto-properties
    """
    refs = svc.key_vault_refs()
    if not refs:
        yield api.not_applicable(
            svc.id, f"{svc.service.name} has no Key Vault references.", name=svc.service.name
        )
    for ref in refs:
        subject = ref.view.resource_id
        url = ref.secret_identifier or ""
        version = secret_version_of(url)
        if ref.unresolved:
            yield vault_unknown(ref, "so whether it names a version cannot be told")
        elif version:
            yield api.failed(
                subject,
                f"The {ref.label} references Key Vault secret version "
                f"{version}: renewals will not reach APIM.",
                ref.cite(),
                key=ref.label,
                name=ref.label,
            )
        else:
            yield api.passed(
                subject,
                f"The {ref.label} references Key Vault without a version.",
                ref.cite(),
                key=ref.label,
                name=ref.label,
            )
