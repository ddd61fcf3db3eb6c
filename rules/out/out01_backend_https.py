"""MTLS-OUT-01: the gateway reaches backends over HTTPS."""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import urlsplit

from mtls_audit.api import (
    Citation,
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
)


def judge_url(subject: str, label: str, url: object, cite: Citation) -> Result:
    """Parse the URL: only its scheme counts ("https" elsewhere in it is not HTTPS)."""
    if not isinstance(url, str) or is_unresolved(url) or "{{" in url:
        return indeterminate(
            subject, f"{label}: the URL {url!r} cannot be resolved.", cite, name=label
        )
    scheme = urlsplit(url.strip()).scheme.lower()
    if scheme == "https":
        return passed(subject, f"{label} uses HTTPS ({url}).", cite, name=label)
    return failed(
        subject, f"{label} uses {scheme or 'no'} scheme, not HTTPS: {url}", cite, name=label
    )


@rule(
    id="MTLS-OUT-01",
    slug="backend-https",
    title="Backends are called over HTTPS",
    severity=Severity.CRITICAL,
    topics=("transport", "backend-validation"),
    guide="Secure the backend with a client certificate",
    remediation={
        "portal": "Backends > backend > Runtime URL: https://…; APIs > Settings > Web service "
        "URL: https://…",
        "cli": "az apim api update … --service-url https://backend.example.org",
        "arm": "backends: properties.url: 'https://…'; apis: properties.serviceUrl: 'https://…'",
        "terraform": "azurerm_api_management_backend.url / azurerm_api_management_api."
        'service_url = "https://…"',
        "policy": '<set-backend-service base-url="https://backend.example.org" />',
    },
)
def check(model: Model, options: Options) -> Iterator[Result]:
    """
    What it checks:
        Every backend ``url`` and every API ``serviceUrl`` uses the ``https`` scheme, judged on
        the parsed URL, not on a substring (``http://https-looking.example.com`` is HTTP).

    Why it matters:
        A gateway-to-backend call over HTTP sends patient data in clear text and cannot carry
        the gateway's client certificate.

    Example of a failing configuration:
        ``"url": "http://lab-results.internal.example"``

    What passes:
        ``"url": "https://lab-results.internal.example"``

    References:
        https://learn.microsoft.com/azure/api-management/api-management-howto-mutual-certificates
    """
    for svc in model.services:
        judged = 0
        for backend in svc.backends:
            if backend.props.has("url"):
                judged += 1
                yield judge_url(
                    backend.id,
                    f"Backend {backend.name}",
                    backend.props.get("url"),
                    backend.props.cite("url"),
                )
        for api in svc.apis:
            if api.props.get("serviceUrl"):
                judged += 1
                yield judge_url(
                    api.id,
                    f"API {api.display_name} service URL",
                    api.props.get("serviceUrl"),
                    api.props.cite("serviceUrl"),
                )
        if not judged:
            yield not_applicable(
                svc.id,
                f"{svc.service.name} declares no backend or API service URL.",
                name=svc.service.name,
            )
