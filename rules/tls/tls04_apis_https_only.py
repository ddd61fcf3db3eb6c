"""MTLS-TLS-04: no API accepts plain HTTP or WS."""

from __future__ import annotations

from collections.abc import Iterator

from mtls_audit import api

PLAIN = {"http", "ws"}


@api.rule(id="MTLS-TLS-04", severity=api.Severity.HIGH, subject=api.subjects.Api)
def apis_https_only(entry: api.Api, ctx: api.Context) -> Iterator[api.Result]:
    """APIs accept HTTPS (or WSS) only.

    What it checks:
        Each API's ``protocols`` list holds neither ``http`` nor ``ws``.

    Why it matters:
        A plain-HTTP request carries no TLS session and therefore no client certificate:
        mutual TLS cannot apply, and patient data travels unencrypted.

    Example of a failing configuration:
        ``"protocols": ["http", "https"]``

    What passes:
        ``"protocols": ["https"]`` (or ``["wss"]`` for WebSocket APIs).

    How to fix:
        portal: APIs > API > Settings > URL scheme: HTTPS.
        cli: az apim api update -g RG --service-name NAME --api-id API --protocols https
        arm: Microsoft.ApiManagement/service/apis: properties.protocols: ['https']
        terraform: azurerm_api_management_api: protocols = ["https"]

    References:
        https://learn.microsoft.com/azure/api-management/api-management-howto-add-products
    """
    protocols = entry.protocols
    cite = entry.props.cite("protocols")
    if protocols is None:
        yield api.indeterminate(
            entry.id,
            f"API {entry.display_name}: protocols are absent or unreadable.",
            cite,
            name=entry.display_name,
        )
    elif PLAIN.intersection(protocols):
        yield api.failed(
            entry.id,
            f"API {entry.display_name} accepts "
            + ", ".join(sorted(PLAIN.intersection(protocols)))
            + ".",
            cite,
            name=entry.display_name,
        )
    else:
        yield api.passed(
            entry.id,
            f"API {entry.display_name} accepts " + ", ".join(protocols) + " only.",
            cite,
            name=entry.display_name,
        )
