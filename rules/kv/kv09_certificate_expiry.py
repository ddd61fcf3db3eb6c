"""MTLS-KV-09: no certificate is expired or about to expire."""

from __future__ import annotations

from collections.abc import Iterator

from mtls_audit import api
from mtls_audit.api.certificates import InventoryCertificate, expiry_phrase

from .._common import expiry_level

_SEVERITY = {
    "expired": api.Severity.CRITICAL,
    "warning": api.Severity.HIGH,
    "notice": api.Severity.MEDIUM,
}
_KINDS = {
    "hostname": "Hostname certificate",
    "ca": "CA certificate",
    "entity": "Certificate",
    "keyvault": "Key Vault certificate",
}


@api.rule(id="MTLS-KV-09", severity=api.Severity.HIGH, subject=api.Certificate)
def certificate_expiry(cert: InventoryCertificate, ctx: api.Context) -> Iterator[api.Result]:
    """Certificates are not expired or about to expire.

    What it checks:
        Every certificate in the snapshot — custom hostnames, the CA store, certificate
        entities and Key Vault certificates — is unexpired and beyond the warning windows:
        expired is critical, inside the warning window (default 30 days) high, inside the
        notice window (default 60 days) medium. One result per certificate with the days left.

    Why it matters:
        An expired certificate breaks the mutual-TLS handshake (an outage) or, for a CA,
        makes every client certificate fail chain validation.

    Example of a failing configuration:
        A certificate entity whose ``expirationDate`` is ten days after the snapshot.

    What passes:
        Certificates valid beyond the notice window.

    How to fix:
        portal: Key Vault > Certificates > certificate > Issuance Policy: add an AutoRenew lifetime
            action; renew or replace the certificate now.
        cli: az keyvault certificate set-attributes / az keyvault certificate create with a policy
            whose lifetime_actions include AutoRenew
        arm: Reference certificates from Key Vault (versionless) so renewals reach APIM.
        terraform: azurerm_key_vault_certificate: certificate_policy { lifetime_action { action {
            action_type = "AutoRenew" } trigger { days_before_expiry = 30 } } }

    References:
        https://learn.microsoft.com/azure/key-vault/certificates/overview-renew-certificate
    """
    label = f"{_KINDS.get(cert.kind, 'Certificate')} {cert.name}"
    if cert.expiry is None:
        yield api.indeterminate(
            cert.subject_id,
            f"{label}: no expiry date in the snapshot.",
            cert.citation,
            key=cert.key,
            name=cert.name,
        )
        return
    days = api.days_left(cert.expiry, ctx.as_of)
    level = expiry_level(days, ctx.options)
    message = f"{label} {expiry_phrase(cert.expiry, ctx.as_of)} ({cert.expiry:%Y-%m-%d})."
    if level is None:
        yield api.passed(cert.subject_id, message, cert.citation, key=cert.key, name=cert.name)
    else:
        yield api.failed(
            cert.subject_id,
            message,
            cert.citation,
            key=cert.key,
            severity=_SEVERITY[level],
            name=cert.name,
        )
