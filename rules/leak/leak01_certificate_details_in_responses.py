"""MTLS-LEAK-01: responses do not carry the client certificate's details."""

from __future__ import annotations

from collections.abc import Iterator

from mtls_audit import api
from mtls_audit.api.policy import ResponseWrite, certificate_data

from .. import _guide
from ._writes import judge_writes


@api.rule(
    id="MTLS-LEAK-01",
    severity=api.Severity.HIGH,
    guide=_guide.REMOVE_DEBUG_LOGGING,
    needs=api.POLICY_NEEDS,
)
def certificate_details_in_responses(
    svc: api.ServiceModel, ctx: api.Context
) -> Iterator[api.Result]:
    """Responses do not carry client certificate details.

    What it checks:
        For every API (or operation) on every product path, the effective policy does not
        write members of ``context.Request.Certificate`` (``Thumbprint``, ``Subject``,
        ``Issuer``, ``SerialNumber``, ``RawData``, ``ToString()``…) into the client's
        response: the values of ``set-header``, ``set-body`` and ``set-status`` reasons in
        ``outbound`` and ``on-error``, and inside a ``return-response`` anywhere. Values are
        read with the expression analyser, following ``set-variable`` values written
        earlier; a value that only branches on the certificate (``Verify() ? "ok" : "bad"``)
        writes none of its details. An expression the analyser cannot read that mentions a
        certificate member makes the result indeterminate, as does a policy that cannot be
        read completely.

    Why it matters:
        Echoing the certificate back is a debugging aid that turns into a disclosure: the
        response, cached by proxies and logged by clients, reveals which certificate and CA
        the gateway accepts, the material an attacker needs to target or impersonate a
        client.

    Example of a failing configuration:
        ``<outbound><set-header name="X-Client-Thumbprint" exists-action="override">``
        ``<value>@(context.Request.Certificate.Thumbprint)</value></set-header></outbound>``

    What passes:
        No response header or body built from the certificate; the details go to ``trace``
        or to a logger instead.

    How to fix:
        portal: APIs > policy editor: remove the set-header / set-body that writes
            context.Request.Certificate members into the response.
        cli: az rest --method put …/policies/policy?api-version=2024-05-01 with the debugging
            headers removed
        arm: policies: properties.value without response headers or bodies built from
            context.Request.Certificate
        terraform: azurerm_api_management_api_policy.xml_content without the debugging headers
        policy: <trace
            source="client-certificate">@(context.Request.Certificate?.Thumbprint)</trace> (visible
            to tracing, never to the client)

    References:
        https://learn.microsoft.com/azure/api-management/api-management-howto-mutual-certificates-for-clients
        https://learn.microsoft.com/azure/api-management/api-management-policy-expressions
    """
    yield from judge_writes(ctx, svc, "client certificate details", _carries)


def _carries(write: ResponseWrite) -> str | None:
    found = [certificate_data(value) for value in write.values]
    if True in found:
        return "members of context.Request.Certificate"
    return None if None in found else ""
