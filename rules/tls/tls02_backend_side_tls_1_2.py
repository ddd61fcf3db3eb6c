"""MTLS-TLS-02: legacy protocols are off between the gateway and backends."""

from __future__ import annotations

from collections.abc import Iterator

from mtls_audit import api

from ._protocols import BACKEND, judge_protocols


@api.rule(id="MTLS-TLS-02", severity=api.Severity.HIGH, remediation=BACKEND.remediation)
def backend_side_tls_1_2(svc: api.ServiceModel, ctx: api.Context) -> Iterator[api.Result]:
    """The gateway calls backends with TLS 1.2 or later.

    What it checks:
        ``customProperties`` keys ``Microsoft.WindowsAzure.ApiManagement.Gateway.Security.
        Backend.Protocols.{Tls10,Tls11,Ssl30}`` are false (strings compared case-insensitively). An
        absent key means enabled for services created on or before 2018-04-01 and disabled
        after; when the creation date is unknown, absent keys are indeterminate.

    Why it matters:
        Calls to backends carry the same patient data; TLS 1.0/1.1 and SSL 3.0 have known
        weaknesses; HIPAA transmission security and
        NIST SC-8 expect current protocol versions for data in transit.

    Example of a failing configuration:
        ``"Microsoft.WindowsAzure.ApiManagement.Gateway.Security.Backend.Protocols.Tls11":
        "True"``

    What passes:
        All three keys ``"False"`` (or ``false``), or absent on a service created after
        2018-04-01.

    References:
        https://learn.microsoft.com/azure/api-management/api-management-howto-manage-protocols-ciphers
    """
    return judge_protocols(svc, BACKEND)
