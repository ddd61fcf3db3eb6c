"""MTLS-IN-02: a request without a client certificate is rejected."""

from __future__ import annotations

from mtls_audit import api
from mtls_audit.api.policy import FailureKind, Outcome

from .._validation import Judged, listed, validation_rule


@validation_rule(id="MTLS-IN-02", severity=api.Severity.CRITICAL)
def rejects_missing_certificate(item: Judged) -> api.Result:
    """A request without a client certificate is rejected.

    What it checks:
        For every API (or operation) and product path of a service that requests client
        certificates: a request that presents no TLS client certificate is rejected by the
        effective inbound policy, with a 401/403 ``return-response`` or by
        ``validate-client-certificate``. When the only thing that stops it is an expression
        that reads a member of the null certificate (it throws: ``on-error`` answers 500), the
        result is a low-severity failure: the request is stopped, but by accident. A request
        that gets through (no check, a check under a condition such as a path, or a null
        branch answered with 2xx) fails with the way it gets through.

    Why it matters:
        ``context.Request.Certificate`` is null whenever the client sends none, for instance
        through a hostname that does not negotiate certificates; a check that only compares
        thumbprints of a present certificate lets those requests through.

    Example of a failing configuration:
        ``<when condition="@(context.Request.Certificate != null &&
        !context.Request.Certificate.Verify())">`` (no certificate: no rejection).

    What passes:
        ``validate-client-certificate``, or ``context.Request.Certificate == null || …`` in the
        rejecting condition.

    How to fix:
        portal: APIs > All APIs > Inbound processing: validate-client-certificate rejects a missing
            certificate; in a <choose> check, test context.Request.Certificate == null first and
            answer 401/403.
        cli: az rest --method put …/policies/policy?api-version=2024-05-01 with the corrected policy
        arm: policies: properties.value with the null check first in the rejecting condition
        terraform: azurerm_api_management_api_policy.xml_content with the null check
        policy: <when condition="@(context.Request.Certificate == null ||
            !context.Request.Certificate.Verify())"><return-response><set-status code="403"
            /></return-response></when>

    References:
        https://learn.microsoft.com/azure/api-management/api-management-howto-mutual-certificates-for-clients
    """
    missing = item.verdict.tls_missing
    unknown = item.unknown(missing)
    if unknown is not None:
        return unknown
    if missing.outcome is Outcome.ALWAYS:
        stops = [r.node for r in missing.rejections]
        if missing.through_error:
            errors = [r.node for r in missing.rejections if r.how == "error"]
            return item.failed(
                "a request without a client certificate is stopped only because "
                f"{listed(errors)} reads a member of the null certificate: the expression "
                "throws and on-error answers 500, not 401/403.",
                *item.cite(stops),
                severity=api.Severity.LOW,
            )
        return item.passed(
            f"a request without a client certificate is rejected by {listed(stops)}.",
            *item.cite(stops),
        )
    message = missing.counterexample
    if item.verdict.from_header:
        header = item.verdict[FailureKind.MISSING]
        message = f"the policy never tests the TLS client certificate, only {item.noun}"
        if header.counterexample:
            message += f"; {header.counterexample}"
    evidence = [c.node for c in missing.conditions if c.node] + list(item.verdict.checks)
    if missing.answered_by is not None:
        evidence.insert(0, missing.answered_by)
    return item.failed(f"{message}.", *item.cite(evidence))
