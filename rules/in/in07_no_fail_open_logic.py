"""MTLS-IN-07: every failure the policy tests for leads to rejection."""

from __future__ import annotations

from mtls_audit import api
from mtls_audit.api.policy import Outcome

from .._validation import WORDS, Judged, example, listed, validation_rule


@validation_rule(id="MTLS-IN-07", severity=api.Severity.CRITICAL)
def no_fail_open_logic(item: Judged) -> api.Result:
    """The certificate checks fail closed.

    What it checks:
        For every API (or operation) and product path of a service that requests client
        certificates, each failure its effective inbound policy tests for (no certificate,
        untrusted chain, revoked, expired, not yet valid, another thumbprint, another issuer
        or subject) leads to rejection on its own, whatever else the certificate carries. The
        logic is decided over all consistent certificates, so it catches ``&&`` where ``||``
        belongs, inverted comparisons (``NotAfter > DateTime.UtcNow``), negation mistakes, a
        rejecting branch that answers 2xx/3xx, an ``<otherwise>`` that forwards, and
        ``ignore-error="true"``. A failure names the certificate that gets through and how.
        Not applicable where nothing tests the certificate (MTLS-IN-01 reports that); logic
        with more facts than the decision bound is indeterminate.

    Why it matters:
        A check that exists but lets failing certificates through looks like mutual TLS in a
        review while authenticating nobody: the most misleading state of all.

    Example of a failing configuration:
        ``context.Request.Certificate == null || !context.Request.Certificate.Verify() &&
        context.Request.Certificate.Thumbprint != "…"``: any certificate with a valid chain
        passes whatever its thumbprint.

    What passes:
        ``context.Request.Certificate == null || !context.Request.Certificate.Verify() ||
        context.Request.Certificate.Thumbprint != "…"`` answered with 403.

    How to fix:
        portal: APIs > Inbound processing: join the failure tests with || (any failure rejects),
            compare NotAfter < now, answer 401/403, and drop ignore-error="true".
        cli: az rest --method put …/policies/policy?api-version=2024-05-01 with the corrected
            condition
        arm: policies: properties.value with the corrected condition
        terraform: azurerm_api_management_api_policy.xml_content with the corrected condition
        policy: <when condition="@(context.Request.Certificate == null ||
            !context.Request.Certificate.Verify() || context.Request.Certificate.Thumbprint !=
            "{{client-thumbprint}}")"><return-response><set-status code="403"
            /></return-response></when>

    References:
        https://learn.microsoft.com/azure/api-management/api-management-howto-mutual-certificates-for-clients
        https://learn.microsoft.com/azure/api-management/validate-client-certificate-policy
    """
    tested = [kind for kind in item.verdict.kinds.values() if kind.tested]
    skipped = item.unjudged() or item.unknown(*(tested or item.verdict.undecided()))
    if skipped is not None:
        return skipped
    open_ = [kind for kind in tested if kind.outcome in (Outcome.NEVER, Outcome.BYPASS)]
    checks = item.verdict.checks
    if not open_:
        tested_words = ", ".join(WORDS[kind.kind] for kind in tested)
        return item.passed(
            f"each failure tested of {item.noun} ({tested_words}) is rejected by {listed(checks)}.",
            *item.cite(checks),
        )
    evidence = [k.answered_by for k in open_ if k.answered_by is not None]
    evidence += [c.node for k in open_ for c in k.conditions if c.node is not None]
    return item.failed(
        "failing certificates get through: " + "; ".join(example(k) for k in open_) + ".",
        *item.cite([*evidence, *checks]),
    )
