"""Certificate-validation verdicts of effective inbound policies.

For one effective inbound section, :class:`InboundVerdict` says, for each way a client
certificate can be bad (:class:`FailureKind`: missing, untrusted chain, revoked, expired, not
yet valid, another thumbprint, another issuer or subject), whether a request carrying it is
always rejected, never rejected, rejected only under a condition of the request (a bypass), or
undecidable; with a counterexample in words, the elements that test it and how the rejection
happens. It also records where certificates are read from request headers, whether those
headers are deleted first, checks that sit outside inbound, and validation that a scope dropped
by omitting ``<base/>``.

:class:`InboundAnalyser` computes verdicts for one service (one set of named values), memoised
by ``Effective.key`` and, below that, by the elements of the section, so effective policies that
differ only in elements that do not decide anything share one analysis. One analysis may take
:data:`ANALYSIS_BUDGET` steps (formula nodes built, table rows judged); past it, every kind is
undecidable with the reason, never a pass. Its work grows with the number of elements, not with
the number of paths through them (see ``benchmarks/deep_bench.py``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from mtls_audit.policy.effective.policies import Effective
from mtls_audit.policy.effective.tree import Drop, EffectiveNode, EffectiveSection, PolicyPlace
from mtls_audit.policy.expressions.atoms import (
    CONTAINS_KINDS,
    REQUEST,
    Atom,
    AtomKind,
    NamedValueResolver,
    no_named_values,
)
from mtls_audit.policy.expressions.logic import BudgetExceeded, Formula, metered
from mtls_audit.policy.inbound.judge import (
    IDENTITY_KINDS,
    FailureKind,
    KindResult,
    Outcome,
    Table,
    accepted,
    judge_all,
    primary_source,
    table,
)
from mtls_audit.policy.inbound.program import VALIDATE, Program, Stop, compile_section, relevant
from mtls_audit.policy.inbound.words import condition_text, counterexample

__all__ = [
    "Condition",
    "DroppedValidation",
    "FailureKind",
    "HeaderRead",
    "InboundAnalyser",
    "InboundVerdict",
    "KindVerdict",
    "Outcome",
    "Rejection",
    "certificate_checks",
    "dropped_validation",
    "outside_inbound",
]

_CHAIN = frozenset({AtomKind.CHAIN_VALID, AtomKind.CHAIN_VALID_NO_REVOCATION})
_WEAK = {kind: name for name, kind in CONTAINS_KINDS.items()}
ANALYSIS_BUDGET = 200_000
"""Steps (formula nodes built, table rows judged) one inbound section may take; past it every
kind is undecidable, with the reason, never a pass."""


@dataclass(frozen=True, slots=True)
class Rejection:
    """How a failing request is rejected: ``how`` is ``validate-client-certificate``,
    ``return-response``, ``mock-response`` or ``error`` (an expression threw: a 500)."""

    how: str
    status: int | None
    node: EffectiveNode


@dataclass(frozen=True, slots=True)
class Condition:
    """A condition of the request a bypass hinges on: ``holds`` is the value that lets the
    failing certificate through; ``node`` the element that tests it."""

    text: str
    holds: bool
    node: EffectiveNode | None


@dataclass(frozen=True, slots=True)
class KindVerdict:
    """The verdict on one failure kind.

    ``tested``: some element tests this kind (whether or not soundly); ``checks``: those
    elements; ``counterexample``: the failing request that gets through, in words (empty when
    always rejected or undecidable); ``answered_by``: the ``return-response`` that answers it
    with a 1xx-3xx status, if that is how it gets through; ``reason``: why it is undecidable.
    """

    kind: FailureKind
    outcome: Outcome
    tested: bool
    checks: tuple[EffectiveNode, ...] = ()
    counterexample: str = ""
    conditions: tuple[Condition, ...] = ()
    answered_by: EffectiveNode | None = None
    rejections: tuple[Rejection, ...] = ()
    reason: str = ""

    @property
    def rejected(self) -> bool:
        return self.outcome is Outcome.ALWAYS

    @property
    def through_error(self) -> bool:
        """Some rejection of this kind is a thrown expression (a 500), not a 4xx response."""
        return any(r.how == "error" for r in self.rejections)


@dataclass(frozen=True, slots=True)
class HeaderRead:
    """A request header a certificate or thumbprint is read from; ``deleted_by`` is a
    ``<set-header exists-action="delete">`` of it earlier in the section."""

    header: str
    node: EffectiveNode
    deleted_by: EffectiveNode | None


@dataclass(frozen=True, slots=True)
class DroppedValidation:
    """A scope that omitted ``<base/>``, and the certificate checks of the parent it drops."""

    drop: Drop
    checks: tuple[EffectiveNode, ...]

    def place(self) -> PolicyPlace:
        origin = self.drop.origin
        return PolicyPlace(origin.resource_id, origin.label, self.drop.line, "<inbound>")


@dataclass(frozen=True, slots=True)
class InboundVerdict:
    """What an effective inbound section does with client certificates.

    ``source`` is the certificate judged: ``request`` (the TLS handshake's) or
    ``header:<name>`` when the section tests only a certificate read from a header.
    ``tls_missing`` is the verdict on a request without a TLS client certificate whatever the
    source. ``problems`` say why the section is not fully known (then every kind is undecidable).
    Elements are cited as the effective section holds them (their scope, line and excerpt); a
    verdict is shared by every effective section with the same elements from the same documents.
    """

    source: str
    kinds: Mapping[FailureKind, KindVerdict]
    tls_missing: KindVerdict
    checks: tuple[EffectiveNode, ...]
    chain_checks: tuple[EffectiveNode, ...]
    deployment_lookups: tuple[EffectiveNode, ...]
    header_reads: tuple[HeaderRead, ...]
    unsupported: tuple[tuple[EffectiveNode, str], ...] = ()
    problems: tuple[str, ...] = ()
    accepts_any: bool = True
    weak_pins: tuple[tuple[EffectiveNode, str, str], ...] = ()
    """Substring tests of the judged certificate's names (``Subject.Contains``, …): the element,
    the name tested (``subject``/``issuer``) and the text; weak pins, which any CA the chain
    trusts can satisfy."""

    def __getitem__(self, kind: FailureKind) -> KindVerdict:
        return self.kinds[kind]

    @property
    def from_header(self) -> bool:
        return self.source != REQUEST

    @property
    def pinned_by_thumbprint(self) -> bool:
        """Exact certificates are pinned (thumbprints, or the uploaded certificates): a
        certificate with another thumbprint is always rejected."""
        found = self.kinds[FailureKind.WRONG_THUMBPRINT]
        return found.tested and found.rejected

    @property
    def pins_identity(self) -> bool:
        return any(self.kinds[kind].tested for kind in IDENTITY_KINDS)

    @property
    def authenticates(self) -> bool:
        """The handshake certificate's chain or identity is tested."""
        wanted = (FailureKind.UNTRUSTED, *IDENTITY_KINDS)
        return not self.from_header and any(self.kinds[kind].tested for kind in wanted)

    def lets_through(self) -> tuple[KindVerdict, ...]:
        """The kinds a failing certificate gets through with: never rejected or bypassed. An
        identity kind counts when it is tested, or when the other one does not pin identity
        (a policy pinning names accepts a renewed certificate with the same names). A policy
        judging a header certificate also lets a request without a TLS certificate through."""
        found = []
        for kind, verdict in self.kinds.items():
            if verdict.outcome not in (Outcome.NEVER, Outcome.BYPASS):
                continue
            if kind in IDENTITY_KINDS and not verdict.tested:
                other_kind = next(k for k in IDENTITY_KINDS if k is not kind)
                other = self.kinds[other_kind]
                if other.rejected and other.tested:
                    continue
            found.append(verdict)
        if self.from_header and self.tls_missing.outcome in (Outcome.NEVER, Outcome.BYPASS):
            found.append(self.tls_missing)
        return tuple(found)

    def undecided(self) -> tuple[KindVerdict, ...]:
        return tuple(v for v in self.kinds.values() if v.outcome is Outcome.UNDECIDABLE)


def outside_inbound(effective: Effective) -> tuple[tuple[str, EffectiveNode], ...]:
    """Certificate checks in the effective ``backend``, ``outbound`` and ``on-error`` sections,
    with the section each sits in: they run after the request has reached the backend, or
    after a failure."""
    return tuple(
        (name, node)
        for name in ("backend", "outbound", "on-error")
        for node in certificate_checks(effective.section(name))
    )


def dropped_validation(section: EffectiveSection) -> tuple[DroppedValidation, ...]:
    """The scopes that dropped their parent's section, with the checks each drops."""
    return tuple(DroppedValidation(d, certificate_checks(d.parent)) for d in section.dropped)


def certificate_checks(section: EffectiveSection) -> tuple[EffectiveNode, ...]:
    """Elements of a section that check the client certificate, read syntactically (used
    where a section is not analysed: outbound, on-error, and dropped parents)."""
    found = []
    for node in section.iter():
        if node.tag == VALIDATE:
            found.append(node)
        elif node.tag in ("when", "set-variable"):
            text = node.attr("condition") or node.attr("value") or ""
            if "request.certificate" in text.lower():
                found.append(node)
    return tuple(found)


_Shape = tuple[tuple[int, str, tuple[tuple[str, str], ...]], ...]
"""The relevant elements of a section (depth, tag, attributes) in depth-first order: sections
of one shape get one analysis."""
_Placed = tuple[tuple[tuple[int, int, int], ...], tuple[str, ...]]
"""The relevant elements (depth, parsed element, document) and problems of a section: sections
with the same get one verdict."""


@dataclass(frozen=True, slots=True)
class _Core:
    """The analysis of one arrangement of elements (indices, not nodes)."""

    program: Program
    source: str
    kinds: tuple[KindResult, ...]
    tls_missing: KindResult
    accepts_any: bool


class InboundAnalyser:
    """Inbound verdicts for one service: ``named_values`` resolves ``{{placeholders}}``."""

    def __init__(self, named_values: NamedValueResolver = no_named_values) -> None:
        self.named_values = named_values
        self._by_key: dict[str, InboundVerdict] = {}
        self._cores: dict[_Shape, _Core] = {}
        self._verdicts: dict[_Placed, InboundVerdict] = {}
        self._memo: dict[str, Formula] = {}

    @property
    def verdicts(self) -> int:
        """How many effective policies were judged."""
        return len(self._by_key)

    @property
    def analyses(self) -> int:
        """How many distinct arrangements of elements were analysed."""
        return len(self._cores)

    def verdict(self, effective: Effective) -> InboundVerdict:
        """The verdict of an effective policy's inbound section (memoised by its key)."""
        found = self._by_key.get(effective.key)
        if found is None:
            found = self._by_key[effective.key] = self.section_verdict(effective.inbound)
        return found

    def section_verdict(self, section: EffectiveSection) -> InboundVerdict:
        """The verdict of an inbound section. Sections with the same relevant elements from
        the same documents share one verdict; with the same content, one analysis."""
        found = relevant(section.elements)
        nodes = tuple(node for _, node in found)
        problems = tuple(p.message for p in section.problems)
        key = (tuple((depth, id(n.node), id(n.origin)) for depth, n in found), problems)
        verdict = self._verdicts.get(key)
        if verdict is None:
            shape = tuple(
                (depth, n.tag, tuple((a.name.lower(), a.value) for a in n.node.attrs))
                for depth, n in found
            )
            core = self._cores.get(shape)
            if core is None:
                core = self._cores[shape] = self._core(section, nodes)
            verdict = self._verdicts[key] = _verdict(core, nodes, problems)
        return verdict

    def _core(self, section: EffectiveSection, nodes: tuple[EffectiveNode, ...]) -> _Core:
        positions = {id(node): index for index, node in enumerate(nodes)}
        program = _UNREAD
        try:
            with metered(ANALYSIS_BUDGET):
                program = compile_section(
                    section.elements,
                    lambda node: positions[id(node)],
                    self.named_values,
                    self._memo,
                )
                return _judged(program, table(program))
        except BudgetExceeded as exc:
            return _judged(program, f"the inbound logic is too large to decide: {exc}")


_UNREAD = Program((), (), (), (), (), {})
"""The program of a section whose compilation exceeded the budget: nothing is known of it."""


def _judged(program: Program, facts: Table | str) -> _Core:
    source = primary_source(program)
    kinds = tuple(judge_all(program, source, facts))
    tls = (
        kinds[0]
        if source == REQUEST
        else next(judge_all(program, REQUEST, facts, (FailureKind.MISSING,)))
    )
    accepts_any = not isinstance(facts, Table) or any(accepted(s) for _, s in facts.rows)
    return _Core(program, source, kinds, tls, accepts_any)


def _reason(result: KindResult, where: Callable[[Atom], str]) -> str:
    """Why a kind is undecidable, each unknown construct named with its place."""
    if not result.unknowns:
        return result.reason
    named = [f"`{a.text}` ({where(a)})" if where(a) else f"`{a.text}`" for a in result.unknowns]
    return "it depends on what the analyser cannot model: " + "; ".join(named)


def _verdict(
    core: _Core, nodes: tuple[EffectiveNode, ...], problems: tuple[str, ...]
) -> InboundVerdict:
    program = core.program

    def place(index: int) -> str:
        return f"{nodes[index].origin.label}, line {nodes[index].line}"

    def kind_verdict(result: KindResult, source: str) -> KindVerdict:
        checks = tuple(nodes[i] for i in result.checks)
        if problems:
            reason = "the inbound policy is not fully known: " + "; ".join(problems)
            return KindVerdict(
                result.kind, Outcome.UNDECIDABLE, result.tested, checks, reason=reason
            )
        conditions = tuple(
            Condition(
                condition_text(atom),
                holds,
                nodes[program.sites[atom]] if atom in program.sites else None,
            )
            for atom, holds in result.conditions
        )
        stopped = result.exit
        answered = (
            nodes[stopped.node] if stopped is not None and stopped.stop is Stop.SERVE else None
        )
        rejections = tuple(
            Rejection(r.how, r.status, nodes[r.node])
            for r in sorted(result.rejections, key=lambda r: (r.node, r.how, r.status or 0))
        )
        return KindVerdict(
            result.kind,
            result.outcome,
            result.tested,
            checks,
            counterexample(result, source, place),
            conditions,
            answered,
            rejections,
            _reason(
                result, lambda atom: place(program.sites[atom]) if atom in program.sites else ""
            ),
        )

    kinds = {r.kind: kind_verdict(r, core.source) for r in core.kinds}
    tls = (
        kinds[FailureKind.MISSING]
        if core.source == REQUEST
        else kind_verdict(core.tls_missing, REQUEST)
    )
    checks = sorted({i for r in core.kinds for i in r.checks})
    chain = sorted(
        t.node
        for t in program.tests
        if (t.flags is not None and t.flags.trust is not False)
        or (t.flags is None and any(a.kind in _CHAIN for a in t.atoms))
    )
    lookups = sorted(
        {
            t.node
            for t in program.tests
            if any(a.kind is AtomKind.IN_DEPLOYMENT_CERTS for a in t.atoms)
        }
    )
    reads = tuple(
        HeaderRead(
            header,
            nodes[index],
            next(
                (
                    nodes[d]
                    for name, d in program.header_deletes
                    if name == header.lower() and d < index
                ),
                None,
            ),
        )
        for header, index in program.header_reads
    )
    return InboundVerdict(
        core.source,
        kinds,
        tls,
        tuple(nodes[i] for i in checks),
        tuple(nodes[i] for i in dict.fromkeys(chain)),
        tuple(nodes[i] for i in lookups),
        reads,
        tuple((nodes[i], why) for i, why in program.unsupported),
        problems,
        core.accepts_any,
        tuple(
            (nodes[t.node], _WEAK[atom.kind], atom.text if atom.literal is None else atom.literal)
            for t in program.tests
            for atom in sorted(t.atoms, key=str)
            if atom.kind in _WEAK and atom.source == core.source
        ),
    )
