"""MTLS-PROBE-02: the live gateway rejects a self-signed certificate it cannot trust."""

from __future__ import annotations

from collections.abc import Iterator

from mtls_audit import api
from mtls_audit.api.probe import Answer, AttemptKind
from mtls_audit.api.subjects import Probed

from ._probe import CUSTOM, expect


@api.rule(
    id="MTLS-PROBE-02",
    severity=api.Severity.CRITICAL,
    guide="test by hand: call the API with a wrong certificate",
    subject=api.subjects.ProbeSubject,
)
def untrusted_certificate_rejected(probed: Probed, ctx: api.Context) -> Iterator[api.Result]:
    """The live gateway rejects an untrusted client certificate.

    What it checks:
        The probe's ``self-signed`` attempt (a certificate generated for the probe, signed by
        its own key) on every custom gateway hostname and path: a refused handshake, 401 or
        403 passes, an answer below 400 fails, anything else is indeterminate. Not applicable
        when no probe ran.

    Why it matters:
        A gateway that checks only that *a* certificate is present lets anyone in: anybody
        can make a self-signed certificate.

    Example of a failing configuration:
        A policy testing ``context.Request.Certificate != null`` and nothing else: the
        self-signed certificate got 200.

    What passes:
        The handshake refused ("unknown ca"), or 403 from the policy.

    How to fix:
        portal: Verify the chain (validate-trust="true", or Verify() in a policy expression) against
            the uploaded CA certificates, or pin the accepted thumbprints.
        policy: <validate-client-certificate validate-trust="true" /> or
            context.Request.Certificate.Verify()

    References:
        https://learn.microsoft.com/azure/api-management/validate-client-certificate-policy
    """
    return expect(probed, (AttemptKind.SELF_SIGNED,), Answer.REJECTED, CUSTOM)
