"""Boolean formulas over certificate atoms, with the three outcomes of an APIM condition.

Evaluating a policy expression gives True, False or :data:`ERROR`: touching a member of a null
certificate throws, which sends the request to ``on-error`` (a 500). ``And``/``Or`` short-circuit
left to right exactly like C# ``&&``/``||``, and ``If`` is the conditional ``c ? a : b``, so a
guarded access (``cert == null || !cert.Verify()``) never throws while an unguarded one does.

Build formulas with :func:`and_`, :func:`or_`, :func:`not_` and :func:`if_`: they fold constants
and use what a short-circuit has already established (in ``a || b``, ``b`` runs only when ``a``
is false), so ``cert == null || !cert.Verify()`` reads as ``cert-null || !chain-valid``.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from enum import Enum
from typing import Literal, TypeAlias

from mtls_audit.policy.atoms import Atom
from mtls_audit.policy.csharp_ast import Span


class _Error(Enum):
    ERROR = "error"

    def __repr__(self) -> str:
        return "ERROR"


ERROR = _Error.ERROR
"""The outcome of a condition that throws (APIM runs ``on-error``)."""

Outcome: TypeAlias = bool | Literal[_Error.ERROR]
Assignment: TypeAlias = Mapping[Atom, bool]


@dataclass(frozen=True)
class Const:
    value: Outcome

    def __str__(self) -> str:
        return "throw" if self.value is ERROR else str(self.value).lower()


@dataclass(frozen=True)
class Var:
    """An occurrence of an atom; ``span`` (offset, length) says where it was written."""

    atom: Atom
    span: Span | None = field(default=None, compare=False)

    def __str__(self) -> str:
        return str(self.atom)


@dataclass(frozen=True)
class Not:
    operand: Formula

    def __str__(self) -> str:
        return f"!{_wrapped(self.operand)}"


@dataclass(frozen=True)
class And:
    operands: tuple[Formula, ...]

    def __str__(self) -> str:
        return " && ".join(_wrapped(op) for op in self.operands)


@dataclass(frozen=True)
class Or:
    operands: tuple[Formula, ...]

    def __str__(self) -> str:
        return " || ".join(_wrapped(op) for op in self.operands)


@dataclass(frozen=True)
class If:
    cond: Formula
    then: Formula
    other: Formula

    def __str__(self) -> str:
        return f"{_wrapped(self.cond)} ? {_wrapped(self.then)} : {_wrapped(self.other)}"


Formula: TypeAlias = Const | Var | Not | And | Or | If

TRUE = Const(True)
FALSE = Const(False)
THROWS = Const(ERROR)


def _wrapped(formula: Formula) -> str:
    return f"({formula})" if isinstance(formula, And | Or | If) else str(formula)


# -- construction -------------------------------------------------------------------------------


def not_(operand: Formula) -> Formula:
    if isinstance(operand, Const):
        return operand if operand.value is ERROR else Const(not operand.value)
    if isinstance(operand, Not):
        return operand.operand
    return Not(operand)


def and_(*operands: Formula) -> Formula:
    return _junction(And, False, operands)


def or_(*operands: Formula) -> Formula:
    return _junction(Or, True, operands)


def _junction(kind: type[And] | type[Or], absorbing: bool, operands: Iterable[Formula]) -> Formula:
    """Flatten, drop neutral constants, stop at the first absorbing or throwing operand, and
    simplify each operand under what the operands before it established."""
    known: dict[Atom, bool] = {}
    kept: list[Formula] = []
    queue = list(operands)
    while queue:
        operand = _assume(queue.pop(0), known)
        if isinstance(operand, kind):
            queue[:0] = operand.operands
            continue
        if isinstance(operand, Const):
            if operand.value is ERROR or operand.value is absorbing:
                kept.append(operand)
                break
            continue
        kept.append(operand)
        # Later operands run only when this one is !absorbing: record the literals that implies.
        for atom, value in _literals(operand, not absorbing):
            known[atom] = value
    if not kept:
        return Const(not absorbing)
    return kept[0] if len(kept) == 1 else kind(tuple(kept))


def _literals(formula: Formula, value: bool) -> Iterator[tuple[Atom, bool]]:
    """Atom values implied by ``formula`` evaluating to ``value``."""
    if isinstance(formula, Var):
        yield formula.atom, value
    elif isinstance(formula, Not):
        yield from _literals(formula.operand, not value)
    elif isinstance(formula, And) and value:
        for operand in formula.operands:
            yield from _literals(operand, True)
    elif isinstance(formula, Or) and not value:
        for operand in formula.operands:
            yield from _literals(operand, False)
    elif isinstance(formula, If):
        # `c ? throw : x` (or `c ? false : x`) being true means c was false and x true.
        for branch, taken in ((formula.then, False), (formula.other, True)):
            if isinstance(branch, Const) and branch.value is not value:
                yield from _literals(formula.cond, taken)
                yield from _literals(formula.other if taken is False else formula.then, value)


def if_(cond: Formula, then: Formula, other: Formula) -> Formula:
    """``cond ? then : other``; ``cond`` throwing makes the whole throw."""
    if isinstance(cond, Const):
        return cond if cond.value is ERROR else (then if cond.value else other)
    then = _assume(then, dict(_literals(cond, True)))
    other = _assume(other, dict(_literals(cond, False)))
    if then == other and not may_throw(cond):
        return then
    if isinstance(then, Const) and then.value is not ERROR:
        return or_(cond, other) if then.value else and_(not_(cond), other)
    if isinstance(other, Const) and other.value is not ERROR:
        return and_(cond, then) if not other.value else or_(not_(cond), then)
    return If(cond, then, other)


def _assume(formula: Formula, known: Mapping[Atom, bool]) -> Formula:
    """``formula`` with the atoms in ``known`` replaced by their values, simplified."""
    if not known:
        return formula
    return substitute(formula, known)


def substitute(formula: Formula, values: Mapping[Atom, bool]) -> Formula:
    """Replace the atoms in ``values`` by constants and simplify."""
    if isinstance(formula, Const):
        return formula
    if isinstance(formula, Var):
        return Const(values[formula.atom]) if formula.atom in values else formula
    if isinstance(formula, Not):
        return not_(substitute(formula.operand, values))
    if isinstance(formula, If):
        return if_(
            *(substitute(part, values) for part in (formula.cond, formula.then, formula.other))
        )
    parts = [substitute(operand, values) for operand in formula.operands]
    return and_(*parts) if isinstance(formula, And) else or_(*parts)


def split(formula: Formula) -> tuple[Formula, Formula]:
    """``(throws, value)``: when ``formula`` throws, and what it is when it does not; neither
    throws. Used where C# evaluates a boolean and goes on (``var ok = …;``)."""
    if isinstance(formula, Const):
        return (TRUE, FALSE) if formula.value is ERROR else (FALSE, formula)
    if isinstance(formula, Var):
        return FALSE, formula
    if isinstance(formula, Not):
        throws, value = split(formula.operand)
        return throws, not_(value)
    if isinstance(formula, If):
        (c_throws, c_value), (t_throws, t_value), (o_throws, o_value) = (
            split(part) for part in (formula.cond, formula.then, formula.other)
        )
        throws = or_(c_throws, if_(c_value, t_throws, o_throws))
        return throws, if_(c_value, t_value, o_value)
    first, *rest = formula.operands
    throws, value = split(first)
    for operand in rest:
        o_throws, o_value = split(operand)
        if isinstance(formula, And):
            throws, value = or_(throws, and_(value, o_throws)), and_(value, o_value)
        else:
            throws, value = or_(throws, and_(not_(value), o_throws)), or_(value, o_value)
    return throws, value


# -- inspection ---------------------------------------------------------------------------------


def _children(formula: Formula) -> tuple[Formula, ...]:
    if isinstance(formula, Not):
        return (formula.operand,)
    if isinstance(formula, And | Or):
        return formula.operands
    if isinstance(formula, If):
        return (formula.cond, formula.then, formula.other)
    return ()


def walk(formula: Formula) -> Iterator[Formula]:
    """Every node of ``formula``, parents before children."""
    stack = [formula]
    while stack:
        node = stack.pop()
        yield node
        stack.extend(reversed(_children(node)))


def occurrences(formula: Formula) -> list[Var]:
    """The atom leaves of ``formula`` in source order, with their spans."""
    return [node for node in walk(formula) if isinstance(node, Var)]


def atoms(formula: Formula) -> frozenset[Atom]:
    return frozenset(leaf.atom for leaf in occurrences(formula))


def may_throw(formula: Formula) -> bool:
    """Whether some assignment makes ``formula`` throw (syntactically: it contains a throw)."""
    return any(node == THROWS for node in walk(formula))


# -- evaluation ---------------------------------------------------------------------------------


def evaluate(formula: Formula, assignment: Assignment) -> Outcome:
    """True, False or ERROR under ``assignment`` (which must give every atom of ``formula``)."""
    if isinstance(formula, Const):
        return formula.value
    if isinstance(formula, Var):
        return assignment[formula.atom]
    if isinstance(formula, Not):
        inner = evaluate(formula.operand, assignment)
        return inner if inner is ERROR else not inner
    if isinstance(formula, If):
        cond = evaluate(formula.cond, assignment)
        if cond is ERROR:
            return ERROR
        return evaluate(formula.then if cond else formula.other, assignment)
    stop = isinstance(formula, Or)
    for operand in formula.operands:
        outcome = evaluate(operand, assignment)
        if outcome is ERROR or outcome is stop:
            return outcome
    return not stop
