"""MTLS-PROBE-08: where the configuration says a path validates, the live gateway agrees."""

from __future__ import annotations

from collections.abc import Iterator

from mtls_audit import api
from mtls_audit.api.policy import PathCoverage
from mtls_audit.api.probe import Answer, AttemptKind, ProbeTarget
from mtls_audit.api.subjects import Probed

from ._probe import custom_targets, none_probed

VALIDATED = "validated"


@api.rule(id="MTLS-PROBE-08", severity=api.Severity.HIGH, subject=api.subjects.ProbeSubject)
def configuration_agrees(probed: Probed, ctx: api.Context) -> Iterator[api.Result]:
    """The live gateway does what its configuration says.

    What it checks:
        For every probed path the snapshot ties to an API operation whose effective inbound
        policy validates the client certificate (the MTLS-IN-01 coverage verdict
        ``validated``), the probe's ``no-certificate`` attempt was rejected. A request
        answered below 400 without a certificate fails, naming the configuration verdict and
        the answer. Paths the configuration does not claim to validate are not applicable
        (MTLS-IN-01 and MTLS-PROBE-01 judge them); unclear answers are indeterminate.

    Why it matters:
        Configuration and reality diverge: a policy can be shadowed by a scope the export did
        not include, a hostname bound differently, or a proxy that terminates TLS in front of
        APIM. A disagreement means the configuration evidence cannot be relied on.

    Example of a failing configuration:
        The configuration says ``validated by validate-client-certificate at global``; the
        gateway answered 200 without a certificate.

    What passes:
        The same path rejected the request without a certificate.

    How to fix:
        portal: Find what differs from the audited configuration: a scope not exported, a hostname
            bound differently, or a proxy in front (Front Door, Application Gateway) that terminates
            TLS and drops the certificate. Audit the live instance, not an export.

    References:
        https://learn.microsoft.com/azure/api-management/api-management-howto-mutual-certificates-for-clients
    """
    targets = [t for t in custom_targets(probed.run, probed.subject) if t.api_id]
    if probed.service is None or not targets:
        yield none_probed(probed, "request tied to an API operation")
        return
    for target in targets:
        yield _judge(ctx, probed.service, target, probed.name)


def _coverage(ctx: api.Context, svc: api.ServiceModel, target: ProbeTarget) -> PathCoverage | None:
    """The configuration's verdict for the probed operation: the first path that does not
    validate, else a validated one; None when the operation is not in the snapshot."""
    found: list[PathCoverage] = []
    for path, effective in ctx.effective_policies(svc).paths():
        if api.same(path.api_id, target.api_id or "") and api.same(
            path.operation_id or "", target.operation_id or ""
        ):
            found.append(
                ctx.path_coverage(svc, effective, path.api_id, path.operation_id, path.product_id)
            )
    return next((f for f in found if f.verdict != VALIDATED), found[0] if found else None)


def _judge(ctx: api.Context, svc: api.ServiceModel, target: ProbeTarget, name: str) -> api.Result:
    key = target.url
    coverage = _coverage(ctx, svc, target)
    if coverage is None:
        return api.indeterminate(
            svc.id, f"{target.url}: the probed operation is not in the snapshot.", key=key,
            name=name,
        )  # fmt: skip
    if coverage.verdict != VALIDATED:
        return api.not_applicable(
            svc.id,
            f"{target.url}: the configuration does not claim validation ({coverage.reason}).",
            key=key,
            name=name,
        )
    attempt = target.attempt(AttemptKind.NO_CERTIFICATE)
    if attempt is None:
        message = f"{target.url}: no request without a certificate was made."
        return api.indeterminate(svc.id, message, key=key, name=name)
    answer = target.answer(attempt)
    said = (
        f"{target.url}: the configuration says {coverage.reason}; without a certificate the "
        f"gateway {target.outcome(attempt)} at {attempt.at}"
    )
    evidence = (attempt.cite(target.url), *coverage.evidence)
    if answer is Answer.ACCEPTED:
        return api.failed(svc.id, f"{said}: they disagree.", *evidence, key=key, name=name)
    if answer is Answer.REJECTED:
        return api.passed(svc.id, f"{said}: they agree.", *evidence, key=key, name=name)
    return api.indeterminate(svc.id, f"{said}, which does not tell.", *evidence, key=key, name=name)
