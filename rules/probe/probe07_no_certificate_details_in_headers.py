"""MTLS-PROBE-07: no response header discloses the certificate the client presented."""

from __future__ import annotations

from collections.abc import Iterator

from mtls_audit import api
from mtls_audit.api.probe import ProbeTarget
from mtls_audit.api.subjects import Probed

from ._probe import none_probed


@api.rule(
    id="MTLS-PROBE-07",
    severity=api.Severity.MEDIUM,
    guide="remove debug logging before production",
    subject=api.subjects.ProbeSubject,
)
def no_certificate_details_in_headers(probed: Probed, ctx: api.Context) -> Iterator[api.Result]:
    """Live responses disclose no client certificate details.

    What it checks:
        Every probed request that got an HTTP answer: no response header holds the
        presented certificate's thumbprint, SHA-256 fingerprint, serial number, subject
        common name or body, and no header is named like a forwarded client certificate
        (``X-ARR-ClientCert``, ``X-Client-Cert*``, ``X-SSL-Client*``, ``X-Cert*``…). The
        probe records the header names, never their values. Indeterminate when no request
        got an HTTP answer; not applicable when no probe ran.

    Why it matters:
        Runtime evidence for MTLS-LEAK-01/03: certificate details in responses help an
        attacker map who is allowed in, and are often debugging left in production.

    Example of a failing configuration:
        The good certificate's answer carried ``X-Client-Thumbprint: 8F4E…``.

    What passes:
        No answered request carried such a header.

    How to fix:
        portal: Remove the <set-header> that copies certificate data into the response (MTLS-LEAK-01
            and MTLS-LEAK-03 cite the policy line).
        policy: <set-header name="X-Client-Thumbprint" exists-action="delete" /> in <outbound>, or
            remove the statement that sets it

    References:
        https://learn.microsoft.com/azure/api-management/set-header-policy
    """
    targets = probed.run.targets_of(probed.subject)
    if not targets:
        yield none_probed(probed, "request")
    for target in targets:
        yield _judge(target, probed.name)


def _judge(target: ProbeTarget, name: str) -> api.Result:
    answered = [a for a in target.attempts if a.status is not None]
    shown = [(a, d) for a in answered for d in a.disclosures]
    if shown:
        listed = "; ".join(f"{d.header} ({d.discloses}, {a.kind})" for a, d in shown)
        return api.failed(
            target.subject,
            f"{target.url}: response headers disclose the presented certificate: {listed}.",
            *(a.cite(target.url) for a in dict.fromkeys(a for a, _ in shown)),
            key=target.url,
            name=name,
        )
    if not answered:
        return api.indeterminate(
            target.subject,
            f"{target.url}: no probed request got an HTTP answer, so no response header "
            "could be read.",
            key=target.url,
            name=name,
        )
    kinds = ", ".join(a.kind for a in answered)
    return api.passed(
        target.subject,
        f"{target.url}: no response header disclosed a certificate ({kinds}).",
        *(a.cite(target.url) for a in answered),
        key=target.url,
        name=name,
    )
