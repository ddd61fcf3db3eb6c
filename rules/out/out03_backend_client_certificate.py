"""MTLS-OUT-03: the gateway presents a client certificate to each backend."""

from __future__ import annotations

from collections.abc import Iterator

from mtls_audit.api import (
    Backend,
    Model,
    Options,
    Result,
    Severity,
    failed,
    indeterminate,
    is_unresolved,
    not_applicable,
    passed,
    rule,
    same,
)

_FIELDS = ("certificateIds", "certificate")


@rule(
    id="MTLS-OUT-03",
    slug="backend-client-certificate",
    title="The gateway presents a client certificate to backends",
    severity=Severity.HIGH,
    topics=("backend-validation", "client-certificates"),
    guide="Secure the backend with a client certificate",
    remediation={
        "portal": "Backends > backend > Client certificate: choose the certificate (kept in "
        "Key Vault).",
        "cli": "az rest --method patch --url …/backends/NAME?api-version=2024-05-01 --body "
        '\'{"properties": {"credentials": {"certificateIds": ["CERT_ID"]}}}\'',
        "arm": "backends: properties.credentials.certificateIds: ['/subscriptions/…/service/"
        "APIM/certificates/NAME']",
        "terraform": "azurerm_api_management_backend: credentials { certificate = "
        "[azurerm_api_management_certificate.c.thumbprint] }",
        "policy": '<authentication-certificate certificate-id="NAME" />',
    },
)
def check(model: Model, options: Options) -> Iterator[Result]:
    """
    What it checks:
        Each backend entity names a client certificate for the gateway to present:
        ``credentials.certificateIds`` or ``credentials.certificate`` is a non-empty list.
        Backend pools are not applicable (their member backends are judged). Not applicable
        when the service has no backend entities. A certificate presented by an
        ``authentication-certificate`` policy is not yet taken into account: such a backend
        fails here with a message naming the backend entity.

    Why it matters:
        Mutual TLS ends at the gateway unless the gateway proves itself to the backend in
        turn; without a client certificate any caller that reaches the backend's network is
        served as if it were APIM.

    Example of a failing configuration:
        A backend whose ``credentials`` hold only a header, or no ``credentials`` at all.

    What passes:
        ``"credentials": {"certificateIds": ["/subscriptions/…/service/apim/certificates/gw"]}``

    References:
        https://learn.microsoft.com/azure/api-management/api-management-howto-mutual-certificates
    """
    for svc in model.services:
        if not svc.backends:
            yield not_applicable(
                svc.id, f"{svc.service.name} has no backend entities.", name=svc.service.name
            )
        for backend in svc.backends:
            yield _judge_entity(backend)


def _judge_entity(backend: Backend) -> Result:
    """The backend entity's own credentials (the effective policy is not read here)."""
    label = f"Backend {backend.name}"
    if same(backend.props.get("type"), "Pool"):
        return not_applicable(
            backend.id,
            f"{label} is a pool: its member backends are judged.",
            backend.props.cite("type"),
            name=backend.name,
        )
    creds = backend.credentials
    if creds is None:
        return failed(
            backend.id,
            f"{label}: no client certificate is configured on the backend entity "
            "(it has no credentials).",
            backend.props.cite("credentials"),
            name=backend.name,
        )
    cites = [creds.cite(f) for f in _FIELDS]
    values = [creds.get(f) for f in _FIELDS]
    if any(isinstance(v, list) and v for v in values):
        named = next(v for v in values if isinstance(v, list) and v)
        return passed(
            backend.id,
            f"{label} presents a client certificate ({', '.join(map(str, named))}).",
            *cites,
            name=backend.name,
        )
    unresolved = [f"{f} is {v!r}" for f, v in zip(_FIELDS, values, strict=True) if is_unresolved(v)]
    if unresolved:
        return indeterminate(
            backend.id,
            f"{label}: its client certificates are not resolved ({'; '.join(unresolved)}).",
            *cites,
            name=backend.name,
        )
    return failed(
        backend.id,
        f"{label}: no client certificate is configured on the backend entity "
        "(credentials.certificateIds and credentials.certificate are empty).",
        *cites,
        name=backend.name,
    )
