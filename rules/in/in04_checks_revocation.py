"""MTLS-IN-04: the client certificate's revocation status is checked."""

from __future__ import annotations

from mtls_audit import api
from mtls_audit.api.policy import FailureKind

from .._validation import Judged, example, listed, validation_rule


@validation_rule(id="MTLS-IN-04", severity=api.Severity.MEDIUM)
def checks_revocation(item: Judged) -> api.Result:
    """Client certificate revocation is checked.

    What it checks:
        For every API (or operation) and product path of a service that requests client
        certificates: the effective inbound policy checks revocation, with ``Verify()`` or
        ``validate-client-certificate`` whose ``validate-revocation`` is true (the default).
        ``VerifyNoRevocation()``, ``validate-revocation="false"`` or no chain check at all fail.

    Why it matters:
        A stolen or mis-issued client certificate is revoked at its CA; without the check the
        gateway accepts it until it expires.

    Example of a failing configuration:
        ``<validate-client-certificate validate-revocation="false" validate-trust="true" />``

    What passes:
        ``<validate-client-certificate validate-revocation="true" … />``, or
        ``!context.Request.Certificate.Verify()``.

    How to fix:
        portal: APIs > Inbound processing: validate-client-certificate with
            validate-revocation="true" (the default).
        cli: az rest --method put …/policies/policy?api-version=2024-05-01 with
            validate-revocation="true"
        arm: policies: properties.value with validate-revocation="true"
        terraform: azurerm_api_management_policy.xml_content with validate-revocation="true"
        policy: validate-revocation="true", or Verify() instead of VerifyNoRevocation()

    References:
        https://learn.microsoft.com/azure/api-management/validate-client-certificate-policy
        https://learn.microsoft.com/dotnet/api/system.security.cryptography.x509certificates.x509certificate2.verify
    """
    revoked = item.verdict[FailureKind.REVOKED]
    settled = item.settled("revocation", revoked)
    if settled is not None:
        return settled
    chain = item.verdict[FailureKind.UNTRUSTED].checks
    if chain:
        return item.failed(
            f"the chain check of {item.noun} ({listed(chain)}) skips revocation "
            '(VerifyNoRevocation() or validate-revocation="false"): '
            f"{example(revoked)}.",
            *item.cite(chain),
        )
    return item.failed(
        f"no element checks revocation of {item.noun}: {example(revoked)}.",
        *item.cite(item.verdict.checks),
    )
