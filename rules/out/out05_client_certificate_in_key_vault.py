"""MTLS-OUT-05: backend client certificates come from Key Vault, not uploaded PFX files."""

from __future__ import annotations

from collections.abc import Iterator

from mtls_audit import api
from mtls_audit.api.certificates import BackendCertificate, CertificateEntity, backend_certificates
from mtls_audit.api.policy import EffectiveNode

from .. import _guide
from .._policy import (
    authentication_certificates,
    document_subject,
    is_literal,
    policy_gaps,
    redacted_place,
    site_key,
)


@api.rule(id="MTLS-OUT-05", severity=api.Severity.HIGH, guide=_guide.BACKEND_CERTIFICATE)
def client_certificate_in_key_vault(
    svc: api.ServiceModel, ctx: api.Context
) -> Iterator[api.Result]:
    """Backend client certificates are kept in Key Vault.

    What it checks:
        Every certificate entity that a backend names in ``credentials.certificateIds`` (or by
        thumbprint in ``credentials.certificate``) is a Key Vault reference
        (``keyVault.secretIdentifier``), not an uploaded PFX. One result per certificate
        entity, naming the backends that use it; indeterminate for a backend entry that does
        not resolve (MTLS-OUT-04 reports it). Every ``authentication-certificate`` element in
        a policy or fragment is judged too, one result each: ``body`` with a literal
        ``password`` (not an expression or named value; snapshots show it as
        ``[redacted]``) fails as critical, since key material and its secret sit in the
        policy; ``body`` otherwise fails (the key is handled by policy expressions, not kept
        in Key Vault); ``certificate-id`` or ``thumbprint`` naming an uploaded certificate
        entity fails, one kept in Key Vault passes, and one that names no entity, or a
        placeholder, is indeterminate. Not applicable when nothing names a client
        certificate.

    Why it matters:
        An uploaded PFX travels with its password through pipelines and files, is rotated by
        hand, and leaves no access trail; Key Vault keeps the private key, renews it and lets
        APIM pick up the new version.

    Example of a failing configuration:
        A certificate entity created with ``data`` and ``password`` (no ``keyVault`` block)
        and named in a backend's ``credentials.certificateIds``;
        ``<authentication-certificate body="@(…)" password="p@ss" />``.

    What passes:
        ``"keyVault": {"secretIdentifier": "https://kv.vault.azure.net/secrets/backend-client"}``
        on every certificate backends use.

    How to fix:
        portal: Certificates > certificate: replace the uploaded PFX with a Key Vault certificate
            (versionless secret identifier, managed identity).
        cli: az rest --method put --url …/certificates/NAME?api-version=2024-05-01 --body
            '{"properties": {"keyVault": {"secretIdentifier":
            "https://VAULT.vault.azure.net/secrets/NAME"}}}'
        arm: certificates: properties.keyVault.secretIdentifier:
            'https://VAULT.vault.azure.net/secrets/NAME' (no data / password)
        terraform: azurerm_api_management_certificate: key_vault_secret_id =
            azurerm_key_vault_certificate.c.versionless_secret_id

    References:
        https://learn.microsoft.com/azure/api-management/api-management-howto-mutual-certificates
    """
    uses = backend_certificates(svc)
    in_policy = list(_judge_policies(ctx, svc))
    if not uses and not in_policy:
        yield api.not_applicable(
            svc.id,
            f"No backend entity or authentication-certificate policy of "
            f"{svc.service.name} names a client certificate.",
            name=svc.service.name,
        )
    for use in uses:
        if use.certificate is None:
            yield api.indeterminate(
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
    yield from in_policy


def _judge(cert_id: str, name: str, props: api.View, group: list[BackendCertificate]) -> api.Result:
    """One certificate entity (its id, name and properties) and the backends using it."""
    backends = ", ".join(sorted({use.backend.name for use in group}, key=str.lower))
    label = f"Certificate {name} (client certificate of backend {backends})"
    return _kept_in_vault(cert_id, label, props, *(use.citation for use in group), name=name)


def _kept_in_vault(
    subject: str, label: str, props: api.View, *evidence: api.Evidence, key: str = "", name: str
) -> api.Result:
    """Whether the certificate entity with ``props`` is a Key Vault reference."""
    vault = props.child("keyVault")
    secret = vault.get("secretIdentifier") if vault else None
    cites = (vault.cite("secretIdentifier") if vault else props.cite("keyVault"), *evidence)
    if isinstance(secret, str) and secret and not api.is_unresolved(secret):
        message = f"{label} is kept in Key Vault ({secret})."
        return api.passed(subject, message, *cites, key=key, name=name)
    if secret:
        message = f"{label}: its Key Vault reference {secret!r} is not resolved."
        return api.indeterminate(subject, message, *cites, key=key, name=name)
    message = f"{label} is an uploaded PFX, not a Key Vault reference."
    return api.failed(subject, message, *cites, key=key, name=name)


def _judge_policies(ctx: api.Context, svc: api.ServiceModel) -> Iterator[api.Result]:
    """Each ``authentication-certificate`` element of the service's policies."""
    walkable = yield from policy_gaps(ctx, svc, "authentication-certificate elements")
    if not walkable:
        return
    for layer, node in authentication_certificates(ctx, svc):
        label = layer.origin.label
        subject = document_subject(layer)
        where = f"{label} authentication-certificate (line {node.line})"
        cite = redacted_place(node)
        key = site_key(label, node.line)
        if node.attr("body") is not None:
            password = node.attr("password")
            if password is not None and password.strip() and is_literal(password):
                message = (
                    f"{where} carries the certificate in the policy with a literal password: "
                    "key material and its secret are in the policy text."
                )
                severity = api.Severity.CRITICAL
                yield api.failed(subject, message, cite, key=key, severity=severity, name=label)
            else:
                message = (
                    f"{where} builds the certificate from bytes in the policy (body), not from "
                    "a certificate kept in Key Vault."
                )
                yield api.failed(subject, message, cite, key=key, name=label)
            continue
        yield _judge_reference(svc, subject, where, node, cite, key, label)


def _judge_reference(
    svc: api.ServiceModel,
    subject: str,
    where: str,
    node: EffectiveNode,
    cite: api.PolicyCitation,
    key: str,
    name: str,
) -> api.Result:
    by_id = node.attr("certificate-id")
    reference = by_id if by_id is not None else node.attr("thumbprint") or ""
    if not is_literal(reference) or not reference.strip():
        message = f"{where}: the certificate reference {reference!r} cannot be resolved."
        return api.indeterminate(subject, message, cite, key=key, name=name)
    cert = _entity(svc, reference.strip(), by_id is not None)
    if cert is None:
        message = f"{where}: {reference} names no certificate entity of the service."
        return api.indeterminate(subject, message, cite, key=key, name=name)
    label = f"{where}: certificate {cert.name}"
    return _kept_in_vault(subject, label, cert.props, cite, key=key, name=name)


def _entity(svc: api.ServiceModel, reference: str, by_id: bool) -> CertificateEntity | None:
    """The certificate entity a ``certificate-id`` (its name) or ``thumbprint`` names."""
    for cert in svc.certificates:
        if by_id and api.same(cert.name, reference.rstrip("/").rsplit("/", 1)[-1]):
            return cert
        if not by_id and cert.thumbprint and api.same(cert.thumbprint.strip(), reference):
            return cert
    return None
