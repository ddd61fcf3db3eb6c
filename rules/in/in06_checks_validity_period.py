"""MTLS-IN-06: expired and not-yet-valid client certificates are rejected."""

from __future__ import annotations

from mtls_audit import api
from mtls_audit.api.policy import FailureKind

from .._validation import Judged, example, validation_rule

_PERIOD = (FailureKind.EXPIRED, FailureKind.NOT_YET_VALID)
_BOUNDS = {
    FailureKind.EXPIRED: "the end (NotAfter)",
    FailureKind.NOT_YET_VALID: "the start (NotBefore)",
}


@validation_rule(id="MTLS-IN-06", severity=api.Severity.HIGH)
def checks_validity_period(item: Judged) -> api.Result:
    """Expired and not-yet-valid client certificates are rejected.

    What it checks:
        For every API (or operation) and product path of a service that requests client
        certificates: the effective inbound policy rejects both expired and not-yet-valid
        certificates: explicit ``NotAfter``/``NotBefore`` comparisons, ``Verify()`` or
        ``VerifyNoRevocation()`` (which fail a certificate outside its validity period), or
        ``validate-client-certificate`` with ``validate-not-after`` and
        ``validate-not-before`` not false. Each missing bound is named. Whether a comparison
        points the right way is MTLS-IN-07's question.

    Why it matters:
        A certificate outside its validity period is no longer (or not yet) vouched for by its
        issuer, and revocation lists drop expired certificates: only the date check stops it.

    Example of a failing configuration:
        ``context.Request.Certificate.NotAfter > DateTime.Now`` as the only check
        (``NotBefore`` is never tested).

    What passes:
        ``<validate-client-certificate validate-not-before="true" validate-not-after="true" />``

    How to fix:
        portal: APIs > Inbound processing: validate-client-certificate with validate-not-before and
            validate-not-after "true" (the defaults).
        cli: az rest --method put …/policies/policy?api-version=2024-05-01 with both checks
        arm: policies: properties.value with validate-not-before="true" validate-not-after="true"
        terraform: azurerm_api_management_policy.xml_content with both validity checks
        policy: context.Request.Certificate.NotAfter < DateTime.UtcNow ||
            context.Request.Certificate.NotBefore > DateTime.UtcNow in the rejecting condition, or
            Verify()

    References:
        https://learn.microsoft.com/azure/api-management/validate-client-certificate-policy
    """
    period = [item.verdict[kind] for kind in _PERIOD]
    settled = item.settled("the validity period", *period)
    if settled is not None:
        return settled
    checks = [node for kind in period for node in kind.checks]
    untested = [kind for kind in period if not kind.tested]
    missing = " nor ".join(_BOUNDS[kind.kind] for kind in untested)
    return item.failed(
        f"nothing checks {missing} of {item.noun}: {example(untested[0])}.",
        *item.cite(checks or item.verdict.checks),
    )
