"""MTLS-PROBE-05: the built-in *.azure-api.net hostname rejects a request without a
certificate."""

from __future__ import annotations

from collections.abc import Iterator

from mtls_audit import api
from mtls_audit.api.probe import Answer, AttemptKind
from mtls_audit.api.subjects import Probed

from ._probe import DEFAULT, expect


@api.rule(id="MTLS-PROBE-05", severity=api.Severity.HIGH, subject=api.subjects.ProbeSubject)
def default_hostname_rejected(probed: Probed, ctx: api.Context) -> Iterator[api.Result]:
    """The live built-in gateway hostname rejects a request without a certificate.

    What it checks:
        The probe's ``no-certificate`` attempt on the service's built-in ``*.azure-api.net``
        hostname for every probed path: a refused handshake, 401 or 403 passes, an answer
        below 400 fails, anything else is indeterminate. Not applicable when no probe ran.

    Why it matters:
        The built-in hostname cannot negotiate client certificates; if the policy does not
        reject the missing certificate, the same APIs answer there without mutual TLS
        (runtime evidence for MTLS-GW-04).

    Example of a failing configuration:
        ``GET https://contoso.azure-api.net/echo/resource`` answered 200.

    What passes:
        403 on the built-in hostname.

    How to fix:
        portal: Reject a missing certificate in policy (the built-in hostname never carries one), or
            put the service in an internal virtual network so that hostname is not reachable.
        policy: <validate-client-certificate /> in the global <inbound>

    References:
        https://learn.microsoft.com/azure/api-management/api-management-howto-mutual-certificates-for-clients
    """
    return expect(probed, (AttemptKind.NO_CERTIFICATE,), Answer.REJECTED, DEFAULT)
