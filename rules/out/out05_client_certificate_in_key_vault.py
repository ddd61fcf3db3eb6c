"""MTLS-OUT-05: backend client certificates come from Key Vault, not uploaded PFX files."""

from __future__ import annotations

from collections.abc import Iterator

from mtls_audit.api import (
    BackendCertificate,
    Model,
    Options,
    Result,
    Severity,
    View,
    backend_certificates,
    failed,
    indeterminate,
    is_unresolved,
    not_applicable,
    passed,
    rule,
)


@rule(
    id="MTLS-OUT-05",
    slug="client-certificate-in-key-vault",
    title="Backend client certificates are kept in Key Vault",
    severity=Severity.HIGH,
    topics=("backend-validation", "key-vault"),
    guide="Secure the backend with a client certificate",
    remediation={
        "portal": "Certificates > certificate: replace the uploaded PFX with a Key Vault "
        "certificate (versionless secret identifier, managed identity).",
        "cli": "az rest --method put --url …/certificates/NAME?api-version=2024-05-01 --body "
        '\'{"properties": {"keyVault": {"secretIdentifier": '
        '"https://VAULT.vault.azure.net/secrets/NAME"}}}\'',
        "arm": "certificates: properties.keyVault.secretIdentifier: "
        "'https://VAULT.vault.azure.net/secrets/NAME' (no data / password)",
        "terraform": "azurerm_api_management_certificate: key_vault_secret_id = "
        "azurerm_key_vault_certificate.c.versionless_secret_id",
    },
)
def check(model: Model, options: Options) -> Iterator[Result]:
    """
    What it checks:
        Every certificate entity that a backend names in ``credentials.certificateIds`` (or by
        thumbprint in ``credentials.certificate``) is a Key Vault reference
        (``keyVault.secretIdentifier``), not an uploaded PFX. One result per certificate
        entity, naming the backends that use it; indeterminate for a backend entry that does
        not resolve (MTLS-OUT-04 reports it). Not applicable when no backend names a client
        certificate.

    Why it matters:
        An uploaded PFX travels with its password through pipelines and files, is rotated by
        hand, and leaves no access trail; Key Vault keeps the private key, renews it and lets
        APIM pick up the new version.

    Example of a failing configuration:
        A certificate entity created with ``data`` and ``password`` (no ``keyVault`` block)
        and named in a backend's ``credentials.certificateIds``.

    What passes:
        ``"keyVault": {"secretIdentifier": "https://kv.vault.azure.net/secrets/backend-client"}``
        on every certificate backends use.

    References:
        https://learn.microsoft.com/azure/api-management/api-management-howto-mutual-certificates
    """
    for svc in model.services:
        uses = backend_certificates(svc)
        if not uses:
            yield not_applicable(
                svc.id,
                f"No backend entity of {svc.service.name} names a client certificate.",
                name=svc.service.name,
            )
        for use in uses:
            if use.certificate is None:
                yield indeterminate(
                    use.backend.id,
                    f"Backend {use.backend.name}: client certificate {use.reference} matches no "
                    "certificate entity, so where it is kept cannot be told.",
                    use.citation,
                    key=use.reference,
                    name=use.backend.name,
                )
        for cert in svc.certificates:
            group = [use for use in uses if use.certificate is cert]
            if group:
                yield _judge(cert.id, cert.name, cert.props, group)


def _judge(cert_id: str, name: str, props: View, group: list[BackendCertificate]) -> Result:
    """One certificate entity (its id, name and properties) and the backends using it."""
    backends = ", ".join(dict.fromkeys(use.backend.name for use in group))
    label = f"Certificate {name} (client certificate of backend {backends})"
    vault = props.child("keyVault")
    secret = vault.get("secretIdentifier") if vault else None
    evidence = (
        vault.cite("secretIdentifier") if vault else props.cite("keyVault"),
        *(use.citation for use in group),
    )
    if isinstance(secret, str) and secret and not is_unresolved(secret):
        return passed(cert_id, f"{label} is kept in Key Vault ({secret}).", *evidence, name=name)
    if secret:
        message = f"{label}: its Key Vault reference {secret!r} is not resolved."
        return indeterminate(cert_id, message, *evidence, name=name)
    message = f"{label} is an uploaded PFX, not a Key Vault reference."
    return failed(cert_id, message, *evidence, name=name)
