"""MTLS-OUT-06: backend client certificates are referenced by certificate id."""

from __future__ import annotations

from collections.abc import Iterator

from mtls_audit import api
from mtls_audit.api.policy import EffectiveNode, Layer

from .. import _guide
from .._policy import (
    authentication_certificates,
    document_subject,
    per_service,
    redacted_place,
    site_key,
)


@api.rule(
    id="MTLS-OUT-06", severity=api.Severity.MEDIUM, guide=_guide.KEY_VAULT, needs=api.POLICY_NEEDS
)
def reference_by_certificate_id(svc: api.ServiceModel, ctx: api.Context) -> Iterator[api.Result]:
    """authentication-certificate refers to certificates by certificate-id.

    What it checks:
        Every ``authentication-certificate`` element in a policy or fragment names its
        certificate with ``certificate-id``, not with ``thumbprint``. Elements that pass the
        certificate itself (``body``) are judged by MTLS-OUT-05, not here; a policy that cannot
        be read is indeterminate. The message says when the thumbprint belongs to a Key Vault
        certificate entity, whose rotation is what breaks it. Not applicable when no policy
        presents a client certificate by reference.

    Why it matters:
        A thumbprint names one issuance of a certificate. When Key Vault renews it, APIM
        picks up the new version under the same certificate id, but the thumbprint in the
        policy no longer matches anything: the gateway stops presenting a certificate and the
        backend refuses every call.

    Example of a failing configuration:
        ``<authentication-certificate thumbprint="0435E4A6274A2860490CFDA9FDB248C2F6B3B9AE" />``

    What passes:
        ``<authentication-certificate certificate-id="fax-relay-client" />``

    How to fix:
        portal: APIs > policy editor: replace thumbprint="…" with certificate-id="NAME", the name of
            the certificate under Certificates.
        cli: az apim api policy … / az rest --method put …/policies/policy with
            <authentication-certificate certificate-id="NAME" />
        arm: policies: properties.value with certificate-id instead of thumbprint
        terraform: azurerm_api_management_api_policy.xml_content with certificate-id
        policy: <authentication-certificate certificate-id="backend-client" />

    References:
        https://learn.microsoft.com/azure/api-management/authentication-certificate-policy
        https://learn.microsoft.com/azure/api-management/api-management-howto-mutual-certificates
    """

    def judged(svc: api.ServiceModel) -> Iterator[api.Result]:
        for layer, node in authentication_certificates(ctx, svc):
            if node.attr("body") is None:
                yield _judge(svc, layer, node)

    yield from per_service(
        ctx,
        svc,
        "authentication-certificate elements",
        judged,
        "No policy of {name} presents a client certificate by reference.",
    )


def _judge(svc: api.ServiceModel, layer: Layer, node: EffectiveNode) -> api.Result:
    label = layer.origin.label
    where = f"{label} authentication-certificate (line {node.line})"
    subject, cite, key = document_subject(layer), redacted_place(node), site_key(label, node.line)
    thumbprint = node.attr("thumbprint")
    if node.attr("certificate-id") is not None or thumbprint is None:
        message = f"{where} refers to its certificate by certificate-id."
        return api.passed(subject, message, cite, key=key, name=label)
    vaulted = [
        cert.name
        for cert in svc.certificates
        if cert.key_vault is not None
        and cert.thumbprint
        and api.same(cert.thumbprint.strip(), thumbprint.strip())
    ]
    message = f"{where} refers to its certificate by thumbprint {thumbprint}"
    if vaulted:
        message += f" (Key Vault certificate {vaulted[0]}: renewal breaks the reference)"
    message += "."
    return api.failed(subject, message, cite, key=key, name=label)
