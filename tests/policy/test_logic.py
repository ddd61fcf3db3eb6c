"""The formula type: three-valued short-circuit evaluation, simplification, and decisions."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mtls_audit.policy.expressions.atoms import REQUEST, Atom, AtomKind, header_source
from mtls_audit.policy.expressions.decide import (
    MAX_ATOMS,
    TooManyAtoms,
    Verdict,
    assignments,
    consistent,
    find,
)
from mtls_audit.policy.expressions.logic import (
    ERROR,
    FALSE,
    THROWS,
    TRUE,
    And,
    Formula,
    If,
    Not,
    Or,
    Var,
    and_,
    atoms,
    evaluate,
    if_,
    may_throw,
    not_,
    or_,
    split,
    substitute,
)

NULL = Atom(AtomKind.CERT_NULL)
CHAIN = Atom(AtomKind.CHAIN_VALID)
CHAIN_NR = Atom(AtomKind.CHAIN_VALID_NO_REVOCATION)
EXPIRED = Atom(AtomKind.EXPIRED)
NOT_YET = Atom(AtomKind.NOT_YET_VALID)
T = "3F2A9C1B7D4E6F8091A2B3C4D5E6F708192A3B4C"
T2 = "A1B2C3D4E5F60718293A4B5C6D7E8F9012345678"


def _thumb(literal: str | None, sensitive: bool = True, text: str = "") -> Atom:
    return Atom(AtomKind.THUMBPRINT_EQ, REQUEST, literal, sensitive, text)


def _v(atom: Atom) -> Var:
    return Var(atom)


def test_short_circuit_and_three_values() -> None:
    guarded = Or((_v(NULL), Not(If(_v(NULL), THROWS, _v(CHAIN)))))
    unguarded = Or((Not(If(_v(NULL), THROWS, _v(CHAIN))), _v(NULL)))
    assert evaluate(guarded, {NULL: True, CHAIN: False}) is True
    assert evaluate(unguarded, {NULL: True, CHAIN: False}) is ERROR
    assert evaluate(unguarded, {NULL: False, CHAIN: False}) is True
    assert evaluate(And((FALSE, THROWS)), {}) is False
    assert evaluate(And((TRUE, THROWS)), {}) is ERROR
    assert evaluate(Not(THROWS), {}) is ERROR
    assert evaluate(If(THROWS, TRUE, FALSE), {}) is ERROR


def test_constructors_fold_constants_and_use_what_a_short_circuit_established() -> None:
    null, chain = _v(NULL), _v(CHAIN)
    assert or_(null, not_(if_(null, THROWS, chain))) == Or((null, Not(chain)))
    assert and_(not_(null), if_(null, THROWS, chain)) == And((Not(null), chain))
    assert and_(TRUE, chain) == chain
    assert or_(FALSE, chain, FALSE) == chain
    assert and_(chain, FALSE) == And((chain, FALSE))  # `chain` could still throw in general
    assert and_(THROWS, chain) == THROWS
    assert or_(or_(null, chain), _v(EXPIRED)) == Or((null, chain, _v(EXPIRED)))
    assert not_(not_(chain)) == chain
    assert if_(null, TRUE, chain) == Or((null, chain))
    assert if_(null, chain, chain) == chain
    assert if_(null, THROWS, THROWS) == THROWS
    assert str(if_(null, THROWS, chain)) == "cert-null ? throw : chain-valid"


def test_spans_do_not_change_identity() -> None:
    from mtls_audit.policy.expressions.syntax import Span

    assert Var(NULL, Span(1, 2)) == Var(NULL, Span(9, 9))


# -- the simplifier and split preserve meaning (checked over every assignment) ---------------

_ATOMS = (NULL, CHAIN, EXPIRED)


def _formulas() -> st.SearchStrategy[Formula]:
    choices: list[Formula] = [*(Var(a) for a in _ATOMS), TRUE, FALSE, THROWS]
    leaves = st.sampled_from(choices)

    def extend(inner: st.SearchStrategy[Formula]) -> st.SearchStrategy[Formula]:
        return st.one_of(
            inner.map(Not),
            st.lists(inner, min_size=2, max_size=3).map(lambda ops: And(tuple(ops))),
            st.lists(inner, min_size=2, max_size=3).map(lambda ops: Or(tuple(ops))),
            st.tuples(inner, inner, inner).map(lambda t: If(*t)),
        )

    return st.recursive(leaves, extend, max_leaves=10)


def _rebuilt(formula: Formula) -> Formula:
    """The same formula through the simplifying constructors."""
    if isinstance(formula, Not):
        return not_(_rebuilt(formula.operand))
    if isinstance(formula, And):
        return and_(*(_rebuilt(op) for op in formula.operands))
    if isinstance(formula, Or):
        return or_(*(_rebuilt(op) for op in formula.operands))
    if isinstance(formula, If):
        return if_(_rebuilt(formula.cond), _rebuilt(formula.then), _rebuilt(formula.other))
    return formula


def _every_assignment() -> list[dict[Atom, bool]]:
    return [
        dict(zip(_ATOMS, values, strict=True))
        for values in itertools.product((False, True), repeat=3)
    ]


@settings(max_examples=300, deadline=None)
@given(_formulas())
def test_simplification_preserves_every_outcome(formula: Formula) -> None:
    simplified = _rebuilt(formula)
    for assignment in _every_assignment():
        assert evaluate(simplified, assignment) == evaluate(formula, assignment), str(simplified)


@settings(max_examples=300, deadline=None)
@given(_formulas())
def test_split_separates_the_throw_from_the_value(formula: Formula) -> None:
    throws, result = split(formula)
    assert not may_throw(throws)
    assert not may_throw(result)
    for assignment in _every_assignment():
        outcome = evaluate(formula, assignment)
        assert evaluate(throws, assignment) is (outcome is ERROR)
        if outcome is not ERROR:
            assert evaluate(result, assignment) is outcome


def test_substitute_and_atoms() -> None:
    formula = or_(_v(NULL), not_(_v(CHAIN)))
    assert atoms(formula) == {NULL, CHAIN}
    assert substitute(formula, {NULL: False}) == Not(_v(CHAIN))
    assert substitute(formula, {NULL: True}) == TRUE


# -- consistent assignments --------------------------------------------------------------------


def test_a_missing_certificate_makes_every_other_atom_of_it_false() -> None:
    found = list(assignments({NULL, CHAIN, _thumb(T), _thumb(None, text="{{pin}}")}))
    absent = [a for a in found if a[NULL]]
    assert absent == [
        {NULL: True, CHAIN: False, _thumb(T): False, _thumb(None, text="{{pin}}"): False}
    ]
    assert len(found) == 1 + 2 * 2 * 2


def test_validity_period_and_chain() -> None:
    found = {
        tuple(a[x] for x in (CHAIN, CHAIN_NR, EXPIRED, NOT_YET))
        for a in assignments({CHAIN, CHAIN_NR, EXPIRED, NOT_YET})
    }
    assert found == {
        (True, True, False, False),
        (False, True, False, False),
        (False, False, False, False),
        (False, False, True, False),
        (False, False, False, True),
    }


def test_one_thumbprint_per_certificate_and_case_folding() -> None:
    exact, other, folded = _thumb(T), _thumb(T2), _thumb(T.lower(), sensitive=False)
    lower_exact = _thumb(T.lower())
    found = list(assignments({exact, other, folded, lower_exact}))
    assert all(not (a[exact] and a[other]) for a in found)
    assert all(a[folded] for a in found if a[exact])  # sensitive implies insensitive
    assert all(not a[lower_exact] for a in found)  # a real thumbprint is upper case
    assert {a[exact] for a in found} == {True, False}


def test_a_header_thumbprint_can_be_anything() -> None:
    header = header_source("X-ARR-ClientCertThumbprint")
    lower = Atom(AtomKind.THUMBPRINT_EQ, header, T.lower())
    assert {a[lower] for a in assignments({lower})} == {True, False}
    request_lower = _thumb(T.lower())
    assert not consistent({request_lower: True, lower: True})
    assert consistent({request_lower: False, lower: True})


def test_subject_containment_agrees_with_the_subject() -> None:
    eq = Atom(AtomKind.SUBJECT_EQ, REQUEST, "CN=client, O=Contoso")
    contains = Atom(AtomKind.SUBJECT_CONTAINS, REQUEST, "O=Contoso")
    other = Atom(AtomKind.SUBJECT_CONTAINS, REQUEST, "CN=admin")
    found = list(assignments({eq, contains, other}))
    assert all(a[contains] and not a[other] for a in found if a[eq])
    assert {(a[contains], a[other]) for a in found if not a[eq]} == {
        (False, False),
        (True, False),
        (False, True),
        (True, True),
    }


@pytest.mark.parametrize(
    "impossible",
    [
        {NULL: True, CHAIN: True},
        {EXPIRED: True, CHAIN_NR: True},
        {NOT_YET: True, EXPIRED: True},
        {CHAIN: True, CHAIN_NR: False},
        {_thumb(T): True, _thumb(T2): True},
        {_thumb(T): True, _thumb(T.lower(), sensitive=False): False},
        {_thumb(" ".join(T)): True},
    ],
)
def test_consistent_refuses_what_no_certificate_produces(impossible: dict[Atom, bool]) -> None:
    assert not consistent(impossible)


def test_opaque_atoms_are_free_and_the_bound_is_enforced() -> None:
    opaque = [Atom(AtomKind.OPAQUE, "", text=f"c{i}") for i in range(MAX_ATOMS + 1)]
    assert len(list(assignments(opaque[:4]))) == 16
    with pytest.raises(TooManyAtoms):
        list(assignments(opaque))
    decision = find(or_(*(Var(a) for a in opaque)), False)
    assert decision.verdict is Verdict.UNDECIDABLE
    assert "17 atoms" in decision.reason


def test_find_returns_a_witness_that_evaluates_as_asked() -> None:
    reject = or_(_v(NULL), _v(EXPIRED))  # forgets the chain
    decision = find(reject, False, given={CHAIN: False})
    assert decision.verdict is Verdict.FOUND
    assert decision.witness is not None
    assert decision.witness[CHAIN] is False
    assert evaluate(reject, decision.witness) is False
    assert find(reject, False, given={NULL: True}).verdict is Verdict.NONE
    assert find(if_(_v(NULL), THROWS, _v(CHAIN)), [ERROR, True], given={NULL: True}).witness
