"""MTLS-OUT-01: the gateway reaches backends over HTTPS."""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import urlsplit

from mtls_audit import api
from mtls_audit.api.policy import document_elements, find_placeholders

from .. import _guide
from .._policy import (
    document_subject,
    policy_gaps,
    site_key,
)


def judge_url(
    subject: str, label: str, url: object, cite: api.Evidence, *, key: str = "", name: str = ""
) -> api.Result:
    """Parse the URL: only its scheme counts ("https" elsewhere in it is not HTTPS). A URL made
    by a policy expression or holding a placeholder is unknown here."""
    name = name or label
    if not isinstance(url, str) or api.is_unresolved(url) or _computed(url):
        return api.indeterminate(
            subject, f"{label}: the URL {url!r} cannot be resolved.", cite, key=key, name=name
        )
    try:
        scheme = urlsplit(url.strip()).scheme.lower()
    except ValueError as exc:  # e.g. https://host[x]/: brackets in a host hold an IPv6 address
        return api.indeterminate(
            subject, f"{label}: {url!r} is not a valid URL ({exc}).", cite, key=key, name=name
        )
    if scheme == "https":
        return api.passed(subject, f"{label} uses HTTPS ({url}).", cite, key=key, name=name)
    message = f"{label} uses {scheme or 'no'} scheme, not HTTPS: {url}"
    return api.failed(subject, message, cite, key=key, name=name)


def _judge_fabric(backend: api.Backend, fabric: api.ServiceFabric) -> api.Result:
    """A Service Fabric backend is reached through the cluster's management endpoints: their
    scheme is the transport the configuration sets (see ``model.fabric``)."""
    label = f"Backend {backend.name} (Service Fabric service {fabric.url or '?'})"
    cites = (fabric.cite("managementEndpoints"), backend.props.cite("url"))
    endpoints = fabric.management_endpoints
    if not endpoints:
        message = f"{label}: the cluster's management endpoints are not in the snapshot."
        return api.indeterminate(backend.id, message, *cites, name=backend.name)
    unknown = [
        e for e in endpoints if not isinstance(e, str) or api.is_unresolved(e) or _computed(e)
    ]
    if unknown:
        shown = ", ".join(map(repr, unknown))
        endpoints_named = api.plural(len(unknown), "management endpoint")
        message = f"{label}: {endpoints_named} cannot be resolved: {shown}."
        return api.indeterminate(backend.id, message, *cites, name=backend.name)
    plain = [e for e in endpoints if api.url_scheme(str(e)) != "https"]
    if plain:
        message = (
            f"{label} resolves the service through "
            f"{api.plural(len(plain), 'management endpoint')} not on HTTPS: "
        )
        return api.failed(
            backend.id, message + ", ".join(map(str, plain)), *cites, name=backend.name
        )
    message = (
        f"{label} resolves the service through the cluster's "
        f"{api.plural(len(endpoints), 'management endpoint')} over "
        f"HTTPS ({', '.join(map(str, endpoints))})."
    )
    return api.passed(backend.id, message, *cites, name=backend.name)


def _computed(url: str) -> bool:
    return url.lstrip()[:2] in ("@(", "@{") or bool(find_placeholders(url))


@api.rule(id="MTLS-OUT-01", severity=api.Severity.CRITICAL, guide=_guide.BACKEND_CERTIFICATE)
def backend_https(svc: api.ServiceModel, ctx: api.Context) -> Iterator[api.Result]:
    """Backends are called over HTTPS.

    What it checks:
        Every backend ``url``, every API ``serviceUrl`` and every ``set-backend-service
        base-url`` written in a policy or fragment uses the ``https`` scheme, judged on the
        parsed URL, not on a substring (``http://https-looking.example.com`` is HTTP). A URL
        computed by a policy expression, or holding a ``{{named value}}`` or a deployment
        placeholder, is indeterminate, as is a policy that cannot be read. One result per
        backend, API and ``set-backend-service`` element. A Service Fabric backend
        (``fabric:/app/service``) names a service, not a host: the gateway resolves it through
        the cluster's ``managementEndpoints``, so their scheme is judged; the scheme of the
        endpoint the service registers in the cluster is not part of the APIM configuration.

    Why it matters:
        A gateway-to-backend call over HTTP sends patient data in clear text and cannot carry
        the gateway's client certificate.

    Example of a failing configuration:
        ``"url": "http://lab-results.internal.example"``, or
        ``<set-backend-service base-url="http://fax-relay.example:8081/relay" />``

    What passes:
        ``"url": "https://lab-results.internal.example"``

    How to fix:
        portal: Backends > backend > Runtime URL: https://…; APIs > Settings > Web service URL:
            https://…
        cli: az apim api update … --service-url https://backend.example.org
        arm: backends: properties.url: 'https://…'; apis: properties.serviceUrl: 'https://…'
        terraform: azurerm_api_management_backend.url / azurerm_api_management_api.service_url =
            "https://…"
        policy: <set-backend-service base-url="https://backend.example.org" />

    References:
        https://learn.microsoft.com/azure/api-management/api-management-howto-mutual-certificates
    """
    judged = 0
    for backend in svc.backends:
        fabric = backend.service_fabric
        if fabric is not None:
            judged += 1
            yield _judge_fabric(backend, fabric)
        elif backend.props.has("url"):
            judged += 1
            yield _judge_property(backend, f"Backend {backend.name}", "url")
    for entry in svc.apis:
        if entry.props.get("serviceUrl"):
            judged += 1
            yield _judge_property(entry, f"API {entry.display_name} service URL", "serviceUrl")
    for result in _policy_urls(ctx, svc):
        judged += 1
        yield result
    if not judged:
        yield api.not_applicable(
            svc.id,
            f"{svc.service.name} declares no backend, API service URL or "
            "set-backend-service base-url.",
            name=svc.service.name,
        )


def _judge_property(entity: api.Backend | api.Api, label: str, field: str) -> api.Result:
    """Judge the URL an entity's property holds."""
    return judge_url(entity.id, label, entity.props.get(field), entity.props.cite(field))


def _policy_urls(ctx: api.Context, svc: api.ServiceModel) -> Iterator[api.Result]:
    """Every ``set-backend-service base-url`` written in a policy or fragment."""
    walkable = yield from policy_gaps(ctx, svc, "set-backend-service URLs")
    if not walkable:
        return
    for layer in ctx.policy_layers(svc):
        for node in document_elements(layer, "set-backend-service"):
            url = node.attr("base-url")
            if url is not None:
                label = layer.origin.label
                yield judge_url(
                    document_subject(layer),
                    f"{label} set-backend-service (line {node.line})",
                    url,
                    api.PolicyCitation(*node.place()),
                    key=site_key(label, node.line),
                    name=label,
                )
