"""MTLS-LEAK-03: certificate headers are not echoed and debug headers are not set."""

from __future__ import annotations

import re
from collections.abc import Iterator

from mtls_audit import api
from mtls_audit.api.policy import ResponseWrite, header_data

from ._writes import judge_writes

_DEBUG_HEADER = re.compile(r"x-(debug|cert)", re.I)


@api.rule(id="MTLS-LEAK-03", severity=api.Severity.LOW, needs=api.POLICY_NEEDS)
def certificate_headers_echoed(svc: api.ServiceModel, ctx: api.Context) -> Iterator[api.Result]:
    """Certificate headers are not echoed and debug headers are not returned.

    What it checks:
        For every API (or operation) on every product path, no response write of the
        effective policy (``set-header``, ``set-body``, ``set-status`` reason in ``outbound``
        and ``on-error``, or inside a ``return-response``) carries the content of a request
        header that brings a client certificate or thumbprint (``X-ARR-ClientCert``,
        ``X-ARR-ClientCertThumbprint``, ``X-Client-Certificate`` and any header whose name
        holds "cert" or "thumbprint"), or a certificate decoded from one; and no
        ``set-header`` sets a debug-named header (``X-Debug…``, ``X-Cert…``) in a response,
        unless it deletes it. Unreadable expressions that mention such a header, and policies
        that cannot be read completely, are indeterminate.

    Why it matters:
        A proxy-supplied certificate header echoed to the client shows what the gateway
        trusts and confirms header injection works; debug headers left in production leak
        internal state to every caller.

    Example of a failing configuration:
        ``<set-header name="X-Client-Certificate-Received" exists-action="override">``
        ``<value>@(context.Request.Headers.GetValueOrDefault("X-ARR-ClientCert", ""))</value>``
        ``</set-header>`` in ``outbound``.

    What passes:
        Responses built without request certificate headers and without debug headers.

    How to fix:
        portal: APIs > policy editor: remove response headers copied from X-ARR-ClientCert or
            X-Client-Certificate, and X-Debug… / X-Cert… headers.
        cli: az rest --method put …/policies/policy?api-version=2024-05-01 without the echoed
            headers
        arm: policies: properties.value without the echoed or debug headers
        terraform: azurerm_api_management_api_policy.xml_content without the echoed or debug headers
        policy: <set-header name="X-Debug-Certificate" exists-action="delete" />

    References:
        https://learn.microsoft.com/azure/application-gateway/mutual-authentication-overview
        https://learn.microsoft.com/azure/api-management/set-header-policy
    """
    yield from judge_writes(ctx, svc, "certificate headers or debug headers", _carries)


def _carries(write: ResponseWrite) -> str | None:
    found = [header_data(value) for value in write.values]
    headers = [name for names in found if names for name in names]
    if headers:
        names = list(dict.fromkeys(headers))
        return f"the request {'header' if len(names) == 1 else 'headers'} " + ", ".join(names)
    if write.target == "header" and not write.deletes and _DEBUG_HEADER.match(write.header):
        return "a debug-named header"
    return None if None in found else ""
