"""MTLS-IN-03: the client certificate's chain is verified."""

from __future__ import annotations

from mtls_audit import api
from mtls_audit.api.policy import FailureKind

from .._validation import Judged, example, listed, validation_rule


@validation_rule(id="MTLS-IN-03", severity=api.Severity.HIGH)
def verifies_chain(item: Judged) -> api.Result:
    """The client certificate chain is verified.

    What it checks:
        For every API (or operation) and product path of a service that requests client
        certificates: the effective inbound policy verifies the certificate chain, with
        ``Verify()``, ``VerifyNoRevocation()`` or ``validate-client-certificate`` with
        ``validate-trust`` true (the default; a ``{{named value}}`` is resolved). Where the
        policy instead pins exact certificates by thumbprint (or by a look-up among the
        uploaded certificates), a missing chain check is reported at medium: the TLS handshake
        proves the client holds the pinned certificate's key. Whether the check is sound is
        MTLS-IN-07's question.

    Why it matters:
        Without a chain check, any self-signed certificate that carries the expected names or
        validity dates is accepted: names and dates are chosen by whoever makes the
        certificate.

    Example of a failing configuration:
        ``<when condition="@(context.Request.Certificate == null ||
        context.Request.Certificate.NotAfter < DateTime.Now)">`` (expiry only).

    What passes:
        ``<validate-client-certificate validate-trust="true" … />``, or
        ``!context.Request.Certificate.Verify()`` in the rejecting condition.

    How to fix:
        portal: APIs > Inbound processing: validate-client-certificate with validate-trust="true"
            (upload the issuing CA under Certificates > CA certificates).
        cli: az rest --method put …/policies/policy?api-version=2024-05-01 with
            validate-trust="true"
        arm: policies: properties.value with <validate-client-certificate validate-trust="true" />
        terraform: azurerm_api_management_policy.xml_content with validate-trust="true"
        policy: <validate-client-certificate validate-trust="true" validate-revocation="true" />, or
            !context.Request.Certificate.Verify() in the rejecting condition

    References:
        https://learn.microsoft.com/azure/api-management/validate-client-certificate-policy
        https://learn.microsoft.com/azure/api-management/api-management-howto-mutual-certificates-for-clients
    """
    chain = item.verdict[FailureKind.UNTRUSTED]
    settled = item.settled("the chain", chain, verb="verified")
    if settled is not None:
        return settled
    checks = item.cite(item.verdict.checks)
    if item.verdict.pinned_by_thumbprint:
        pins = item.verdict[FailureKind.WRONG_THUMBPRINT].checks
        return item.failed(
            f"no element verifies the chain of {item.noun}; {listed(pins)} pins exact "
            "certificates by thumbprint, which the TLS handshake ties to the client's key.",
            *checks,
            severity=api.Severity.MEDIUM,
        )
    return item.failed(f"no element verifies the chain of {item.noun}: {example(chain)}.", *checks)
