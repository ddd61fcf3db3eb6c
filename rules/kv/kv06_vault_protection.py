"""MTLS-KV-06: the vaults APIM reads are protected against deletion and reachable safely."""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import urlsplit

from mtls_audit import api
from mtls_audit.api.keyvault import (
    IdentityStatus,
    ReferenceIdentity,
    Vault,
    find_vault,
    reference_identities,
)

from .. import _guide
from .._common import vault_unknown


@api.rule(id="MTLS-KV-06", severity=api.Severity.MEDIUM, guide=_guide.KEY_VAULT)
def vault_protection(svc: api.ServiceModel, ctx: api.Context) -> Iterator[api.Result]:
    """Vaults holding APIM certificates are protected and reachable by APIM.

    What it checks:
        Every vault a service references (hostnames, certificates, named values) has soft
        delete on (on by default when absent) and purge protection on. When its firewall is
        on (``networkAcls.defaultAction`` Deny), trusted Microsoft services may bypass it
        (``networkAcls.bypass`` includes AzureServices) and every reference of the service to
        that vault uses the system-assigned identity. One result per (vault, service); a
        reference whose vault is not known (an unresolved template expression) is
        indeterminate.

    Why it matters:
        Without purge protection a deleted certificate is gone for good and the gateway's TLS
        or backend certificate cannot be recovered. Behind a firewall APIM reaches the vault
        only as a trusted service, and only with its system-assigned identity: with a
        user-assigned identity the refresh fails.

    Example of a failing configuration:
        ``"enablePurgeProtection": false``; or ``"networkAcls": {"defaultAction": "Deny",
        "bypass": "None"}``; or a firewall with a reference whose ``identityClientId`` names a
        user-assigned identity.

    What passes:
        Soft delete and purge protection on, and either no firewall or a firewall with
        ``bypass: AzureServices`` and references read with the system-assigned identity.

    How to fix:
        portal: Key vault > Properties: Purge protection on; Networking > Firewalls: allow trusted
            Microsoft services to bypass this firewall; reference the vault with APIM's
            system-assigned identity.
        cli: az keyvault update -n VAULT --enable-purge-protection true --bypass AzureServices
        arm: Microsoft.KeyVault/vaults: properties.enableSoftDelete: true, enablePurgeProtection:
            true, networkAcls.bypass: 'AzureServices'
        terraform: azurerm_key_vault: purge_protection_enabled = true  network_acls { bypass =
            "AzureServices" … }

    References:
        https://learn.microsoft.com/azure/key-vault/general/soft-delete-overview
        https://learn.microsoft.com/azure/api-management/api-management-howto-properties
    """
    by_vault: dict[str, list[ReferenceIdentity]] = {}
    unknown: list[ReferenceIdentity] = []
    for found in reference_identities(svc):
        if found.ref.vault_url:
            by_vault.setdefault(found.ref.vault_url, []).append(found)
        else:
            unknown.append(found)
    if not by_vault and not unknown:
        yield api.not_applicable(
            svc.id, f"{svc.service.name} has no Key Vault references.", name=svc.service.name
        )
    for found in unknown:
        yield vault_unknown(found.ref, "so the protection of its vault cannot be judged")
    for url, uses in by_vault.items():
        vault = find_vault(ctx.model, url)
        if vault is None:
            yield api.indeterminate(
                url,
                f"Vault {url} (used by {svc.service.name}) is not in the snapshot, so its "
                "protection cannot be judged.",
                *(u.ref.cite() for u in uses),
                key=svc.id.lower(),
                name=urlsplit(url).hostname,
            )
            continue
        yield _judge(vault, uses, svc.service.name, svc.id.lower())


def _judge(vault: Vault, uses: list[ReferenceIdentity], service: str, key: str) -> api.Result:
    props = vault.props
    problems: list[str] = []
    unknowns: list[str] = []
    evidence: list[api.Citation] = [
        props.cite("enableSoftDelete"),
        props.cite("enablePurgeProtection"),
    ]

    def setting(name: str, label: str, absent: bool) -> None:
        value = props.get(name)
        on = absent if value is None else props.flag(name)
        if on is None:
            unknowns.append(f"{label} is {value!r}")
        elif not on:
            problems.append(f"{label} is off")

    setting("enableSoftDelete", "soft delete", True)
    setting("enablePurgeProtection", "purge protection", False)
    acls = props.child("networkAcls")
    action = acls.get("defaultAction") if acls else None
    if acls and (api.is_unresolved(action) or (action is not None and not isinstance(action, str))):
        unknowns.append(f"the firewall's default action is {action!r}")
    firewalled = acls is not None and api.same(action, "Deny")
    if acls and firewalled:
        evidence += [acls.cite("defaultAction"), acls.cite("bypass")]
        bypass = [p.strip().lower() for p in (acls.text("bypass") or "").split(",")]
        if "azureservices" not in bypass:
            problems.append(
                f"the firewall does not let trusted Microsoft services through "
                f"(bypass {acls.get('bypass')!r})"
            )
        for use in uses:
            if use.system_assigned:
                continue
            evidence.append(use.ref.view.cite("identityClientId"))
            if use.status is IdentityStatus.UNKNOWN:
                unknowns.append(f"the identity of the {use.ref.label} is not known")
            else:
                problems.append(
                    f"behind the firewall the {use.ref.label} is read with "
                    f"{use.description}, not the system-assigned identity"
                )
    subject = f"Vault {vault.name} (used by {service})"
    if problems:
        return api.failed(
            vault.id, f"{subject}: {'; '.join(problems)}.", *evidence, key=key, name=vault.name
        )
    if unknowns:
        message = f"{subject}: protection cannot be judged: {'; '.join(unknowns)}."
        return api.indeterminate(vault.id, message, *evidence, key=key, name=vault.name)
    firewall = " behind a firewall that trusted services bypass" if firewalled else ""
    message = f"{subject} has soft delete and purge protection on{firewall}."
    return api.passed(vault.id, message, *evidence, key=key, name=vault.name)
