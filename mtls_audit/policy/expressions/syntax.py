"""Syntax tree of the C# subset used in APIM policy expressions.

Every node carries ``span``: (offset, length) into the text that was parsed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple


class Span(NamedTuple):
    offset: int
    length: int

    @property
    def end(self) -> int:
        return self.offset + self.length


@dataclass(frozen=True)
class TypeRef:
    """A type as written: ``X509Certificate2``, ``List<string>``, ``byte[]``, ``int?``."""

    name: str
    args: tuple[TypeRef, ...] = ()
    array_rank: int = 0
    nullable: bool = False


@dataclass(frozen=True)
class Node:
    span: Span = field(compare=False)


@dataclass(frozen=True)
class Literal(Node):
    """A string, char, number, ``true``/``false`` or ``null`` literal (``value`` decoded)."""

    value: str | int | float | bool | None
    is_char: bool = False


@dataclass(frozen=True)
class Interpolated(Node):
    """``$"…{x}…"``: kept as written, its holes are not analysed."""

    text: str


@dataclass(frozen=True)
class Placeholder(Node):
    """A bare ``{{named-value}}`` or an IaC marker such as ``${var}`` in code position."""

    text: str


@dataclass(frozen=True)
class Name(Node):
    id: str


@dataclass(frozen=True)
class Member(Node):
    target: Expr
    name: str
    conditional: bool = False  # `?.`


@dataclass(frozen=True)
class Call(Node):
    func: Expr  # a Name or a Member
    args: tuple[Expr, ...]
    type_args: tuple[TypeRef, ...] = ()


@dataclass(frozen=True)
class Index(Node):
    target: Expr
    args: tuple[Expr, ...]
    conditional: bool = False  # `?[`


@dataclass(frozen=True)
class OutArg(Node):
    """``out var x`` / ``out x`` in an argument list."""

    name: str


@dataclass(frozen=True)
class Unary(Node):
    op: str
    operand: Expr


@dataclass(frozen=True)
class Binary(Node):
    op: str
    left: Expr
    right: Expr


@dataclass(frozen=True)
class Conditional(Node):
    cond: Expr
    then: Expr
    other: Expr


@dataclass(frozen=True)
class Lambda(Node):
    params: tuple[str, ...]
    body: Expr | Block


@dataclass(frozen=True)
class Cast(Node):
    type: TypeRef
    operand: Expr


@dataclass(frozen=True)
class As(Node):
    operand: Expr
    type: TypeRef


@dataclass(frozen=True)
class Is(Node):
    """``x is null``, ``x is not null``, ``x is T`` or ``x is T name``."""

    operand: Expr
    type: TypeRef | None  # None: the null pattern
    negated: bool = False
    binding: str | None = None


@dataclass(frozen=True)
class New(Node):
    """``new T(args)``, ``new T { … }``, ``new[] { … }`` or ``new { a = b }``."""

    type: TypeRef | None
    args: tuple[Expr, ...] = ()
    items: tuple[Expr, ...] | None = None


@dataclass(frozen=True)
class TypeOf(Node):
    type: TypeRef


@dataclass(frozen=True)
class Assign(Node):
    """``a = b`` and compound assignments (``op`` is ``=``, ``+=``, …)."""

    op: str
    target: Expr
    value: Expr


@dataclass(frozen=True)
class Block(Node):
    statements: tuple[Stmt, ...]


@dataclass(frozen=True)
class VarDecl(Node):
    type: TypeRef | None  # None for `var`
    names: tuple[tuple[str, Expr | None], ...]


@dataclass(frozen=True)
class ExprStmt(Node):
    expr: Expr


@dataclass(frozen=True)
class If(Node):
    cond: Expr
    then: Stmt
    other: Stmt | None


@dataclass(frozen=True)
class Return(Node):
    value: Expr | None


@dataclass(frozen=True)
class Foreach(Node):
    """``foreach (var name in collection) body``."""

    name: str
    collection: Expr
    body: Stmt


@dataclass(frozen=True)
class Unanalysed(Node):
    """A statement that is parsed but not modelled: a ``for``/``while``/``do`` loop, ``switch``,
    ``try``, ``using``,
    ``checked``/``unchecked`` or a local function (``keyword`` names which)."""

    keyword: str


@dataclass(frozen=True)
class Jump(Node):
    """``break``, ``continue`` or ``throw [x]``."""

    keyword: str
    value: Expr | None = None


Expr = (
    Literal
    | Interpolated
    | Placeholder
    | Name
    | Member
    | Call
    | Index
    | OutArg
    | Unary
    | Binary
    | Conditional
    | Lambda
    | Cast
    | As
    | Is
    | New
    | TypeOf
    | Assign
)
Stmt = Block | VarDecl | ExprStmt | If | Return | Foreach | Unanalysed | Jump
