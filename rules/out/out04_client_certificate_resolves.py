"""MTLS-OUT-04: every backend client certificate resolves to a live certificate entity."""

from __future__ import annotations

from collections.abc import Iterator

from mtls_audit import api
from mtls_audit.api.certificates import BackendCertificate, backend_certificates, expiry_phrase

from .. import _guide


@api.rule(id="MTLS-OUT-04", severity=api.Severity.HIGH, guide=_guide.BACKEND_CERTIFICATE)
def client_certificate_resolves(svc: api.ServiceModel, ctx: api.Context) -> Iterator[api.Result]:
    """Backend client certificates resolve to unexpired certificates.

    What it checks:
        Every ``credentials.certificateIds`` entry of a backend names a certificate entity of
        the service (by full id, or by name when the entry is not a full id), and — when no
        ids are given — every ``credentials.certificate`` thumbprint matches one; the
        certificate found is not expired. One result per entry. Indeterminate when the
        service's certificates were not collected or the certificate has no expiry date.

    Why it matters:
        A backend that names a missing or expired certificate presents none, or a dead one:
        the backend refuses the handshake and the API is down, or the backend was never
        enforcing mutual TLS.

    Example of a failing configuration:
        ``"certificateIds": ["/subscriptions/…/service/apim/certificates/deleted-cert"]``, or a
        thumbprint of a certificate that was rotated away.

    What passes:
        Entries naming existing certificate entities whose ``expirationDate`` lies ahead.

    How to fix:
        portal: Certificates: add (or renew in Key Vault) the certificate; Backends > backend >
            Client certificate: choose an existing one.
        cli: az apim certificate list -g RG --service-name APIM; then point
            credentials.certificateIds at an existing certificate id
        arm: backends: credentials.certificateIds:
            [resourceId('Microsoft.ApiManagement/service/certificates', APIM, NAME)] with that
            certificate deployed
        terraform: azurerm_api_management_backend: credentials { certificate =
            [azurerm_api_management_certificate.c.thumbprint] }

    References:
        https://learn.microsoft.com/rest/api/apimanagement/backend/create-or-update
    """
    uses = backend_certificates(svc)
    if not uses:
        yield api.not_applicable(
            svc.id,
            f"No backend entity of {svc.service.name} names a client certificate.",
            name=svc.service.name,
        )
    collected = not ctx.gaps_about("certificates", subject=svc.id)
    for use in uses:
        yield _judge(ctx, use, collected)


def _judge(ctx: api.Context, use: BackendCertificate, collected: bool) -> api.Result:
    backend, ref = use.backend, use.reference
    what = "thumbprint " if use.by_thumbprint else ""
    label = f"Backend {backend.name}: client certificate {what}{ref}"
    cert = use.certificate
    if cert is None:
        if api.is_unresolved(ref) or "{{" in ref:
            return api.indeterminate(
                backend.id, f"{label} is not resolved.", use.citation, key=ref, name=backend.name
            )
        if not collected:
            message = f"{label} cannot be checked: the service's certificates were not collected."
            return api.indeterminate(backend.id, message, use.citation, key=ref, name=backend.name)
        message = f"{label} matches no certificate entity of the service."
        return api.failed(backend.id, message, use.citation, key=ref, name=backend.name)
    evidence = (use.citation, cert.props.cite("expirationDate"))
    if cert.expiry is None:
        message = f"{label} resolves to {cert.name}, whose expiry date is not in the snapshot."
        return api.indeterminate(backend.id, message, *evidence, key=ref, name=backend.name)
    days = api.days_left(cert.expiry, ctx.as_of)
    if days < 0:
        message = f"{label} resolves to {cert.name}, which {expiry_phrase(cert.expiry, ctx.as_of)}."
        return api.failed(backend.id, message, *evidence, key=ref, name=backend.name)
    message = f"{label} resolves to {cert.name}, valid until {cert.expiry:%Y-%m-%d}."
    return api.passed(backend.id, message, *evidence, key=ref, name=backend.name)
