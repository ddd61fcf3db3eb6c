"""MTLS-PROBE-03: the live gateway rejects an expired client certificate."""

from __future__ import annotations

from collections.abc import Iterator

from mtls_audit import api
from mtls_audit.api.probe import Answer, AttemptKind
from mtls_audit.api.subjects import Probed

from ._probe import CUSTOM, expect


@api.rule(id="MTLS-PROBE-03", severity=api.Severity.HIGH, subject=api.subjects.ProbeSubject)
def expired_certificate_rejected(probed: Probed, ctx: api.Context) -> Iterator[api.Result]:
    """The live gateway rejects an expired client certificate.

    What it checks:
        The probe's ``expired`` attempt (a certificate that expired yesterday, issued by a
        throw-away CA generated for the probe and sent along with it) on every custom gateway
        hostname and path: a refused handshake, 401 or 403 passes, an answer below 400 fails,
        anything else is indeterminate. Not applicable when no probe ran.

    Why it matters:
        An expired certificate may belong to a client whose access ended; accepting it
        defeats the certificate's lifetime as a control.

    Example of a failing configuration:
        A thumbprint pin with no validity check: the expired certificate got 200.

    What passes:
        The handshake refused ("certificate expired"), or 403 from the policy.

    How to fix:
        portal: Check the validity period: validate-not-after and validate-not-before left true, or
            Verify() / NotAfter and NotBefore compared with DateTime.UtcNow.
        policy: <validate-client-certificate validate-not-before="true" validate-not-after="true" />

    References:
        https://learn.microsoft.com/azure/api-management/validate-client-certificate-policy
    """
    return expect(probed, (AttemptKind.EXPIRED,), Answer.REJECTED, CUSTOM)
