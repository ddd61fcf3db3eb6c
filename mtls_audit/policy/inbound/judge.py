"""Which failing certificates a compiled inbound program lets through.

Every consistent assignment of the program's atoms (see :mod:`decide`) is a row of a table;
the program runs on all rows at once (each formula evaluated once, on row sets held as bit
masks), and each failure kind is then read off the table. A kind's certificate fails in that
one way and is otherwise as good as can be (its identity, where the policy pins one, is free: it
may match), so "never rejected" means some such certificate gets through.

Atoms fall into three groups. Facts about the judged certificate are what the kinds fix.
*Conditions* (request path, method, other headers: opaque atoms without a certificate) are what
a caller chooses: a kind rejected for some conditions and let through for others is a bypass
under them. *Unknown facts* (opaque facts about the certificate, unresolved named values, flags
that are not literals) are neither: a verdict that hinges on one is undecidable, never a pass.
"""

from __future__ import annotations

import enum
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from operator import itemgetter

from mtls_audit.policy.expressions.atoms import REQUEST, Atom, AtomKind
from mtls_audit.policy.expressions.decide import MAX_ATOMS, TooManyAtoms, rows
from mtls_audit.policy.expressions.logic import And, Const, Formula, If, Not, Var, spend
from mtls_audit.policy.expressions.templates import is_switch
from mtls_audit.policy.expressions.values import LAMBDA
from mtls_audit.policy.inbound.program import Exit, Program, Step, Stop
from mtls_audit.policy.inbound.validate import ISSUER
from mtls_audit.policy.parsing.placeholders import find_placeholders


class FailureKind(enum.Enum):
    """A way a client certificate can fail validation (missing, untrusted, revoked…)."""

    MISSING = "missing"
    UNTRUSTED = "untrusted"
    REVOKED = "revoked"
    EXPIRED = "expired"
    NOT_YET_VALID = "not-yet-valid"
    WRONG_THUMBPRINT = "wrong-thumbprint"
    WRONG_NAME = "wrong-issuer-or-subject"


IDENTITY_KINDS = (FailureKind.WRONG_THUMBPRINT, FailureKind.WRONG_NAME)


class Outcome(enum.Enum):
    """Whether certificates failing a check are rejected: always, never, bypassably, unknown."""

    ALWAYS = "always-rejected"
    NEVER = "never-rejected"
    BYPASS = "bypass"  # rejected or not depending on a condition of the request
    UNDECIDABLE = "undecidable"


_CHAIN = frozenset({AtomKind.CHAIN_VALID, AtomKind.CHAIN_VALID_NO_REVOCATION})
_THUMBPRINTS = frozenset({AtomKind.THUMBPRINT_EQ, AtomKind.IN_DEPLOYMENT_CERTS})
_NAMES = frozenset(
    {AtomKind.ISSUER_EQ, AtomKind.SUBJECT_EQ, AtomKind.NAME_CLAIM, AtomKind.SERIAL_EQ}
)
_TESTED_BY: Mapping[AtomKind, frozenset[FailureKind]] = {
    AtomKind.CERT_NULL: frozenset({FailureKind.MISSING}),
    AtomKind.CHAIN_VALID: frozenset(
        {
            FailureKind.UNTRUSTED,
            FailureKind.REVOKED,
            FailureKind.EXPIRED,
            FailureKind.NOT_YET_VALID,
        }
    ),
    AtomKind.CHAIN_VALID_NO_REVOCATION: frozenset(
        {FailureKind.UNTRUSTED, FailureKind.EXPIRED, FailureKind.NOT_YET_VALID}
    ),
    AtomKind.EXPIRED: frozenset({FailureKind.EXPIRED}),
    AtomKind.NOT_YET_VALID: frozenset({FailureKind.NOT_YET_VALID}),
    **{kind: frozenset({FailureKind.WRONG_THUMBPRINT}) for kind in _THUMBPRINTS},
    **{kind: frozenset({FailureKind.WRONG_NAME}) for kind in _NAMES},
}


@dataclass(frozen=True, slots=True)
class KindResult:
    """The verdict on one failure kind, with element indices (not yet nodes).

    ``witness`` is a certificate (and request) that gets through, ``exit`` how it ends (None:
    forwarded to the backend), ``conditions`` the request conditions (atom and the value that
    lets it through) a bypass hinges on, ``rejections`` the stops that reject this kind,
    ``checks`` the elements that test it.
    """

    kind: FailureKind
    outcome: Outcome
    tested: bool
    checks: tuple[int, ...] = ()
    witness: Mapping[Atom, bool] | None = None
    exit: Exit | None = None
    conditions: tuple[tuple[Atom, bool], ...] = ()
    rejections: frozenset[Exit] = frozenset()
    reason: str = ""
    unknowns: tuple[Atom, ...] = ()  # the unknown facts an undecidable verdict hinges on


Row = tuple[bool, ...]
"""An assignment of a table's atoms, in the table's atom order."""


def row_steps(rows: int) -> int:
    """The budget steps of a pass over ``rows`` rows: a step is about the time of building a
    formula node, which is that of visiting some eight rows."""
    return rows // 8 + 1


class _RowSets:
    """Sets of a table's rows as bit masks (bit ``i`` is row ``i``): a formula is evaluated on
    every row at once, each node of it once however many parents share it, so the work grows
    with the program's size times the rows, not with the size of its formulas written out."""

    def __init__(self, order: tuple[Atom, ...], rows: list[Row]) -> None:
        self.every = (1 << len(rows)) - 1
        self.cost = len(rows) // 4096 + 1  # one operation on bit masks of the rows
        self.masks = {
            atom: int("".join("1" if row[i] else "0" for row in reversed(rows)) or "0", 2)
            for i, atom in enumerate(order)
        }
        self.done: dict[int, int] = {}
        self.kept: list[Formula] = []  # keeps the ids in ``done`` from being reused

    def of(self, formula: Formula) -> int:
        """The rows where ``formula`` (which never throws: the program's formulas are split
        into "throws" and "holds") is true."""
        found = self.done.get(id(formula))
        if found is not None:
            return found
        spend(self.cost)
        if isinstance(formula, Const):
            found = self.every if formula.value is True else 0
        elif isinstance(formula, Var):
            found = self.masks[formula.atom]
        elif isinstance(formula, Not):
            found = self.every & ~self.of(formula.operand)
        elif isinstance(formula, If):
            cond = self.of(formula.cond)
            found = (cond & self.of(formula.then)) | (self.every & ~cond & self.of(formula.other))
        elif isinstance(formula, And):
            found = self.every
            for operand in formula.operands:
                found &= self.of(operand)
        else:
            found = 0
            for operand in formula.operands:
                found |= self.of(operand)
        self.done[id(formula)] = found
        self.kept.append(formula)
        return found

    def run(self, steps: tuple[Step, ...], alive: int, stops: list[tuple[int, Exit]]) -> int:
        """Run the rows in ``alive`` through ``steps``: add to ``stops`` the rows each exit
        stops; return the rows that go on."""
        for step in steps:
            if isinstance(step, Exit):
                stopped = alive & self.of(step.when)
                stops.append((stopped, step))
                alive &= ~stopped
                continue
            rest, through = alive, 0
            for arm in step.arms:
                threw = rest & self.of(arm.throws)
                stops.append((threw, Exit(arm.throws, Stop.ERROR, arm.node, 500, "error")))
                rest &= ~threw
                taken = rest & self.of(arm.holds)
                rest &= ~taken
                through |= self.run(arm.steps, taken, stops)
            alive = through | self.run(step.otherwise, rest, stops)
        return alive


def accepted(stopped: Exit | None) -> bool:
    return stopped is None or stopped.stop is Stop.SERVE


def primary_source(program: Program) -> str:
    """The certificate the policy judges: the handshake certificate if anything tests it, else
    the first header certificate tested, else the handshake certificate (nothing is tested)."""
    sources = [
        a.source for test in program.tests for a in test.atoms if a.kind is not AtomKind.OPAQUE
    ]
    if any(s in (REQUEST, ISSUER) for s in sources) or any(t.flags for t in program.tests):
        return REQUEST
    return next((s for s in sources if s.startswith("header:")), REQUEST)


def _of(atom: Atom, source: str) -> bool:
    return atom.source == source or (source == REQUEST and atom.source == ISSUER)


def _unknown(atom: Atom, source: str) -> bool:
    """An opaque fact that neither the caller nor the certificate's kind decides."""
    if atom.kind is not AtomKind.OPAQUE:
        return False
    if atom.source in (source, REQUEST, ISSUER, LAMBDA):
        return True
    if is_switch(atom.text):
        return False  # a Terraform directive's choice: a condition fixed at deployment
    stripped = atom.text
    for found in find_placeholders(atom.text):
        stripped = stripped.replace(found.text, "")
    return not atom.source and bool(find_placeholders(atom.text)) and not stripped.strip()


def tested_kinds(program: Program, source: str) -> dict[FailureKind, tuple[int, ...]]:
    """The kinds each element tests, by kind: the elements testing it (document order)."""
    found: dict[FailureKind, list[int]] = defaultdict(list)
    for test in program.tests:
        kinds: set[FailureKind] = set()
        if test.flags is not None and source == REQUEST:
            flags = test.flags
            kinds.add(FailureKind.MISSING)
            checks = (
                (flags.trust is not False, FailureKind.UNTRUSTED),
                (flags.revocation is not False, FailureKind.REVOKED),
                (flags.not_after is not False, FailureKind.EXPIRED),
                (flags.not_before is not False, FailureKind.NOT_YET_VALID),
                (flags.thumbprint_pins, FailureKind.WRONG_THUMBPRINT),
                (flags.name_pins, FailureKind.WRONG_NAME),
            )
            kinds |= {kind for held, kind in checks if held}
        elif test.flags is None:
            for atom in test.atoms:
                if _of(atom, source):
                    kinds |= _TESTED_BY.get(atom.kind, frozenset())
                    if atom.source == ISSUER:
                        kinds.add(FailureKind.WRONG_NAME)
        for kind in kinds:
            if test.node not in found[kind]:
                found[kind].append(test.node)
    return {kind: tuple(sorted(nodes)) for kind, nodes in found.items()}


def given(kind: FailureKind, source: str, present: frozenset[Atom]) -> dict[Atom, bool]:
    """The facts of a certificate failing in ``kind`` alone, over the atoms ``present``.

    The facts are closed under what a certificate implies (an expired certificate fails
    ``Verify()``, a missing one has no fields), so they hold whichever atoms the policy tests.
    A certificate of either identity kind matches none of the identities the policy accepts
    (no pinned thumbprint, no pinned name): an allow-list is a set of alternatives (one
    ``<identity>`` by thumbprint, another by subject and issuer), and "a wrong identity is
    rejected" is relative to that set, not to each kind of claim alone.
    """
    facts = {
        Atom(AtomKind.CERT_NULL, source): kind is FailureKind.MISSING,
        Atom(AtomKind.CHAIN_VALID, source): kind in IDENTITY_KINDS,
        Atom(AtomKind.CHAIN_VALID_NO_REVOCATION, source): kind
        in (FailureKind.REVOKED, *IDENTITY_KINDS),
        Atom(AtomKind.EXPIRED, source): kind is FailureKind.EXPIRED,
        Atom(AtomKind.NOT_YET_VALID, source): kind is FailureKind.NOT_YET_VALID,
    }
    for atom in present:
        if atom.kind is AtomKind.OPAQUE or not _of(atom, source):
            continue
        if kind is FailureKind.MISSING and atom.source == source:
            facts.setdefault(atom, False)  # a missing certificate has no fields
        elif kind in IDENTITY_KINDS and (
            (atom.kind in _THUMBPRINTS and atom.source == source)
            or atom.kind in _NAMES
            or atom.source == ISSUER
        ):
            facts[atom] = False
    return {atom: held for atom, held in facts.items() if atom in present}


@dataclass(frozen=True)
class Table:
    """Every consistent assignment of a program's atoms (rows, in ``atoms`` order) and where
    it stops; ``stops`` holds the rows each exit stops as a bit mask (bit ``i``: row ``i``),
    ``masks`` the rows where each atom holds."""

    atoms: tuple[Atom, ...]
    rows: tuple[tuple[Row, Exit | None], ...]
    stops: tuple[tuple[int, Exit], ...] = ()
    masks: Mapping[Atom, int] = field(default_factory=dict)
    _keys: dict[tuple[int, ...], list[Row]] = field(default_factory=dict, compare=False)
    _through: list[bool] = field(default_factory=list, compare=False)

    def positions(self, facts: Mapping[Atom, bool]) -> tuple[tuple[int, bool], ...]:
        return tuple((self.atoms.index(atom), held) for atom, held in facts.items())

    def where(self, facts: Mapping[Atom, bool]) -> int:
        """The rows that agree with ``facts``."""
        every = (1 << len(self.rows)) - 1
        found = every
        for atom, held in facts.items():
            found &= self.masks[atom] if held else every & ~self.masks[atom]
        return found

    def through(self) -> list[bool]:
        """Whether each row's request gets through (computed once per table)."""
        found = self._through
        if not found and self.rows:
            found.extend(accepted(stopped) for _, stopped in self.rows)
        return found

    def keys(self, positions: tuple[int, ...]) -> list[Row]:
        """Each row's values at ``positions`` (computed once per table and positions)."""
        found = self._keys.get(positions)
        if found is None:
            if len(positions) > 1:
                pick = itemgetter(*positions)
                found = [pick(row) for row, _ in self.rows]
            else:
                found = [tuple(row[i] for i in positions) for row, _ in self.rows]
            self._keys[positions] = found
        return found


def _bits(mask: int) -> Iterator[int]:
    """The set bits of ``mask``, lowest first."""
    bits = bin(mask)[:1:-1]  # bit i is character i
    at = bits.find("1")
    while at >= 0:
        yield at
        at = bits.find("1", at + 1)


def table(program: Program) -> Table | str:
    """The table, or why it cannot be built (too many atoms)."""
    present = program.atoms
    order = tuple(sorted(present, key=str))
    try:
        facts = list(rows(order, bound=MAX_ATOMS))
    except TooManyAtoms as exc:
        return f"the inbound logic tests {exc}"
    spend(row_steps(len(facts)))
    sets = _RowSets(order, facts)
    stops: list[tuple[int, Exit]] = []
    sets.run(program.steps, sets.every, stops)
    found: list[Exit | None] = [None] * len(facts)
    for mask, stop in stops:
        for at in _bits(mask):
            found[at] = stop
    return Table(order, tuple(zip(facts, found, strict=True)), tuple(stops), sets.masks)


@dataclass(slots=True)
class _Cell:
    """The rows of one request condition and one certificate: the first of them, whether
    every one gets through, whether some one does."""

    first: int
    every: bool
    some: bool


def judge(
    kind: FailureKind, source: str, program: Program, facts: Table, checks: tuple[int, ...]
) -> KindResult:
    spend(row_steps(len(facts.rows)))
    present = frozenset(facts.atoms)
    fixed = facts.where(given(kind, source, present))
    cert = tuple(
        i for i, a in enumerate(facts.atoms) if _of(a, source) and a.kind is not AtomKind.OPAQUE
    )
    unknown = [i for i, a in enumerate(facts.atoms) if _unknown(a, source)]
    conditions = tuple(i for i in range(len(facts.atoms)) if i not in cert and i not in unknown)
    rejections = {stop for mask, stop in facts.stops if mask & fixed and not accepted(stop)}
    o_keys, c_keys, through = facts.keys(conditions), facts.keys(cert), facts.through()
    # Conditions under which no request gets in (an unrelated rejection) say nothing.
    open_ = {o_keys[i] for i, held in enumerate(through) if held}
    cells: dict[tuple[Row, Row], _Cell] = {}
    for i in _bits(fixed):
        o_key = o_keys[i]
        if o_key not in open_:
            continue
        held = through[i]
        cell = cells.get((o_key, c_keys[i]))
        if cell is None:
            cells[o_key, c_keys[i]] = _Cell(i, held, held)
        else:
            cell.every &= held
            cell.some |= held
    groups: dict[Row, dict[Row, _Cell]] = {}
    for (o_key, c_key), cell in cells.items():
        groups.setdefault(o_key, {})[c_key] = cell
    tested = bool(checks)
    definite = {
        o: next((c for c, cell in cs.items() if cell.every), None) for o, cs in groups.items()
    }
    possible = {o for o, cs in groups.items() if any(cell.some for cell in cs.values())}
    base = KindResult(kind, Outcome.ALWAYS, tested, checks, rejections=frozenset(rejections))
    if not groups or not possible:
        return base
    sure = [o for o, c in definite.items() if c is not None]
    if not sure:
        hinges = tuple(sorted({facts.atoms[i] for i in unknown}, key=lambda a: a.text))
        return replace(
            base,
            outcome=Outcome.UNDECIDABLE,
            unknowns=hinges,
            reason="it depends on " + "; ".join(a.text for a in hinges)
            if hinges
            else "it cannot be decided",
        )
    o_pass = sure[0]
    c_pass = definite[o_pass]
    assert c_pass is not None
    row, stopped = facts.rows[groups[o_pass][c_pass].first]
    witness = {facts.atoms[i]: row[i] for i in (*cert, *conditions)}
    if len(sure) == len(groups):
        return replace(base, outcome=Outcome.NEVER, witness=witness, exit=stopped)
    others = [o for o in groups if definite[o] is None]
    closest = min(others, key=lambda o: sum(x != y for x, y in zip(o, o_pass, strict=True)))
    hinge = tuple(
        (facts.atoms[i], held)
        for i, held, other in zip(conditions, o_pass, closest, strict=True)
        if held != other
    )
    return replace(base, outcome=Outcome.BYPASS, witness=witness, exit=stopped, conditions=hinge)


def judge_all(
    program: Program, source: str, facts: Table | str, kinds: Iterable[FailureKind] = FailureKind
) -> Iterator[KindResult]:
    """The failure ``kinds`` of the certificate ``source`` (``facts``: the program's table, or
    why there is none)."""
    tests = tested_kinds(program, source)
    for kind in kinds:
        checks = tests.get(kind, ())
        if isinstance(facts, str):
            yield KindResult(kind, Outcome.UNDECIDABLE, bool(checks), checks, reason=facts)
        else:
            yield judge(kind, source, program, facts, checks)
