"""Property tests: random certificate conditions, rendered as C#, analysed into formulas, must
agree with a brute-force interpreter on random requests; and the enumeration of consistent
assignments is sound (never an impossible assignment) and complete (covers every request)."""

from __future__ import annotations

import itertools
from collections.abc import Mapping

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mtls_audit.policy.expressions.atoms import FIELD_KINDS, REQUEST, Atom, AtomKind
from mtls_audit.policy.expressions.conditions import condition
from mtls_audit.policy.expressions.decide import assignments
from mtls_audit.policy.expressions.logic import atoms, evaluate
from mtls_audit.policy.expressions.parser import parse
from tests.policy.cert_model import Request, assignment_for, interpret
from tests.policy.cert_strategies import HEADER_CERT, REQUEST_CERTS, blocks, conditions, requests

_SETTINGS = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
_ANY_CONDITION = st.one_of(
    st.sampled_from(REQUEST_CERTS).flatmap(conditions),
    conditions(HEADER_CERT, header=True),
).map(lambda text: f"@({text})")


def _agrees(text: str, request: Request) -> None:
    formula = condition(text)
    assignment = assignment_for(atoms(formula), request)
    assert evaluate(formula, assignment) == interpret(parse(text), request), (text, str(formula))


@_SETTINGS
@given(st.sampled_from(REQUEST_CERTS).flatmap(conditions), requests())
def test_expression_formula_agrees_with_interpreter(text: str, request: Request) -> None:
    _agrees(f"@({text})", request)


@_SETTINGS
@given(blocks(), requests())
def test_block_formula_agrees_with_interpreter(text: str, request: Request) -> None:
    _agrees(text, request)


@_SETTINGS
@given(conditions(HEADER_CERT, header=True), requests())
def test_header_certificate_formula_agrees_with_interpreter(text: str, request: Request) -> None:
    _agrees(f"@({text})", request)


# -- consistency of the enumeration --------------------------------------------------------------

_CHAIN = (AtomKind.CHAIN_VALID, AtomKind.CHAIN_VALID_NO_REVOCATION)
_PERIOD = (AtomKind.EXPIRED, AtomKind.NOT_YET_VALID)


def _may_equal(a: Atom, b: Atom) -> bool:
    """Whether one value can equal both literals (case-folded where either ignores case)."""
    if a.case_sensitive and b.case_sensitive:
        return a.literal == b.literal
    return str(a.literal).upper() == str(b.literal).upper()


def _violations(assignment: Mapping[Atom, bool]) -> list[str]:
    """The constraints between atoms, written out pairwise (independently of the enumerator)."""
    found: list[str] = []
    held = [atom for atom, value in assignment.items() if value]
    for atom in held:
        same = [o for o in held if o.source == atom.source and o != atom]
        kinds = {o.kind for o in same if o.kind is not AtomKind.OPAQUE}
        if atom.kind is AtomKind.CERT_NULL and kinds:
            found.append(f"{atom} with {kinds}")
        if atom.kind in _PERIOD and kinds & {*_CHAIN, *_PERIOD}:
            found.append(f"{atom} with a valid chain or the other period error")
        if atom.kind is AtomKind.CHAIN_VALID and any(
            a.kind is AtomKind.CHAIN_VALID_NO_REVOCATION and not assignment[a]
            for a in assignment
            if a.source == atom.source
        ):
            found.append(f"{atom} without chain-valid-no-revocation")
        literal = atom.literal
        if atom.kind is AtomKind.THUMBPRINT_EQ and atom.source == REQUEST and literal is not None:
            literal = literal if atom.case_sensitive else literal.upper()
            if len(literal) != 40 or any(c not in "0123456789ABCDEF" for c in literal):
                found.append(f"{atom} can never match a real thumbprint")
    equalities = [a for a in assignment if a.kind in FIELD_KINDS.values() and a.literal]
    for a, b in itertools.permutations(equalities, 2):
        if a.kind is not b.kind or a.source != b.source:
            continue
        if assignment[a] and assignment[b] and not _may_equal(a, b):
            found.append(f"{a} and {b} both hold")
        folded = str(a.literal).upper() == str(b.literal).upper()
        implied = a.case_sensitive and not b.case_sensitive and folded
        if implied and assignment[a] and not assignment[b]:
            found.append(f"{a} holds but {b} does not")
    return found


@_SETTINGS
@given(_ANY_CONDITION, requests())
def test_enumeration_is_sound_and_complete(text: str, request: Request) -> None:
    atom_set = atoms(condition(text))
    enumerated = list(assignments(atom_set))
    for assignment in enumerated:
        assert not _violations(assignment), (text, _violations(assignment))
    assert assignment_for(atom_set, request) in enumerated, text
    assert len({tuple(sorted(a.items(), key=str)) for a in enumerated}) == len(enumerated)
