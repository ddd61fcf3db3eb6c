"""MTLS-PROBE-01: the live gateway rejects a request without a client certificate."""

from __future__ import annotations

from collections.abc import Iterator

from mtls_audit import api
from mtls_audit.api.probe import Answer, AttemptKind
from mtls_audit.api.subjects import Probed

from ._probe import CUSTOM, expect


@api.rule(
    id="MTLS-PROBE-01",
    severity=api.Severity.CRITICAL,
    guide="test by hand: call the API without a certificate and expect 401/403",
    subject=api.subjects.ProbeSubject,
)
def no_certificate_rejected(probed: Probed, ctx: api.Context) -> Iterator[api.Result]:
    """The live gateway rejects a request without a client certificate.

    What it checks:
        The probe's ``no-certificate`` attempt on every custom gateway hostname and probed
        path: a refused TLS handshake, 401 or 403 passes; an answer below 400 fails. Any other
        answer (404, 429, 5xx, no answer), a 401 from an API that requires a subscription key
        the probe did not send, and an attempt that could not be made (DNS, timeout, an
        untrusted server certificate) are indeterminate with what happened. Not applicable
        when no probe ran.

    Why it matters:
        This is the test of operating effectiveness for the whole control: whatever the
        configuration says, a request without a certificate must not reach the backend.

    Example of a failing configuration:
        ``GET https://api.contoso.com/echo/resource`` without a certificate answered 200.

    What passes:
        The same request answered 403, or its TLS handshake refused.

    How to fix:
        portal: Reject a request without a certificate in the effective inbound policy of every API
            (validate-client-certificate, or a <choose> on context.Request.Certificate == null
            returning 403), and make every custom gateway hostname negotiate client certificates.
        policy: <validate-client-certificate validate-trust="true" validate-revocation="true" /> in
            the global <inbound>

    References:
        https://learn.microsoft.com/azure/api-management/api-management-howto-mutual-certificates-for-clients
    """
    return expect(probed, (AttemptKind.NO_CERTIFICATE,), Answer.REJECTED, CUSTOM)
