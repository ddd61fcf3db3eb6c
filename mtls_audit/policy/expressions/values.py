"""Symbolic values of policy expressions, and how comparisons over them become atoms.

A :data:`Value` is either a leaf (the certificate, one of its fields, a string literal, a
boolean formula, null, a throw, …) or a :class:`Choice` between two values under a condition:
``context.Request.Certificate`` is ``Choice(cert-null, Null, Cert)``. Operations distribute over
choices (:func:`bind`), so null checks, ``?.`` and exceptions need no special cases.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TypeAlias

from mtls_audit.policy.expressions import syntax as ast
from mtls_audit.policy.expressions.atoms import FIELD_KINDS, Atom, AtomKind, looks_like_thumbprint
from mtls_audit.policy.expressions.logic import (
    FALSE,
    THROWS,
    TRUE,
    Const,
    Formula,
    Var,
    atoms,
    if_,
    may_throw,
    not_,
    split,
)

STRING_FIELDS = frozenset(FIELD_KINDS)
TIME_FIELDS = frozenset({"not_after", "not_before"})
HEADER = "header"  # a header's value as sent
HEADER_DATA = "header-data"  # something computed from a header's value
HEADER_VALUES = "header-values"  # the values of a header (``Headers["X"]``, a string array)
LAMBDA = "lambda"  # source of opaque values that depend on a lambda parameter


@dataclass(frozen=True)
class Site:
    """Where an operation was written: its source text and span."""

    text: str
    span: ast.Span


@dataclass(frozen=True)
class Null:
    """``null``; ``chained`` while a ``?.`` skips the rest of an access chain (``a?.b.c()``)."""

    chained: bool = False


@dataclass(frozen=True)
class Throw:
    pass


@dataclass(frozen=True)
class Bool:
    formula: Formula


@dataclass(frozen=True)
class Number:
    value: int | float


@dataclass(frozen=True)
class Text:
    """A string; ``value`` is None when a placeholder in ``raw`` could not be resolved."""

    raw: str
    value: str | None


@dataclass(frozen=True)
class TextSet:
    """A literal array/list/set of strings (``Contains`` on it is a disjunction); ``keep``,
    after ``Where(..)``, is when each item is still in the set (empty: always)."""

    items: tuple[Text, ...]
    ignore_case: bool = False
    keep: tuple[Formula, ...] = ()


@dataclass(frozen=True)
class Cert:
    source: str


@dataclass(frozen=True)
class Field:
    """A certificate field (``thumbprint``, ``issuer``, ``subject``, ``serial``, ``not_after``,
    ``not_before``, ``issuer-name``/``subject-name`` X.500 objects) or a header value; ``fold``
    is ``upper``/``lower`` after ``ToUpper()``/``ToLower()``."""

    source: str
    name: str
    fold: str = ""


@dataclass(frozen=True)
class Found:
    """The result of ``IndexOf``: at least 0 exactly when ``formula`` holds, else -1."""

    formula: Formula


@dataclass(frozen=True)
class Now:
    pass


@dataclass(frozen=True)
class Ordering:
    """The result of ``DateTime.Compare(a, b)``, ``a.CompareTo(b)`` or ``string.Compare``."""

    left: Value
    right: Value
    ignore_case: bool = False


@dataclass(frozen=True)
class Path:
    """A dotted name not (yet) meaning a value: a namespace, type, enum member or unknown name."""

    path: str


@dataclass(frozen=True)
class Deployment:
    """``context.Deployment.Certificates`` and what a lambda over it sees (``level``)."""

    level: str  # dictionary, values, keys, item, certificate, thumbprint


@dataclass(frozen=True)
class Opaque:
    """A value the analyser does not model; ``source`` names the certificate it depends on."""

    text: str
    source: str = ""


@dataclass(frozen=True, eq=False)
class Lam:
    node: ast.Lambda
    env: Mapping[str, Value]


@dataclass(frozen=True)
class Choice:
    """``cond ? then : other`` (``cond`` throwing makes the value throw)."""

    cond: Formula
    then: Value
    other: Value


Leaf: TypeAlias = (
    Null
    | Throw
    | Bool
    | Number
    | Text
    | TextSet
    | Cert
    | Field
    | Found
    | Now
    | Ordering
    | Path
    | Deployment
    | Opaque
    | Lam
)
Value: TypeAlias = Leaf | Choice


def choice(cond: Formula, then: Value, other: Value) -> Value:
    if isinstance(cond, Const):
        return Throw() if cond == THROWS else (then if cond.value else other)
    if then == other and not may_throw(cond):
        return then
    return Choice(cond, then, other)


def bind(value: Value, step: Callable[[Leaf], Value]) -> Value:
    """Apply ``step`` to every leaf except throws (which propagate)."""
    if isinstance(value, Choice):
        return choice(value.cond, bind(value.then, step), bind(value.other, step))
    if isinstance(value, Throw):
        return value
    return step(value)


def settle(value: Value) -> Value:
    """A value as a statement leaves it: a boolean that may throw becomes a choice between the
    throw and the boolean, so a later assignment cannot hide the exception."""
    if isinstance(value, Choice):
        return choice(value.cond, settle(value.then), settle(value.other))
    if isinstance(value, Bool) and may_throw(value.formula):
        throws, result = split(value.formula)
        return choice(throws, Throw(), Bool(result))
    return value


def truth(value: Value, site: Site) -> Formula:
    """The value in a boolean position (``if``, ``&&``, a ``<when>`` condition)."""
    if isinstance(value, Choice):
        return if_(value.cond, truth(value.then, site), truth(value.other, site))
    if isinstance(value, Bool):
        return value.formula
    if isinstance(value, Throw):
        return THROWS
    if isinstance(value, Opaque):
        return opaque(value.text, value.source, site.span)
    return opaque(site.text, source_of(value), site.span)


def opaque(text: str, source: str, span: ast.Span) -> Formula:
    return Var(Atom(AtomKind.OPAQUE, source, text=" ".join(text.split())), span)


def source_of(*values: Value) -> str:
    """The certificate source the values depend on (first found), or ""."""
    for value in values:
        if isinstance(value, Cert | Field | Opaque) and value.source:
            return value.source
        if isinstance(value, Deployment) and value.level in ("item", "certificate", "thumbprint"):
            return LAMBDA
        if isinstance(value, Ordering):
            found = source_of(value.left, value.right)
            if found:
                return found
    return ""


def value_source(value: Value) -> str:
    """The certificate source a value depends on anywhere in it (its choices, the atoms of a
    boolean), or ""."""
    if isinstance(value, Choice):
        found = [a.source for a in atoms(value.cond) if a.source]
        return found[0] if found else value_source(value.then) or value_source(value.other)
    if isinstance(value, Bool):
        return next((a.source for a in atoms(value.formula) if a.source), "")
    if isinstance(value, Found):
        return value_source(Bool(value.formula))
    return source_of(value)


def unknown(site: Site, *values: Value) -> Opaque:
    """A value not modelled: it depends on the certificate any of ``values`` depends on."""
    return Opaque(site.text, next((s for s in map(value_source, values) if s), ""))


def either(previous: Value | None, assigned: Value, where: str) -> Value:
    """A variable assigned where its earlier value may survive (the assignment sits in one
    branch of a ``<choose>``): either value, under a condition of the request."""
    if previous is None or previous == assigned:
        return assigned
    return Choice(Var(Atom(AtomKind.OPAQUE, "", text=where)), assigned, previous)


# -- comparisons --------------------------------------------------------------------------------

_FLIPPED = {"<": ">", ">": "<", "<=": ">=", ">=": "<=", "==": "==", "!=": "!="}


def compare(op: str, left: Leaf, right: Leaf, site: Site, ignore_case: bool = False) -> Value:
    """``left op right`` for ``==``, ``!=``, ``<``, ``<=``, ``>``, ``>=``."""
    if isinstance(right, Ordering):
        left, right, op = right, left, _FLIPPED[op]
    if isinstance(left, Ordering):
        return compare_ordering(op, left, right, site)
    if isinstance(right, Found):
        left, right, op = right, left, _FLIPPED[op]
    if isinstance(left, Found):
        return _position(op, left, right, site)
    if op in ("==", "!="):
        equal = equality(left, right, site, ignore_case)
        if equal is None:
            return unknown(site, left, right)
        return Bool(equal if op == "==" else not_(equal))
    if isinstance(left, Now | Number) and not isinstance(right, Number):
        left, right, op = right, left, _FLIPPED[op]
    if isinstance(left, Field) and left.name in TIME_FIELDS and isinstance(right, Now):
        return _time_atom(left, op, site)
    if isinstance(left, Number) and isinstance(right, Number):
        holds = {
            "<": left.value < right.value,
            "<=": left.value <= right.value,
            ">": left.value > right.value,
            ">=": left.value >= right.value,
        }[op]
        return Bool(TRUE if holds else FALSE)
    return unknown(site, left, right)


# Compare(a, b) op n  ⇔  a relation b
_ORDERING = {
    ("<", 0): "<",
    ("<=", 0): "<=",
    (">", 0): ">",
    (">=", 0): ">=",
    ("==", 0): "==",
    ("!=", 0): "!=",
    ("==", -1): "<",
    ("==", 1): ">",
    ("<", 1): "<=",
    (">", -1): ">=",
}


def compare_ordering(op: str, ordering: Ordering, right: Leaf, site: Site) -> Value:
    """``Compare(a, b) op n`` as a comparison of ``a`` and ``b``."""
    relation = None
    if isinstance(right, Number) and isinstance(right.value, int):
        relation = _ORDERING.get((op, right.value))
    if relation is None:
        return unknown(site, ordering)
    return bind(
        ordering.left,
        lambda a: bind(
            ordering.right, lambda b: compare(relation, a, b, site, ordering.ignore_case)
        ),
    )


def _time_atom(field: Field, op: str, site: Site) -> Value:
    """``NotAfter < now`` is EXPIRED; ``NotBefore > now`` is NOT_YET_VALID (edges ignored)."""
    if op not in ("<", "<=", ">", ">="):
        return unknown(site, field)
    if field.name == "not_after":
        atom, holds_when_less = AtomKind.EXPIRED, True
    else:
        atom, holds_when_less = AtomKind.NOT_YET_VALID, False
    formula: Formula = Var(Atom(atom, field.source), site.span)
    return Bool(formula if op.startswith("<") == holds_when_less else not_(formula))


_RELATIONS: dict[str, Callable[[float, float], bool]] = {
    "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b,
    ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b,
    "==": lambda a, b: a == b,
    "!=": lambda a, b: a != b,
}


def _position(op: str, found: Found, right: Leaf, site: Site) -> Value:
    """``IndexOf(..) op n``: decided when it holds alike for every index from 0 on."""
    if not isinstance(right, Number):
        return unknown(site)
    relation = _RELATIONS[op]
    if relation(0, right.value) != relation(1 << 30, right.value):
        return unknown(site)
    present = TRUE if relation(0, right.value) else FALSE
    absent = TRUE if relation(-1, right.value) else FALSE
    return Bool(if_(found.formula, present, absent))


_RANK = (Deployment, Field, Ordering, Text, TextSet, Number, Bool, Cert, Now, Null)


def _rank(value: Leaf) -> int:
    for rank, kind in enumerate(_RANK):
        if isinstance(value, kind):
            return rank
    return len(_RANK)


def equality(left: Leaf, right: Leaf, site: Site, ignore_case: bool = False) -> Formula | None:
    """The formula for ``left == right`` (None: not modelled, the caller makes it opaque)."""
    if _rank(right) < _rank(left):
        left, right = right, left
    if isinstance(right, Null):
        if isinstance(left, Opaque | Path | Lam):
            return None
        return TRUE if isinstance(left, Null) else FALSE
    if isinstance(left, Field):
        if isinstance(right, Text):
            return field_equals(left, right, site, ignore_case)
        return None
    if isinstance(left, Deployment) and left.level == "thumbprint":
        return in_deployment(right, site)
    if isinstance(left, Text) and isinstance(right, Text):
        if left.value is None or right.value is None:
            return None
        if ignore_case:
            return TRUE if left.value.upper() == right.value.upper() else FALSE
        return TRUE if left.value == right.value else FALSE
    if isinstance(left, Number) and isinstance(right, Number):
        return TRUE if left.value == right.value else FALSE
    if isinstance(left, Bool) and isinstance(right, Bool):
        return if_(left.formula, right.formula, not_(right.formula))
    return None


def field_equals(field: Field, text: Text, site: Site, ignore_case: bool) -> Formula | None:
    """An equality atom for ``field == "literal"``, honouring ``ToUpper()``/``ToLower()``."""
    name = field.name
    if name == HEADER and text.value is not None and looks_like_thumbprint(text.value):
        name = "thumbprint"
    elif name == HEADER:
        return _header_thumbprint(field, text, site, ignore_case)
    if name not in STRING_FIELDS:
        return None
    kind = FIELD_KINDS[name]
    if text.value is None:
        sensitive = not ignore_case and not field.fold
        return Var(Atom(kind, field.source, None, sensitive, text.raw), site.span)
    literal = text.value
    if field.fold and not ignore_case:
        if literal != (literal.upper() if field.fold == "upper" else literal.lower()):
            return FALSE  # an upper-cased value never equals a literal with lower case (or v.v.)
        ignore_case = True
    return Var(Atom(kind, field.source, literal, not ignore_case), site.span)


def _header_thumbprint(field: Field, text: Text, site: Site, ignore_case: bool) -> Formula | None:
    """A header compared with a literal is a thumbprint check if the header names one."""
    if "thumbprint" not in field.source.lower():
        return None
    return field_equals(Field(field.source, "thumbprint", field.fold), text, site, ignore_case)


def in_deployment(value: Leaf, site: Site) -> Formula | None:
    """``value`` is the thumbprint of a certificate uploaded to the instance."""
    if isinstance(value, Field) and value.name in ("thumbprint", HEADER):
        return Var(Atom(AtomKind.IN_DEPLOYMENT_CERTS, value.source), site.span)
    if isinstance(value, Null):
        return FALSE
    return None
