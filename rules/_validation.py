"""Helpers shared by the rules that judge inbound certificate validation.

Each judged subject is an API (or one operation) on one product path with the verdict of its
effective inbound policy (``api.subjects.MtlsPath``: the engine reports services whose gateway
requests no client certificate as not applicable, MTLS-GW-01 judging them, and services whose
policies were not all collected as indeterminate).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from mtls_audit import api
from mtls_audit.api.policy import (
    NO_PRODUCT,
    ApiPath,
    EffectiveNode,
    FailureKind,
    InboundPath,
    InboundVerdict,
    KindVerdict,
    Outcome,
    PathCoverage,
    requests_client_certificates,
)

from . import _guide
from ._common import uncollected

WORDS = {
    FailureKind.MISSING: "a missing certificate",
    FailureKind.UNTRUSTED: "an untrusted chain",
    FailureKind.REVOKED: "a revoked certificate",
    FailureKind.EXPIRED: "an expired certificate",
    FailureKind.NOT_YET_VALID: "a certificate not yet valid",
    FailureKind.WRONG_THUMBPRINT: "another thumbprint",
    FailureKind.WRONG_NAME: "another issuer or subject",
}


def example(kind: KindVerdict) -> str:
    """The counterexample of a kind in words, never empty: when the policy rejects every
    request today there is none to show, and the message says so."""
    if kind.counterexample:
        return kind.counterexample
    if kind.outcome is Outcome.ALWAYS:
        return (
            "no request gets through the policy as written (every certificate is refused), "
            f"so nothing shows the gap yet; it opens once the policy admits {WORDS[kind.kind]}"
        )
    return kind.reason or "the analyser found no certificate to show"


def at(node: EffectiveNode) -> str:
    return f"<{node.tag}> ({node.origin.label}, line {node.line})"


def listed(nodes: Iterable[EffectiveNode], limit: int = 3) -> str:
    shown = list(dict.fromkeys(at(node) for node in nodes))
    more = f" and {len(shown) - limit} more" if len(shown) > limit else ""
    return ", ".join(shown[:limit]) + more


@dataclass(frozen=True, slots=True)
class Judged:
    """One subject (an API or operation on one product path) and its inbound verdict, with
    what messages say of it."""

    ctx: api.Context
    path: InboundPath

    @property
    def svc(self) -> api.ServiceModel:
        return self.path.service

    @property
    def subject(self) -> ApiPath:
        return self.path.path

    @property
    def verdict(self) -> InboundVerdict:
        return self.path.verdict

    def cite(self, nodes: Iterable[EffectiveNode]) -> tuple[api.Evidence, ...]:
        return self.ctx.cite_all(nodes)

    @property
    def label(self) -> str:
        key = self.subject.key
        path = "no product" if key == NO_PRODUCT else key.replace(":", " ", 1)
        return f"{self.subject.name} ({path})"

    @property
    def noun(self) -> str:
        """The certificate the policy judges, for messages."""
        if not self.verdict.from_header:
            return "the client certificate"
        header = self.verdict.source.removeprefix("header:")
        return f"the certificate read from the {header} header"

    @property
    def api_id(self) -> str:
        return self.subject.id.partition("/operations/")[0]

    @property
    def operation_id(self) -> str | None:
        return self.subject.id if "/operations/" in self.subject.id else None

    @property
    def product_id(self) -> str | None:
        if self.subject.key == NO_PRODUCT:
            return None
        name = self.subject.key.removeprefix("product:").lower()
        return next((p.id for p in self.svc.products if p.name.lower() == name), None)

    @property
    def coverage(self) -> PathCoverage:
        return self.ctx.path_coverage(
            self.svc,
            self.subject.effective,
            self.api_id,
            self.operation_id,
            self.product_id,
        )

    def _result(
        self, make: Callable[..., api.Result], message: str, *evidence: api.Evidence, **extra: Any
    ) -> api.Result:
        """A result about this path: ``make`` is ``api.passed``, ``api.failed``, …"""
        subject = self.subject
        label = f"{self.label}: {message}"
        return make(subject.id, label, *evidence, key=subject.key, name=subject.name, **extra)

    def passed(self, message: str, *evidence: api.Evidence) -> api.Result:
        return self._result(api.passed, message, *evidence)

    def failed(
        self, message: str, *evidence: api.Evidence, severity: api.Severity | None = None
    ) -> api.Result:
        return self._result(api.failed, message, *evidence, severity=severity)

    def indeterminate(self, message: str, *evidence: api.Evidence) -> api.Result:
        return self._result(api.indeterminate, message, *evidence)

    def not_applicable(self, message: str) -> api.Result:
        return self._result(api.not_applicable, message)

    def unjudged(self) -> api.Result | None:
        """Not applicable where nothing tests the certificate (MTLS-IN-01 reports that); never
        where something the analyser cannot ctx may test it (then it is undecided)."""
        if self.verdict.checks or self.verdict.problems or self.verdict.undecided():
            return None
        return self.not_applicable(
            "no element tests the client certificate, so there is no check to judge "
            "(MTLS-IN-01 reports the missing validation)."
        )

    def ignored(self, what: str, *kinds: KindVerdict) -> api.Result | None:
        """The failure when a check of ``kinds`` exists but a certificate failing it is not
        always rejected: some such certificate gets through whatever the request
        (``ignore-error="true"``, a test in an empty ``<when>``, ``&&`` where ``||`` belongs: a
        check that lets its failures through verifies nothing), or only under a condition of
        the request (the check sits in one branch of a ``<choose>``)."""
        for kind in kinds:
            if kind.tested and kind.outcome in (Outcome.NEVER, Outcome.BYPASS):
                how = (
                    "lets a certificate failing it through"
                    if kind.outcome is Outcome.NEVER
                    else "can be bypassed"
                )
                return self.failed(
                    f"{what} of {self.noun} is tested by {listed(kind.checks)} but {how}: "
                    f"{example(kind)}.",
                    *self.cite([*kind.checks, *(c.node for c in kind.conditions if c.node)]),
                )
        return None

    def unknown(self, *kinds: KindVerdict) -> api.Result | None:
        """The indeterminate result when the policy (or one of ``kinds``) cannot be decided."""
        if self.verdict.problems:
            return self.indeterminate(
                "the effective inbound policy is not fully known: "
                + "; ".join(self.verdict.problems),
                *self.cite(self.verdict.checks),
            )
        for kind in kinds:
            if kind.outcome is Outcome.UNDECIDABLE:
                return self.indeterminate(
                    f"whether {WORDS[kind.kind]} is rejected cannot be decided: {kind.reason}",
                    *self.cite(kind.checks),
                )
        return None

    def settled(self, what: str, *kinds: KindVerdict, verb: str = "checked") -> api.Result | None:
        """The result when the test of ``what`` (checked by ``kinds``) settles without a
        failure of its own: the path is not judged, the test cannot be decided or lets its
        failures through, or every kind is tested (the pass: "WHAT of NOUN is VERB by …")."""
        early = self.unjudged() or self.unknown(*kinds) or self.ignored(what, *kinds)
        if early is not None or not all(kind.tested for kind in kinds):
            return early
        checks = [node for kind in kinds for node in kind.checks]
        return self.passed(
            f"{what} of {self.noun} is {verb} by {listed(checks)}.", *self.cite(checks)
        )


def validation_rule(
    *,
    id: str,
    severity: api.Severity,
    guide: str = _guide.VALIDATE_IN_POLICY,
    subject: api.SubjectKind[InboundPath] = api.subjects.MtlsPath,
) -> Callable[[Callable[[Judged], api.Result]], api.Rule]:
    """Declare a rule giving one result per API path (by default of a service that requests
    client certificates, for the guide's validation step) from the path's :class:`Judged`
    view; the decorated function is documented like any rule's judge."""

    def wrap(check: Callable[[Judged], api.Result]) -> api.Rule:
        @functools.wraps(check)
        def judge(path: InboundPath, ctx: api.Context) -> Iterator[api.Result]:
            yield check(Judged(ctx, path))

        return api.rule(id=id, severity=severity, guide=guide, subject=subject)(judge)

    return wrap


def service_verdicts(
    ctx: api.Context, svc: api.ServiceModel, *, gated: bool = True
) -> api.Result | list[Judged]:
    """For a rule giving one result per service: the service-level result that ends its
    judgement (policies not all collected; ``gated``: no client certificate requested; no
    API), or else every subject with its verdict."""
    name = svc.service.name
    blocked = list(uncollected(ctx, svc, *api.POLICY_NEEDS))
    if blocked:
        return blocked[0]
    if gated and requests_client_certificates(svc) is False:
        return api.not_applicable(
            svc.id,
            f"{name} does not request client certificates (see MTLS-GW-01): no certificate "
            "reaches its policies to be validated.",
            name=name,
        )
    subjects = [Judged(ctx, p) for p in ctx.inbound_paths(svc)]
    return subjects or api.not_applicable(svc.id, f"{name} has no APIs.", name=name)
