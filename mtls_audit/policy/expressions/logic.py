"""Boolean formulas over certificate atoms, with the three outcomes of an APIM condition.

Evaluating a policy expression gives True, False or :data:`ERROR`: touching a member of a null
certificate throws, which sends the request to ``on-error`` (a 500). ``And``/``Or`` short-circuit
left to right exactly like C# ``&&``/``||``, and ``If`` is the conditional ``c ? a : b``, so a
guarded access (``cert == null || !cert.Verify()``) never throws while an unguarded one does.

Build formulas with :func:`and_`, :func:`or_`, :func:`not_` and :func:`if_`: they fold constants
and use what a short-circuit has already established (in ``a || b``, ``b`` runs only when ``a``
is false), so ``cert == null || !cert.Verify()`` reads as ``cert-null || !chain-valid``.

A policy's formulas share their parts (a variable set by one ``<choose>`` is read by every later
condition), so everything here works on them as DAGs, and an analysis runs under a
:class:`Budget` (:func:`metered`) that counts its steps and stops it past a limit.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Literal, TypeAlias, TypeVar

from mtls_audit.policy.expressions.atoms import Atom
from mtls_audit.policy.expressions.syntax import Span


class _Error(Enum):
    ERROR = "error"

    def __repr__(self) -> str:
        return "ERROR"


ERROR = _Error.ERROR
"""The outcome of a condition that throws (APIM runs ``on-error``)."""

Outcome: TypeAlias = bool | Literal[_Error.ERROR]
Assignment: TypeAlias = Mapping[Atom, bool]


# -- the work budget ----------------------------------------------------------------------------


class BudgetExceeded(Exception):
    """Raised when an analysis builds more formula nodes (or evaluates more rows) than its
    :class:`Budget` allows; the caller reports the question undecided, never a pass."""


@dataclass
class Budget:
    """Steps spent by an analysis: formula nodes built, plus whatever the caller charges with
    :func:`spend`. ``limit`` None only counts. Budgets nest: a step is charged to each
    enclosing budget. The budget also holds the analysis's shared nodes and simplifications,
    so the steps an analysis takes do not depend on what ran before it."""

    limit: int | None
    spent: int = 0
    outer: Budget | None = None
    shared: dict[tuple[object, ...], Formula] = field(default_factory=dict, repr=False)
    substituted: dict[tuple[Formula, frozenset[tuple[Atom, bool]]], Formula] = field(
        default_factory=dict, repr=False
    )


_ACTIVE: ContextVar[Budget | None] = ContextVar("formula_budget", default=None)


@contextmanager
def metered(limit: int | None = None) -> Iterator[Budget]:
    """Count (and with ``limit``, bound) the steps spent inside the block."""
    budget = Budget(limit, outer=_ACTIVE.get())
    token = _ACTIVE.set(budget)
    try:
        yield budget
    finally:
        _ACTIVE.reset(token)


def spend(steps: int) -> None:
    """Charge ``steps`` to the active budgets; raise :class:`BudgetExceeded` past a limit."""
    budget = _ACTIVE.get()
    while budget is not None:
        budget.spent += steps
        if budget.limit is not None and budget.spent > budget.limit:
            raise BudgetExceeded(f"the analysis exceeded its budget of {budget.limit:,} steps")
        budget = budget.outer


# -- formulas -----------------------------------------------------------------------------------


class _Node:
    """What every formula node shares. Formulas are DAGs: a value read by several later
    conditions appears in each of them as the same object. So a node computes its hash, its
    atoms and whether it may throw once, from its children's, and compares children by identity
    first; walking a formula as a tree (which costs its tree size, exponential in its DAG size
    for a chain of ``<choose>`` blocks) is left to the few places that want every occurrence.
    Building a node spends one step of the active :class:`Budget`."""

    _key: tuple[object, ...]
    _hash: int
    atom_set: frozenset[Atom]
    throws: bool

    def _seal(
        self,
        key: tuple[object, ...],
        children: tuple[Formula, ...] = (),
        own: frozenset[Atom] = frozenset(),
        throws: bool = False,
    ) -> None:
        """Set what the node computes once: its key, hash, atoms and "may throw" flag."""
        spend(1)
        seal = object.__setattr__
        seal(self, "_key", key)
        seal(self, "_hash", hash((type(self).__name__, *key)))
        if len(children) == 1:
            seal(self, "atom_set", children[0].atom_set)
        else:
            seal(self, "atom_set", own.union(*(child.atom_set for child in children)))
        seal(self, "throws", throws or any(child.throws for child in children))

    def __hash__(self) -> int:
        return self._hash

    def __eq__(self, other: object) -> bool:
        if self is other:
            return True
        if not isinstance(other, _Node) or type(other) is not type(self):
            return NotImplemented
        return self._hash == other._hash and self._key == other._key


@dataclass(frozen=True, eq=False)
class Const(_Node):
    value: Outcome

    def __post_init__(self) -> None:
        self._seal((self.value,), throws=self.value is ERROR)

    def __str__(self) -> str:
        return "throw" if self.value is ERROR else str(self.value).lower()


@dataclass(frozen=True, eq=False)
class Var(_Node):
    """An occurrence of an atom; ``span`` (offset, length) says where it was written."""

    atom: Atom
    span: Span | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        self._seal((self.atom,), own=frozenset((self.atom,)))

    def __str__(self) -> str:
        return str(self.atom)


@dataclass(frozen=True, eq=False)
class Not(_Node):
    operand: Formula

    def __post_init__(self) -> None:
        self._seal((self.operand,), (self.operand,))

    def __str__(self) -> str:
        return f"!{_wrapped(self.operand)}"


@dataclass(frozen=True, eq=False)
class And(_Node):
    operands: tuple[Formula, ...]

    def __post_init__(self) -> None:
        self._seal((self.operands,), self.operands)

    def __str__(self) -> str:
        return " && ".join(_wrapped(op) for op in self.operands)


@dataclass(frozen=True, eq=False)
class Or(_Node):
    operands: tuple[Formula, ...]

    def __post_init__(self) -> None:
        self._seal((self.operands,), self.operands)

    def __str__(self) -> str:
        return " || ".join(_wrapped(op) for op in self.operands)


@dataclass(frozen=True, eq=False)
class If(_Node):
    cond: Formula
    then: Formula
    other: Formula

    def __post_init__(self) -> None:
        parts = (self.cond, self.then, self.other)
        self._seal(parts, parts)

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
    return _shared(Not, operand)


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
        known.update(_literals(operand, not absorbing))
    if not kept:
        return Const(not absorbing)
    return kept[0] if len(kept) == 1 else _shared(kind, tuple(kept))


def _literals(formula: Formula, value: bool) -> dict[Atom, bool]:
    """Atom values implied by ``formula`` evaluating to ``value`` (where two disagree, the
    later one written wins)."""
    found: dict[Atom, bool] = {}
    seen: set[int] = set()
    _implied(formula, value, found, seen)
    spend(len(seen))
    return found


def _implied(formula: Formula, value: bool, found: dict[Atom, bool], seen: set[int]) -> None:
    # A node shared by several parents implies the same literals each time: visit it once.
    key = id(formula) * 2 + value
    if key in seen:
        return
    seen.add(key)
    if isinstance(formula, Var):
        found[formula.atom] = value
    elif isinstance(formula, Not):
        _implied(formula.operand, not value, found, seen)
    elif (isinstance(formula, And) and value) or (isinstance(formula, Or) and not value):
        for operand in formula.operands:
            _implied(operand, value, found, seen)
    elif isinstance(formula, If):
        # `c ? throw : x` (or `c ? false : x`) being true means c was false and x true.
        for branch, taken in ((formula.then, False), (formula.other, True)):
            if isinstance(branch, Const) and branch.value is not value:
                _implied(formula.cond, taken, found, seen)
                _implied(formula.other if taken is False else formula.then, value, found, seen)


def if_(cond: Formula, then: Formula, other: Formula) -> Formula:
    """``cond ? then : other``; ``cond`` throwing makes the whole throw."""
    if isinstance(cond, Const):
        return cond if cond.value is ERROR else (then if cond.value else other)
    then = _assume(then, _literals(cond, True))
    other = _assume(other, _literals(cond, False))
    if then == other and not cond.throws:
        return then
    if isinstance(then, Const) and then.value is not ERROR:
        return or_(cond, other) if then.value else and_(not_(cond), other)
    if isinstance(other, Const) and other.value is not ERROR:
        return and_(cond, then) if not other.value else or_(not_(cond), then)
    return _shared(If, cond, then, other)


def _assume(formula: Formula, known: Mapping[Atom, bool]) -> Formula:
    """``formula`` with the atoms in ``known`` replaced by their values, simplified."""
    if not known or formula.atom_set.isdisjoint(known):
        return formula
    return substitute(formula, known)


_Node_ = TypeVar("_Node_", bound="Not | And | Or | If")


def _shared(kind: type[_Node_], *parts: Any) -> _Node_:
    """The node ``kind(*parts)``; inside a :func:`metered` analysis, the same object as an equal
    one built before in it (hash-consing): a formula rebuilt along two paths stays one node,
    so work memoised on it is done once."""
    budget = _ACTIVE.get()
    if budget is None:
        return kind(*parts)
    key = (kind, *parts)
    found = budget.shared.get(key)
    if found is None:
        found = budget.shared[key] = kind(*parts)
    assert isinstance(found, kind)
    return found


def substitute(formula: Formula, values: Mapping[Atom, bool]) -> Formula:
    """Replace the atoms in ``values`` by constants and simplify (a part that tests none of
    them is kept as it is). Inside a :func:`metered` analysis each node is simplified once per
    assignment of its own atoms, however many conditions share it."""
    budget = _ACTIVE.get()
    done = {} if budget is None else budget.substituted
    return _substitute(formula, values, done)


def _substitute(
    formula: Formula,
    values: Mapping[Atom, bool],
    done: dict[tuple[Formula, frozenset[tuple[Atom, bool]]], Formula],
) -> Formula:
    if isinstance(formula, Const) or formula.atom_set.isdisjoint(values):
        return formula
    spend(1)
    key = (formula, frozenset((a, values[a]) for a in formula.atom_set if a in values))
    found = done.get(key)
    if found is not None:
        return found
    if isinstance(formula, Var):
        found = Const(values[formula.atom])
    elif isinstance(formula, Not):
        found = not_(_substitute(formula.operand, values, done))
    elif isinstance(formula, If):
        cond, then, other = (
            _substitute(part, values, done) for part in (formula.cond, formula.then, formula.other)
        )
        found = if_(cond, then, other)
    else:
        parts = [_substitute(operand, values, done) for operand in formula.operands]
        found = and_(*parts) if isinstance(formula, And) else or_(*parts)
    done[key] = found
    return found


def split(formula: Formula) -> tuple[Formula, Formula]:
    """``(throws, value)``: when ``formula`` throws, and what it is when it does not; neither
    throws. Used where C# evaluates a boolean and goes on (``var ok = …;``)."""
    done: dict[int, tuple[Formula, Formula]] = {}

    def parts(node: Formula) -> tuple[Formula, Formula]:
        if not node.throws:
            return FALSE, node
        found = done.get(id(node))
        if found is None:
            found = done[id(node)] = _split_node(node, parts)
        return found

    return parts(formula)


def _split_node(
    formula: Formula, parts: Callable[[Formula], tuple[Formula, Formula]]
) -> tuple[Formula, Formula]:
    """:func:`split` of one node that may throw, given ``parts`` for its children."""
    if isinstance(formula, Const):
        return (TRUE, FALSE) if formula.value is ERROR else (FALSE, formula)
    if isinstance(formula, Var):
        return FALSE, formula
    if isinstance(formula, Not):
        throws, value = parts(formula.operand)
        return throws, not_(value)
    if isinstance(formula, If):
        (c_throws, c_value), (t_throws, t_value), (o_throws, o_value) = (
            parts(part) for part in (formula.cond, formula.then, formula.other)
        )
        throws = or_(c_throws, if_(c_value, t_throws, o_throws))
        return throws, if_(c_value, t_value, o_value)
    first, *rest = formula.operands
    throws, value = parts(first)
    for operand in rest:
        o_throws, o_value = parts(operand)
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
    """Every node of ``formula`` as a tree, parents before children (a shared node once per
    occurrence: meant for a condition as written, not for a whole program)."""
    stack = [formula]
    while stack:
        node = stack.pop()
        yield node
        stack.extend(reversed(_children(node)))


def occurrences(formula: Formula) -> list[Var]:
    """The atom leaves of ``formula`` in source order, with their spans."""
    return [node for node in walk(formula) if isinstance(node, Var)]


def atoms(formula: Formula) -> frozenset[Atom]:
    return formula.atom_set


def may_throw(formula: Formula) -> bool:
    """Whether some assignment makes ``formula`` throw (syntactically: it contains a throw)."""
    return formula.throws


# -- evaluation ---------------------------------------------------------------------------------


def evaluate(formula: Formula, assignment: Assignment) -> Outcome:
    """True, False or ERROR under ``assignment`` (which must give every atom of ``formula``)."""
    done: dict[int, Outcome] = {}

    def outcome(node: Formula) -> Outcome:
        found = done.get(id(node))
        if found is None:
            found = done[id(node)] = _evaluate_node(node, assignment, outcome)
        return found

    return outcome(formula)


def _evaluate_node(
    formula: Formula, assignment: Assignment, outcome: Callable[[Formula], Outcome]
) -> Outcome:
    if isinstance(formula, Const):
        return formula.value
    if isinstance(formula, Var):
        return assignment[formula.atom]
    if isinstance(formula, Not):
        inner = outcome(formula.operand)
        return inner if inner is ERROR else not inner
    if isinstance(formula, If):
        cond = outcome(formula.cond)
        if cond is ERROR:
            return ERROR
        return outcome(formula.then if cond else formula.other)
    stop = isinstance(formula, Or)
    for operand in formula.operands:
        result = outcome(operand)
        if result is ERROR or result is stop:
            return result
    return not stop
