"""MTLS-LEAK-02: error responses do not carry the gateway's error details."""

from __future__ import annotations

from collections.abc import Iterator

from mtls_audit import api
from mtls_audit.api.policy import ResponseWrite, last_error_data

from ._writes import judge_writes


@api.rule(id="MTLS-LEAK-02", severity=api.Severity.MEDIUM, needs=api.POLICY_NEEDS)
def error_details_in_responses(svc: api.ServiceModel, ctx: api.Context) -> Iterator[api.Result]:
    """Error responses do not return context.LastError details.

    What it checks:
        For every API (or operation) on every product path, the effective ``on-error``
        section does not write ``context.LastError.Message``, ``.Source`` or ``.Reason``
        into the client's response (``set-header``, ``set-body``, ``set-status`` reasons,
        ``return-response``), directly or through a variable set from them, nor the whole
        ``context.LastError`` object (``JsonConvert.SerializeObject(context.LastError)``).
        A value that only branches on the error (``LastError.Source == "validate-jwt" ? … :
        …``) passes. Unreadable expressions that mention those members, and policies that
        cannot be read completely, are indeterminate.

    Why it matters:
        ``LastError`` names the failing policy and explains why it failed: a caller probing
        the API learns which certificate check rejected it (chain, revocation, thumbprint),
        the backend's address or the expression that threw, and can tune the next attempt.

    Example of a failing configuration:
        ``<on-error><set-header name="ErrorMessage" exists-action="override">``
        ``<value>@(context.LastError.Message)</value></set-header></on-error>``

    What passes:
        An ``on-error`` section that returns a generic message with ``context.RequestId`` and
        logs the details with ``trace`` or ``log-to-eventhub``.

    How to fix:
        portal: APIs > policy editor > on-error: return a generic message and a correlation id; send
            context.LastError to a logger or trace.
        cli: az rest --method put …/policies/policy?api-version=2024-05-01 with an on-error section
            that returns no LastError fields
        arm: policies: properties.value whose <on-error> returns only a generic message
        terraform: azurerm_api_management_api_policy.xml_content with a generic on-error response
        policy: <on-error><return-response><set-status code="500" reason="Error"
            /><set-body>@("Request " + context.RequestId + "
            failed")</set-body></return-response></on-error>

    References:
        https://learn.microsoft.com/azure/api-management/api-management-error-handling-policies
    """
    yield from judge_writes(
        ctx, svc, "error details (context.LastError)", _carries, frozenset({"on-error"})
    )


def _carries(write: ResponseWrite) -> str | None:
    found = [last_error_data(value) for value in write.values]
    members = [member for names in found if names for member in names]
    if members:
        shown = (
            f"context.LastError.{m}" if m else "context.LastError (all of it)" for m in members
        )
        return ", ".join(dict.fromkeys(shown))
    return None if None in found else ""
