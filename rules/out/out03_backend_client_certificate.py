"""MTLS-OUT-03: the gateway presents a client certificate to each backend."""

from __future__ import annotations

from collections.abc import Hashable, Iterator
from dataclasses import dataclass

from mtls_audit import api
from mtls_audit.api.policy import Effective, EffectiveNode

from .. import _guide
from .._policy import policies_uncollected, redacted_place

_FIELDS = ("certificateIds", "certificate")


@api.rule(id="MTLS-OUT-03", severity=api.Severity.HIGH, guide=_guide.BACKEND_CERTIFICATE)
def backend_client_certificate(svc: api.ServiceModel, ctx: api.Context) -> Iterator[api.Result]:
    """The gateway presents a client certificate to backends.

    What it checks:
        Each backend entity names a client certificate for the gateway to present:
        ``credentials.certificateIds`` or ``credentials.certificate`` is a non-empty list; for a
        Service Fabric backend, ``serviceFabricCluster.clientCertificateId`` (or
        ``clientCertificatethumbprint``), the certificate it presents to the cluster.
        Backend pools are not applicable (their member backends are judged). A certificate
        presented by an ``authentication-certificate`` policy is not counted for a backend
        entity. Each API (or operation, where they differ) on each product path whose
        effective inbound policy forwards to a URL — a ``set-backend-service base-url``, or
        the API's ``serviceUrl`` when no ``set-backend-service`` routes elsewhere — must
        present ``authentication-certificate`` in its effective inbound section; an API that
        presents one passes whatever it routes to, and an API routed only to backend entities
        (``backend-id``) is judged through those entities. Indeterminate when the effective
        inbound policy cannot be read completely. Not applicable when the service has no
        backend entity and no API forwarding to a URL.

    Why it matters:
        Mutual TLS ends at the gateway unless the gateway proves itself to the backend in
        turn; without a client certificate any caller that reaches the backend's network is
        served as if it were APIM.

    Example of a failing configuration:
        A backend whose ``credentials`` hold only a header, or no ``credentials`` at all; an
        operation policy that drops ``<base/>`` and with it the API's
        ``authentication-certificate``.

    What passes:
        ``"credentials": {"certificateIds": ["/subscriptions/…/service/apim/certificates/gw"]}``

    How to fix:
        portal: Backends > backend > Client certificate: choose the certificate (kept in Key Vault).
        cli: az rest --method patch --url …/backends/NAME?api-version=2024-05-01 --body
            '{"properties": {"credentials": {"certificateIds": ["CERT_ID"]}}}'
        arm: backends: properties.credentials.certificateIds:
            ['/subscriptions/…/service/APIM/certificates/NAME']
        terraform: azurerm_api_management_backend: credentials { certificate =
            [azurerm_api_management_certificate.c.thumbprint] }
        policy: <authentication-certificate certificate-id="NAME" />

    References:
        https://learn.microsoft.com/azure/api-management/api-management-howto-mutual-certificates
    """
    judged = list(_judge_policies(ctx, svc))
    if not svc.backends and not judged:
        yield api.not_applicable(
            svc.id,
            f"{svc.service.name} has no backend entities and no API forwarding to a URL.",
            name=svc.service.name,
        )
    for backend in svc.backends:
        yield _judge_entity(backend)
    yield from judged


def _judge_entity(backend: api.Backend) -> api.Result:
    """The backend entity's own credentials (the effective policy is not read here)."""
    label = f"Backend {backend.name}"
    if api.same(backend.props.get("type"), "Pool"):
        return api.not_applicable(
            backend.id,
            f"{label} is a pool: its member backends are judged.",
            backend.props.cite("type"),
            name=backend.name,
        )
    fabric = backend.service_fabric
    client = fabric.client_certificate if fabric else None
    if client is not None:
        how = "thumbprint" if client.by_thumbprint else "certificate"
        return api.passed(
            backend.id,
            f"{label} presents the client {how} {client.reference} to the Service Fabric "
            "cluster it resolves the service through.",
            client.citation,
            name=backend.name,
        )
    creds = backend.credentials
    if creds is None:
        if fabric is not None:
            return api.failed(
                backend.id,
                f"{label} is a Service Fabric backend that presents no client certificate to "
                "its cluster (serviceFabricCluster has no clientCertificateId or "
                "clientCertificatethumbprint, and there are no credentials).",
                fabric.cite("clientCertificateId"),
                backend.props.cite("credentials"),
                name=backend.name,
            )
        return api.failed(
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
        return api.passed(
            backend.id,
            f"{label} presents a client certificate ({', '.join(map(str, named))}).",
            *cites,
            name=backend.name,
        )
    unresolved = [
        f"{f} is {v!r}" for f, v in zip(_FIELDS, values, strict=True) if api.is_unresolved(v)
    ]
    if unresolved:
        return api.indeterminate(
            backend.id,
            f"{label}: its client certificates are not resolved ({'; '.join(unresolved)}).",
            *cites,
            name=backend.name,
        )
    return api.failed(
        backend.id,
        f"{label}: no client certificate is configured on the backend entity "
        "(credentials.certificateIds and credentials.certificate are empty).",
        *cites,
        name=backend.name,
    )


@dataclass(frozen=True)
class _Forwarding:
    """What an effective inbound section says about the backend call."""

    certificates: tuple[EffectiveNode, ...]
    urls: tuple[EffectiveNode, ...]  # set-backend-service elements with a base-url
    routed: bool  # some set-backend-service is present
    problems: tuple[str, ...]

    @classmethod
    def of(cls, effective: Effective) -> _Forwarding:
        inbound = effective.inbound
        routes = tuple(inbound.iter("set-backend-service"))
        return cls(
            tuple(inbound.iter("authentication-certificate")),
            tuple(node for node in routes if node.attr("base-url") is not None),
            bool(routes),
            tuple(problem.message for problem in inbound.problems),
        )

    def signature(self) -> Hashable:
        places = tuple(node.place() for node in (*self.certificates, *self.urls))
        return places, self.routed, self.problems


def _judge_policies(ctx: api.Context, svc: api.ServiceModel) -> Iterator[api.Result]:
    """The APIs whose effective inbound policy forwards to a URL."""
    blocked = policies_uncollected(ctx, svc)
    if blocked:
        yield from blocked
        return
    seen: dict[str, _Forwarding] = {}

    def forwarding(effective: Effective) -> _Forwarding:
        found = seen.get(effective.key)
        if found is None:
            found = seen[effective.key] = _Forwarding.of(effective)
        return found

    apis = {entry.id.lower(): entry for entry in svc.apis}
    for subject in ctx.api_paths(svc, lambda e: forwarding(e).signature()):
        api_id = subject.id.lower().split("/operations/")[0]
        found = forwarding(subject.effective)
        result = _judge_forwarding(subject.id, subject.name, subject.key, found, apis.get(api_id))
        if result is not None:
            yield result


def _judge_forwarding(
    subject: str, name: str, key: str, found: _Forwarding, entry: api.Api | None
) -> api.Result | None:
    label = f"{name} ({key})"
    if found.certificates:
        shown = ", ".join(f"{n.origin.label} line {n.line}" for n in found.certificates)
        cites = [redacted_place(node) for node in found.certificates]
        message = f"{label} presents a client certificate (authentication-certificate, {shown})."
        return api.passed(subject, message, *cites, key=key, name=name)
    evidence: list[api.Evidence]
    if found.urls:
        targets = [node.attr("base-url") or "" for node in found.urls]
        evidence = [api.PolicyCitation(*node.place()) for node in found.urls]
    elif not found.routed and entry is not None and entry.service_url:
        targets = [entry.service_url]
        evidence = [entry.props.cite("serviceUrl")]
    else:
        return None  # routed to backend entities only (judged above), or nowhere
    if found.problems:
        message = (
            f"{label} forwards to {', '.join(targets)}; whether it presents a client "
            f"certificate cannot be told ({found.problems[0]})."
        )
        return api.indeterminate(subject, message, *evidence, key=key, name=name)
    message = (
        f"{label} forwards to {', '.join(targets)} without presenting a client certificate "
        "(no authentication-certificate in its effective inbound policy)."
    )
    return api.failed(subject, message, *evidence, key=key, name=name)
