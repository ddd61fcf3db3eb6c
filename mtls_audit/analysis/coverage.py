"""Client-certificate validation per API, operation and product path, computed once per run.

:func:`inbound_verdict` memoises the analysis of each effective inbound policy (by
``Effective.key``); :func:`path_coverage` turns a verdict into the coverage verdict of one path
(``validated``, ``bypass``, ``not-validated`` or ``indeterminate``) with the reason a reader needs
(no validation, a dropped ``<base/>``, validation only at product scope, validation outside
inbound, a guarding condition); :func:`coverage_rows` is the evidence's ``coverage`` list.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from mtls_audit.analysis.policies import effective_policies
from mtls_audit.model import ids
from mtls_audit.model.build import ServiceModel
from mtls_audit.model.cite import Evidence, PolicyCitation
from mtls_audit.model.service import Tier
from mtls_audit.policy.effective.policies import Effective
from mtls_audit.policy.effective.tree import EffectiveNode, OriginKind
from mtls_audit.policy.inbound.verdicts import (
    FailureKind,
    InboundAnalyser,
    InboundVerdict,
    Outcome,
    dropped_validation,
    outside_inbound,
)

if TYPE_CHECKING:
    from mtls_audit.analysis.context import Context

VALIDATED = "validated"
BYPASS = "bypass"
NOT_VALIDATED = "not-validated"
INDETERMINATE = "indeterminate"
_KEY_KINDS = (FailureKind.UNTRUSTED, FailureKind.WRONG_THUMBPRINT, FailureKind.WRONG_NAME)


class InboundElsewhere(BaseException):
    """Raised in a process that left the inbound verdicts to another
    (:meth:`~mtls_audit.analysis.context.Context.leave_inbound`): the rule asking is judged
    there instead. A ``BaseException``, so that no rule's own ``except Exception`` takes it for
    a failure of the rule."""


def inbound_verdict(ctx: Context, svc: ServiceModel, effective: Effective) -> InboundVerdict:
    """The certificate verdict of an effective policy's inbound section (memoised)."""
    if ctx.inbound_elsewhere:
        raise InboundElsewhere
    analysers = ctx.memo.analysers
    analyser = analysers.get(ids.key(svc.id))
    if analyser is None:
        named_values = effective_policies(ctx, svc).named_values
        analyser = analysers[ids.key(svc.id)] = InboundAnalyser(named_values)
    return analyser.verdict(effective)


def requests_client_certificates(svc: ServiceModel) -> bool | None:
    """Whether the gateway asks for client certificates (MTLS-GW-01's reading); None when it
    cannot be told (unknown tier, unreadable flags)."""
    service = svc.service
    if service.tier is Tier.CLASSIC:
        if service.hostnames_unresolved is not None:
            return None
        proxies = [h.negotiates for h in service.hostnames if h.is_proxy]
        if any(proxies):
            return True
        return None if None in proxies else False
    if service.tier in (Tier.CONSUMPTION, Tier.V2):
        flag = service.props.flag("enableClientCertificate")
        if flag is None and service.props.has("enableClientCertificate"):
            return None
        return bool(flag)
    return None


def policy_citation(ctx: Context, node: EffectiveNode) -> PolicyCitation:
    """``PolicyCitation(*node.place())``, built once per element and document."""
    cache = ctx.memo.citations
    key = (id(node.node), id(node.origin))
    found = cache.get(key)
    if found is None:
        found = cache[key] = PolicyCitation(*node.place())
    return found


def at(node: EffectiveNode) -> str:
    """Where an element is, for messages: ``api:a, line 5``."""
    return f"{node.origin.label}, line {node.line}"


@dataclass(frozen=True, slots=True)
class PathCoverage:
    """Whether one path's effective inbound policy validates the client certificate, and why."""

    verdict: str
    reason: str
    evidence: tuple[Evidence, ...] = ()


_NOT_REQUESTED = PathCoverage(
    NOT_VALIDATED,
    "the gateway does not request client certificates, so none arrives (MTLS-GW-01)",
)


def path_coverage(
    ctx: Context,
    svc: ServiceModel,
    effective: Effective,
    api_id: str,
    operation_id: str | None = None,
    product_id: str | None = None,
) -> PathCoverage:
    """The coverage verdict of one path (memoised: by verdict where the verdict alone decides,
    else by path)."""
    found = policy_coverage(ctx, svc, effective)
    if found is not None:
        return found
    return _placed_coverage(ctx, svc, effective, api_id, operation_id, product_id)


def _placed_coverage(
    ctx: Context,
    svc: ServiceModel,
    effective: Effective,
    api_id: str,
    operation_id: str | None,
    product_id: str | None,
) -> PathCoverage:
    """The coverage of a path whose place decides it (:func:`policy_coverage` is None),
    memoised by path."""
    by_path = ctx.memo.path_coverage
    key = (effective.key, ids.key(api_id), ids.key(operation_id or ""), ids.key(product_id or ""))
    found = by_path.get(key)
    if found is None:
        verdict = inbound_verdict(ctx, svc, effective)
        found = by_path[key] = _not_validated(
            ctx, svc, effective, verdict, api_id, operation_id, product_id
        )
    return found


def policy_coverage(ctx: Context, svc: ServiceModel, effective: Effective) -> PathCoverage | None:
    """The coverage verdict of every path with this effective policy where the policy alone
    decides it; None where the path's place decides (which scope dropped the validation)."""
    requested = ctx.memo.requested
    if svc.id not in requested:
        requested[svc.id] = requests_client_certificates(svc)
    if requested[svc.id] is False:
        return _NOT_REQUESTED
    verdict = inbound_verdict(ctx, svc, effective)
    by_verdict = ctx.memo.verdict_coverage
    if id(verdict) not in by_verdict:
        by_verdict[id(verdict)] = _from_verdict(ctx, verdict)
    return by_verdict[id(verdict)]


def _from_verdict(ctx: Context, verdict: InboundVerdict) -> PathCoverage | None:
    """The coverage the verdict alone decides; None when the reason depends on the path."""
    checks = tuple(policy_citation(ctx, node) for node in verdict.checks)
    if verdict.problems:
        return PathCoverage(INDETERMINATE, "; ".join(verdict.problems), checks)
    missing = verdict[FailureKind.MISSING]
    if missing.outcome is Outcome.UNDECIDABLE:
        return PathCoverage(INDETERMINATE, f"it cannot be decided: {missing.reason}", checks)
    if verdict.from_header:
        header = verdict.source.removeprefix("header:")
        return PathCoverage(
            NOT_VALIDATED,
            f"the policy checks a certificate read from the {header} request header, not the "
            "TLS client certificate",
            tuple(policy_citation(ctx, r.node) for r in verdict.header_reads),
        )
    if verdict.authenticates:
        return _judged(ctx, verdict, checks)
    undecided = verdict.undecided()
    if undecided:
        return PathCoverage(INDETERMINATE, f"it cannot be decided: {undecided[0].reason}", checks)
    return None


def _judged(ctx: Context, verdict: InboundVerdict, checks: tuple[Evidence, ...]) -> PathCoverage:
    key = [verdict[FailureKind.MISSING]] + [
        verdict[kind] for kind in _KEY_KINDS if verdict[kind].tested
    ]
    undecided = [k for k in key if k.outcome is Outcome.UNDECIDABLE]
    if undecided:
        return PathCoverage(INDETERMINATE, f"it cannot be decided: {undecided[0].reason}", checks)
    guarded = [k for k in key if k.outcome is Outcome.BYPASS]
    if guarded:
        condition = guarded[0].conditions[0] if guarded[0].conditions else None
        where = f" ({at(condition.node)})" if condition and condition.node else ""
        named = f"`{condition.text}`{where}" if condition else "a condition of the request"
        evidence = (policy_citation(ctx, condition.node),) if condition and condition.node else ()
        return PathCoverage(
            BYPASS,
            f"validation is guarded by the condition {named}: {guarded[0].counterexample}",
            evidence + checks,
        )
    flawed = [k for k in key if k.outcome is Outcome.NEVER]
    if flawed:
        return PathCoverage(BYPASS, flawed[0].counterexample, checks)
    shown = ", ".join(f"<{n.tag}> ({at(n)})" for n in verdict.checks[:3])
    return PathCoverage(VALIDATED, f"validated by {shown}", checks)


def _not_validated(
    ctx: Context,
    svc: ServiceModel,
    effective: Effective,
    verdict: InboundVerdict,
    api_id: str,
    operation_id: str | None,
    product_id: str | None,
) -> PathCoverage:
    for dropped in dropped_validation(effective.inbound):
        if dropped.checks:
            origin = dropped.drop.origin
            lost = dropped.checks[0]
            return PathCoverage(
                NOT_VALIDATED,
                f"{origin.label} dropped <base/> (its <inbound> at line {dropped.drop.line}): "
                f"the <{lost.tag}> at {at(lost)} is not applied",
                (
                    PolicyCitation(*dropped.place()),
                    *(policy_citation(ctx, n) for n in dropped.checks),
                ),
            )
    if product_id is None:
        found = _product_validation(ctx, svc, api_id, operation_id)
        if found is not None:
            product, node = found
            return PathCoverage(
                NOT_VALIDATED,
                f"validation exists only at product scope (<{node.tag}> at {at(node)}): it is "
                f"not applied for all-APIs or API-scoped subscriptions, nor without one "
                f"(product {ids.last_name(product)})",
                (policy_citation(ctx, node),),
            )
    elsewhere = outside_inbound(effective)
    if elsewhere:
        section, node = elsewhere[0]
        return PathCoverage(
            NOT_VALIDATED,
            f"validation sits in {node.origin.label}'s <{section}> (<{node.tag}> at {at(node)}), "
            "not in inbound: the request has reached the backend or failed before it runs",
            tuple(policy_citation(ctx, n) for _, n in elsewhere),
        )
    if verdict.checks:
        shown = ", ".join(f"<{n.tag}> ({at(n)})" for n in verdict.checks[:3])
        return PathCoverage(
            NOT_VALIDATED,
            f"the certificate checks ({shown}) test neither the chain nor the identity",
            tuple(policy_citation(ctx, n) for n in verdict.checks),
        )
    return PathCoverage(NOT_VALIDATED, "no validation anywhere in the effective inbound policy")


def _product_validation(
    ctx: Context, svc: ServiceModel, api_id: str, operation_id: str | None
) -> tuple[str, EffectiveNode] | None:
    """A product of the API whose path validates with a product-scope element."""
    policies = effective_policies(ctx, svc)
    for product in policies.products_of(api_id):
        verdict = inbound_verdict(ctx, svc, policies.effective(api_id, operation_id, product))
        if not verdict.authenticates:
            continue
        own = [n for n in verdict.checks if n.origin.kind is OriginKind.PRODUCT]
        if own:
            return product, own[0]
    return None


def coverage_rows(ctx: Context) -> list[dict[str, Any]]:
    """The evidence's ``coverage``: one row per service, API, operation and product path
    (made once per run; each effective policy's coverage and each resource's name found once,
    though many paths share them)."""
    if ctx.memo.coverage_rows is not None:
        return ctx.memo.coverage_rows
    rows: list[dict[str, Any]] = []
    names: dict[str, str] = {}

    def name(resource_id: str) -> str:
        found = names.get(resource_id)
        if found is None:
            found = names[resource_id] = ids.last_name(resource_id)
        return found

    for svc in ctx.model.services:
        decided: dict[int, PathCoverage | None] = {}
        for path, effective in effective_policies(ctx, svc).paths():
            if id(effective) not in decided:
                decided[id(effective)] = policy_coverage(ctx, svc, effective)
            operation, product = path.operation_id, path.product_id
            found = decided[id(effective)] or _placed_coverage(
                ctx, svc, effective, path.api_id, operation, product
            )
            rows.append(
                {
                    "service_id": svc.id,
                    "api_id": path.api_id,
                    "api": name(path.api_id),
                    "operation_id": operation,
                    "operation": name(operation) if operation else None,
                    "product": name(product) if product else None,
                    "verdict": found.verdict,
                    "reason": found.reason,
                }
            )
    ctx.memo.coverage_rows = rows
    return rows
