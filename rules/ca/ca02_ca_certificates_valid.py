"""MTLS-CA-02: uploaded CA certificates are valid."""

from __future__ import annotations

from collections.abc import Iterator

from mtls_audit import api
from mtls_audit.api.certificates import CaCertificate, expiry_phrase

from .. import _guide
from .._common import classic_only, expiry_level


@api.rule(
    id="MTLS-CA-02",
    severity=api.Severity.HIGH,
    guide=_guide.UPLOAD_CA,
    subject=api.subjects.CaCertificate.with_absent(
        "{name} has no CA certificates (see MTLS-CA-01)."
    ).unless(lambda svc, ctx: classic_only(svc, "a CA certificate store")),
)
def ca_certificates_valid(ca: CaCertificate, ctx: api.Context) -> Iterator[api.Result]:
    """Uploaded CA certificates are valid.

    What it checks:
        Each CA certificate in the service's CA store is unexpired (expired: high) and
        beyond the warning window (inside it: medium). Classic tiers only.

    Why it matters:
        When a trust anchor expires, ``Verify()`` and ``validate-trust`` reject every client
        certificate it issued: an outage of every mTLS client at once, or an emergency
        relaxation of validation.

    Example of a failing configuration:
        An intermediate CA whose ``certificate.expiry`` is two weeks after the snapshot.

    What passes:
        CA certificates valid beyond the warning window.

    How to fix:
        portal: Certificates > CA certificates: upload the renewed CA certificate (Root for
            self-signed roots, Intermediate for intermediates), then remove the old one.
        cli: az apim update … --set properties.certificates (az rest) with the new CA
        arm: properties.certificates: [{encodedCertificate: '<base64 .cer>', storeName: 'Root'}]
        terraform: azurerm_api_management: certificate { encoded_certificate = filebase64("ca.cer")
            store_name = "Root" }

    References:
        https://learn.microsoft.com/azure/api-management/api-management-howto-ca-certificates
    """
    svc = ctx.service_of(ca.view.resource_id)
    info = ca.certificate
    label = f"CA certificate {(info.subject if info else None) or ca.view.pointer}"
    key = ((info.thumbprint if info else None) or ca.view.pointer).upper()
    expiry = info.expiry if info else None
    if info is None or expiry is None:
        yield api.indeterminate(
            svc.id,
            f"{label}: no expiry in the snapshot.",
            ca.view.cite("certificate"),
            key=key,
            name=label,
        )
        return
    days = api.days_left(expiry, ctx.as_of)
    level = expiry_level(days, ctx.options)
    message = f"{label} ({ca.store_name or 'store unknown'}) {expiry_phrase(expiry, ctx.as_of)}."
    if level == "expired":
        yield api.failed(svc.id, message, info.view.cite("expiry"), key=key, name=label)
    elif level == "warning":
        yield api.failed(
            svc.id,
            message,
            info.view.cite("expiry"),
            key=key,
            severity=api.Severity.MEDIUM,
            name=label,
        )
    else:
        yield api.passed(svc.id, message, info.view.cite("expiry"), key=key, name=label)
