"""MTLS-GW-05: custom hostname TLS certificates are healthy."""

from __future__ import annotations

from collections.abc import Iterator

from mtls_audit import api
from mtls_audit.api.certificates import Hostname, expiry_phrase
from mtls_audit.api.keyvault import secret_version_of

from .._common import expiry_level, hostnames_unknown


@api.rule(
    id="MTLS-GW-05",
    severity=api.Severity.MEDIUM,
    subject=api.subjects.Hostname.where(
        lambda host: not host.is_builtin, absent="{name} has no custom hostnames."
    ).unless(lambda svc, ctx: hostnames_unknown(svc, "the health of the hostname certificates")),
)
def gateway_tls_certificate_health(host: Hostname, ctx: api.Context) -> Iterator[api.Result]:
    """Custom hostname TLS certificates come from Key Vault and are not expiring.

    What it checks:
        Each custom hostname's TLS certificate comes from Key Vault (``keyVaultId``, without a
        version) or is an APIM-managed certificate, its ``certificateStatus`` is not Failed,
        and it does not expire within the warning window (expired: high). A ``keyVaultId``
        written as an unresolved template expression, or an expiry not in the snapshot, makes
        the result indeterminate unless something else fails.

    Why it matters:
        An uploaded certificate is rotated by hand and tends to expire unnoticed; a versioned
        Key Vault reference stops automatic renewal; an expired gateway certificate breaks
        every mutual-TLS handshake.

    Example of a failing configuration:
        ``keyVaultId: https://kv.vault.azure.net/secrets/gw/0123456789abcdef0123456789abcdef``
        or a certificate uploaded as PFX that expires in ten days.

    What passes:
        A versionless Key Vault reference to a certificate valid beyond the warning window.

    How to fix:
        portal: Custom domains > hostname > Certificate: Key Vault, choosing the secret without a
            version; renew certificates before the warning window.
        cli: az rest --method patch setting hostnameConfigurations[].keyVaultId to a versionless
            secret URL.
        arm: hostnameConfigurations[].keyVaultId: 'https://kv.vault.azure.net/secrets/gateway' (no
            version segment)
        terraform: hostname_configuration { proxy { key_vault_id =
            azurerm_key_vault_certificate.gw.versionless_secret_id } }

    References:
        https://learn.microsoft.com/azure/api-management/configure-custom-domain
    """
    svc = ctx.service_of(host.view.resource_id)
    problems: list[str] = []
    cites: list[api.Citation] = []
    severity = api.Severity.MEDIUM
    unknown: list[str] = []
    source = host.view.get("certificateSource")
    written = host.view.get("keyVaultId")
    if host.key_vault_id:
        if secret_version_of(host.key_vault_id):
            problems.append("its keyVaultId names a secret version (no auto-renewal)")
            cites.append(host.view.cite("keyVaultId"))
    elif api.is_unresolved(written):
        unknown.append(
            f"its keyVaultId is a template expression that was not resolved "
            f"({written}), so whether it names a version cannot be told"
        )
    elif not api.same(source, "Managed"):
        problems.append("its certificate is not a Key Vault reference")
        cites.append(host.view.cite("keyVaultId"))
    if api.same(host.view.get("certificateStatus"), "Failed"):
        problems.append("certificateStatus is Failed")
        cites.append(host.view.cite("certificateStatus"))
    info = host.certificate
    expiry = info.expiry if info else None
    if expiry is None:
        if not api.same(source, "Managed"):
            unknown.append("the certificate's expiry is not in the snapshot")
    else:
        days = api.days_left(expiry, ctx.as_of)
        level = expiry_level(days, ctx.options)
        if level == "expired":
            severity = api.Severity.HIGH
        if level in ("expired", "warning"):
            problems.append(f"its certificate {expiry_phrase(expiry, ctx.as_of)}")
            cites.append(info.view.cite("expiry") if info else host.view.cite("certificate"))
    label = f"{svc.service.name}: hostname {host.host_name}"
    key = host.host_name.lower()
    if problems:
        yield api.failed(
            svc.id,
            f"{label}: " + "; ".join(problems) + ".",
            *cites,
            key=key,
            severity=severity,
            name=host.host_name,
        )
    elif unknown:
        yield api.indeterminate(
            svc.id,
            f"{label}: " + "; ".join(unknown) + ".",
            *([host.view.cite("keyVaultId")] if api.is_unresolved(written) else []),
            host.view.cite("certificate"),
            key=key,
            name=host.host_name,
        )
    else:
        yield api.passed(
            svc.id,
            f"{label}: certificate from "
            f"{'Key Vault' if host.key_vault_id else 'APIM (managed)'}, "
            + (expiry_phrase(expiry, ctx.as_of) if expiry else "renewed by APIM")
            + ".",
            host.view.cite("keyVaultId"),
            key=key,
            name=host.host_name,
        )
