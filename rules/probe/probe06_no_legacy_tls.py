"""MTLS-PROBE-06: the live gateway refuses TLS 1.0 and 1.1 handshakes."""

from __future__ import annotations

from collections.abc import Iterator

from mtls_audit import api
from mtls_audit.api.probe import Answer, AttemptKind
from mtls_audit.api.subjects import Probed

from ._probe import HOSTS, expect


@api.rule(id="MTLS-PROBE-06", severity=api.Severity.HIGH, subject=api.subjects.ProbeSubject)
def no_legacy_tls(probed: Probed, ctx: api.Context) -> Iterator[api.Result]:
    """The live gateway refuses TLS 1.0 and 1.1.

    What it checks:
        A TLS 1.0 and a TLS 1.1 handshake (only the handshake; nothing is sent) to every
        custom gateway hostname: refused passes, completed fails. Where this machine's
        OpenSSL would not offer the version (its security level or configuration forbids
        it), the result is indeterminate with that reason. Not applicable when no probe ran.

    Why it matters:
        Runtime evidence for MTLS-TLS-01: TLS 1.0 and 1.1 have known weaknesses, and the
        setting that disables them is easy to misread for services created before 2018.

    Example of a failing configuration:
        A TLS 1.0 handshake to ``api.contoso.com`` completed.

    What passes:
        The server answered both with a ``protocol version`` alert.

    How to fix:
        portal: Protocols + ciphers > Client protocol: turn TLS 1.0, TLS 1.1 and SSL 3.0 off
            (MTLS-TLS-01 shows the settings).

    References:
        https://learn.microsoft.com/azure/api-management/api-management-howto-manage-protocols-ciphers
    """
    return expect(probed, (AttemptKind.TLS10, AttemptKind.TLS11), Answer.REJECTED, HOSTS)
