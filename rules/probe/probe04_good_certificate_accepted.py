"""MTLS-PROBE-04: the live gateway accepts the user's good certificate."""

from __future__ import annotations

from collections.abc import Iterator

from mtls_audit import api
from mtls_audit.api.probe import Answer, AttemptKind
from mtls_audit.api.subjects import Probed

from ._probe import CUSTOM, expect


@api.rule(
    id="MTLS-PROBE-04",
    severity=api.Severity.MEDIUM,
    guide="test by hand: call the API with the right certificate and expect 200",
    subject=api.subjects.ProbeSubject,
)
def good_certificate_accepted(probed: Probed, ctx: api.Context) -> Iterator[api.Result]:
    """The live gateway accepts a good client certificate.

    What it checks:
        The probe's ``good-certificate`` attempt (the certificate given with
        ``--client-cert``) on every custom gateway hostname and path: an answer below 400
        passes; a refused handshake, 401 or 403 fails; anything else is indeterminate.
        Indeterminate when no good certificate was given; not applicable when no probe ran.

    Why it matters:
        The rejections the other probe rules record mean something only when the same request
        with a good certificate gets through: otherwise the probe may have reached something
        that rejects everything (a wrong path, a firewall) rather than the gateway's check.

    Example of a failing configuration:
        The good certificate answered 403: the pinned thumbprint is the CA's, not the client's.

    What passes:
        The good certificate answered 200.

    How to fix:
        portal: Check that the certificate given to the probe is one the policy accepts (its CA
            uploaded, its thumbprint pinned) and that the probed path exists.

    References:
        https://learn.microsoft.com/azure/api-management/api-management-howto-mutual-certificates-for-clients
    """
    return expect(
        probed,
        (AttemptKind.GOOD_CERTIFICATE,),
        Answer.ACCEPTED,
        CUSTOM,
        missing=" (no good certificate was given: --client-cert)",
    )
