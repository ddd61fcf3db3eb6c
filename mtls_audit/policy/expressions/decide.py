"""Consistent assignments of certificate atoms, and deciding questions about formulas.

Atoms are not independent: a certificate has one thumbprint, ``Verify()`` fails an expired
certificate, and so on. Rather than listing such rules pairwise, each certificate is enumerated
as a small set of concrete possibilities (presence, validity period, chain state, one value per
field drawn from the literals the formula mentions, plus "something else") and atoms are read
off them. Every assignment yielded is therefore one a real certificate can produce:

- CERT_NULL: every other atom of that certificate is False (they are never evaluated: reaching
  them throws or is guarded);
- EXPIRED and NOT_YET_VALID exclude each other and each excludes CHAIN_VALID and
  CHAIN_VALID_NO_REVOCATION; CHAIN_VALID implies CHAIN_VALID_NO_REVOCATION;
- two equality atoms of one field with different literals (compared case-folded when either
  ignores case) never both hold; a case-sensitive match implies the case-insensitive one;
- a literal that no real value can equal (a lower-case or spaced thumbprint compared ordinally)
  is always False for the handshake certificate (a header can hold anything);
- SUBJECT_CONTAINS and ISSUER_CONTAINS agree with the name chosen.

Unknown pins and IN_DEPLOYMENT_CERTS are free while the certificate is present; OPAQUE atoms
are always free. Above :data:`MAX_ATOMS` independent facts (the equality atoms of one field
count once) the answer is :attr:`Verdict.UNDECIDABLE`, never a guess.
"""

from __future__ import annotations

import itertools
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from enum import Enum
from operator import itemgetter

from mtls_audit.policy.expressions.atoms import (
    CONTAINS_KINDS,
    FIELD_KINDS,
    LITERAL_KINDS,
    Atom,
    AtomKind,
    realistic,
    sort_key,
)
from mtls_audit.policy.expressions.logic import ERROR, Assignment, Formula, Outcome, atoms, evaluate

MAX_ATOMS = 16
"""Formulas over more atoms than this are not decided (2**16 assignments at most)."""

_VALIDITY = (  # (expired, not yet valid, chain valid, chain valid without revocation)
    (False, False, True, True),
    (False, False, False, True),
    (False, False, False, False),
    (True, False, False, False),
    (False, True, False, False),
)
_FIELD_OF = (
    {kind: name for name, kind in FIELD_KINDS.items()}
    | {kind: name for name, kind in CONTAINS_KINDS.items()}
    | {AtomKind.NAME_CLAIM: "subject"}
)
_CONTAINS = frozenset(CONTAINS_KINDS.values())
_EQUALITY = frozenset(FIELD_KINDS.values())


class TooManyAtoms(Exception):
    """Raised by :func:`assignments` when the atoms exceed the bound."""


class Verdict(Enum):
    FOUND = "found"
    NONE = "none"
    UNDECIDABLE = "undecidable"


@dataclass(frozen=True)
class Decision:
    verdict: Verdict
    witness: Mapping[Atom, bool] | None = None
    reason: str = ""


def find(
    formula: Formula,
    outcomes: Outcome | Iterable[Outcome],
    *,
    given: Assignment | None = None,
    bound: int = MAX_ATOMS,
) -> Decision:
    """Look for a consistent assignment (agreeing with ``given``) under which ``formula``
    evaluates to one of ``outcomes``; the witness covers the formula's atoms and ``given``'s."""
    wanted = {outcomes} if isinstance(outcomes, bool) or outcomes is ERROR else set(outcomes)
    given = given or {}
    try:
        for assignment in assignments(atoms(formula) | given.keys(), given=given, bound=bound):
            if evaluate(formula, assignment) in wanted:
                return Decision(Verdict.FOUND, assignment)
    except TooManyAtoms as exc:
        return Decision(Verdict.UNDECIDABLE, reason=str(exc))
    return Decision(Verdict.NONE)


def assignments(
    atom_set: Iterable[Atom], *, given: Assignment | None = None, bound: int = MAX_ATOMS
) -> Iterator[dict[Atom, bool]]:
    """Every consistent assignment of ``atom_set`` that agrees with ``given``, each once."""
    for combination in itertools.product(*_groups(atom_set, given or {}, bound)):
        merged: dict[Atom, bool] = {}
        for part in combination:
            merged.update(part)
        yield merged


def rows(order: Sequence[Atom], *, bound: int = MAX_ATOMS) -> Iterator[tuple[bool, ...]]:
    """The assignments of :func:`assignments` (same order), each as the values of ``order``'s
    atoms (distinct): a table of 2**16 rows is built without a dictionary per row."""
    groups = _groups(order, {}, bound)
    placed = [atom for group in groups for atom in (group[0] if group else {})]
    parts = [[tuple(world[atom] for atom in group[0]) for world in group] for group in groups]
    where = {atom: index for index, atom in enumerate(placed)}
    permute = itemgetter(*(where[atom] for atom in order)) if len(order) > 1 else None
    for combination in itertools.product(*parts):
        flat = tuple(itertools.chain.from_iterable(combination))
        yield permute(flat) if permute is not None else flat


def _groups(
    atom_set: Iterable[Atom], given: Assignment, bound: int
) -> list[list[dict[Atom, bool]]]:
    """The independent groups of atoms (one per certificate, one per opaque atom), each as its
    possible worlds agreeing with ``given``; their product is every consistent assignment."""
    ordered = sorted(set(atom_set), key=sort_key)
    if _dimensions(ordered) > bound:
        raise TooManyAtoms(f"{len(ordered)} atoms, more than the {bound} that are decided")
    groups: list[list[dict[Atom, bool]]] = []
    free: list[Atom] = []
    by_source: dict[str, list[Atom]] = defaultdict(list)
    for atom in ordered:
        if atom.kind is AtomKind.OPAQUE:
            free.append(atom)
        else:
            by_source[atom.source].append(atom)
    for source_atoms in by_source.values():
        groups.append([w for w in _certificate_worlds(source_atoms) if _agrees(w, given)])
    for atom in free:
        groups.append([w for w in ({atom: False}, {atom: True}) if _agrees(w, given)])
    return groups


def _dimensions(atoms: list[Atom]) -> int:
    """How many independent facts the atoms hold: the equality atoms with known literals of one
    field of one certificate count once together (the field has one value: an allow-list of
    twenty thumbprints is twenty-one worlds, not 2**20), every other atom once."""
    literal = [a for a in atoms if a.kind in _EQUALITY and a.literal is not None]
    fields = {(a.source, _FIELD_OF[a.kind]) for a in literal}
    return len(fields) + len(atoms) - len(literal)


def consistent(assignment: Assignment) -> bool:
    """Whether some certificate (and request) produces ``assignment``."""
    found = assignments(assignment.keys(), given=assignment, bound=len(assignment))
    return next(found, None) is not None


def _agrees(world: Mapping[Atom, bool], given: Assignment) -> bool:
    return all(given.get(atom, value) == value for atom, value in world.items())


def _certificate_worlds(source_atoms: list[Atom]) -> list[dict[Atom, bool]]:
    """The distinct assignments one certificate can give to ``source_atoms``."""
    kinds = {atom.kind for atom in source_atoms}
    worlds: dict[tuple[bool, ...], dict[Atom, bool]] = {}

    def add(world: dict[Atom, bool]) -> None:
        worlds.setdefault(tuple(world[atom] for atom in source_atoms), world)

    if AtomKind.CERT_NULL in kinds:
        add({atom: atom.kind is AtomKind.CERT_NULL for atom in source_atoms})
    unconstrained = [
        a for a in source_atoms if a.unknown_pin or a.kind is AtomKind.IN_DEPLOYMENT_CERTS
    ]
    fields = sorted({_FIELD_OF[a.kind] for a in source_atoms if a.kind in LITERAL_KINDS})
    candidates = [_candidates(name, source_atoms) for name in fields]
    for validity in _VALIDITY:
        for values in itertools.product(*candidates):
            chosen = dict(zip(fields, values, strict=True))
            known = {a: _holds(a, validity, chosen) for a in source_atoms if a not in unconstrained}
            for free in itertools.product((False, True), repeat=len(unconstrained)):
                add(known | dict(zip(unconstrained, free, strict=True)))
    return list(worlds.values())


def _holds(
    atom: Atom, validity: tuple[bool, bool, bool, bool], chosen: dict[str, str | None]
) -> bool:
    expired, not_yet_valid, chain, chain_no_revocation = validity
    kind = atom.kind
    if kind is AtomKind.CERT_NULL:
        return False
    if kind in (AtomKind.EXPIRED, AtomKind.NOT_YET_VALID):
        return expired if kind is AtomKind.EXPIRED else not_yet_valid
    if kind in (AtomKind.CHAIN_VALID, AtomKind.CHAIN_VALID_NO_REVOCATION):
        return chain if kind is AtomKind.CHAIN_VALID else chain_no_revocation
    value = chosen[_FIELD_OF[kind]]
    literal = atom.literal or ""
    if value is None:  # a value equal to no literal, containing none of them
        return kind in _CONTAINS and not literal
    if not atom.case_sensitive:
        value, literal = value.upper(), literal.upper()
    return literal in value if kind in _CONTAINS else literal == value


def _candidates(field: str, source_atoms: list[Atom]) -> list[str | None]:
    """Values worth trying for ``field``: each literal as written, upper- and lower-cased,
    concatenations of the substrings tested with Contains, and a value matching nothing."""
    literals = [a.literal for a in source_atoms if a.literal and _FIELD_OF.get(a.kind) == field]
    contained = sorted(
        {
            a.literal
            for a in source_atoms
            if a.kind in _CONTAINS and a.literal and _FIELD_OF[a.kind] == field
        }
    )
    values = {form for literal in literals for form in (literal, literal.upper(), literal.lower())}
    for size in range(1, len(contained) + 1):
        values.update("; ".join(subset) for subset in itertools.combinations(contained, size))
    source = source_atoms[0].source
    return [*sorted(v for v in values if realistic(field, source, v)), None]
