"""MTLS-KV-08: secret named values live in Key Vault."""

from __future__ import annotations

from collections.abc import Iterator

from mtls_audit import api


@api.rule(
    id="MTLS-KV-08",
    severity=api.Severity.MEDIUM,
    subject=api.subjects.NamedValue.where(
        lambda nv: nv.secret, absent="{name} has no secret named values."
    ),
)
def secret_named_values_in_key_vault(nv: api.NamedValue, ctx: api.Context) -> Iterator[api.Result]:
    """Secret named values are Key Vault references.

    What it checks:
        Every named value marked ``secret`` is a Key Vault reference
        (``keyVault.secretIdentifier``). Plain named values are not judged. (Azure Policy
        f1cc7827 checks the same.)

    Why it matters:
        A secret kept in APIM is rotated by hand and is readable by anyone with APIM
        management rights; Key Vault gives rotation, access control and an audit trail.

    Example of a failing configuration:
        ``{"displayName": "ehr-api-key", "secret": true}`` with no ``keyVault`` block.

    What passes:
        ``{"secret": true, "keyVault": {"secretIdentifier": "https://kv…/secrets/ehr-api-key"}}``

    How to fix:
        portal: Named values > value > Type: Key vault.
        cli: az apim nv create … --secret true with a keyVault secretIdentifier (az rest)
        arm: namedValues: properties.keyVault.secretIdentifier:
            'https://kv.vault.azure.net/secrets/name'
        terraform: azurerm_api_management_named_value: value_from_key_vault { secret_id = … }

    References:
        https://learn.microsoft.com/azure/api-management/api-management-howto-properties
    """
    ref = nv.key_vault
    if ref is not None and (ref.secret_identifier or ref.unresolved):
        how = f" (it {ref.unknown_secret})" if ref.unresolved else ""
        yield api.passed(
            nv.id,
            f"Secret named value {nv.display_name} is a Key Vault reference{how}.",
            ref.cite(),
            name=nv.display_name,
        )
    else:
        yield api.failed(
            nv.id,
            f"Secret named value {nv.display_name} is stored in APIM, "
            "not referenced from Key Vault.",
            nv.props.cite("keyVault"),
            name=nv.display_name,
        )
