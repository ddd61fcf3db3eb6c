"""ARM template expressions: the text between the brackets of a ``"[...]"`` string.

The tokenizer and recursive-descent parser produce a small tree (:class:`Lit`, :class:`Call`,
:class:`Member`); parses are cached because copy loops evaluate the same text many times.
:class:`Evaluator` walks a tree with the function tables of
:mod:`mtls_audit.sources.arm.functions`. Errors are :class:`ExpressionError` subclasses whose
``kind``/``what`` become the gap's fields.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Protocol

from mtls_audit.errors import MtlsAuditError
from mtls_audit.wording import plural


class ExpressionError(MtlsAuditError):
    """An expression that cannot be evaluated offline. Sources turn it into a gap."""

    kind = "parse-error"
    what = "template-expression"


class ExpressionSyntaxError(ExpressionError):
    """Text between the brackets that is not an expression."""


class EvaluationError(ExpressionError):
    """A well-formed expression that fails: wrong argument types, missing property, …"""


class UnsupportedFunction(ExpressionError):
    """A function whose value is not known offline (``reference``, ``uniqueString``, …)."""

    kind = "unsupported"
    what = "template-function"


class UnresolvedParameter(ExpressionError):
    """A parameter without a value: no default and not given in a parameters file."""

    kind = "not-found"
    what = "template-parameter"


class Context(Protocol):
    """What an expression may ask of the template it belongs to."""

    @property
    def subscription_id(self) -> str: ...

    @property
    def resource_group(self) -> str | None: ...

    def parameter(self, name: str) -> Any: ...

    def variable(self, name: str) -> Any: ...

    def copy_index(self, loop: str | None) -> int: ...

    def user_function(self, name: str, args: list[Any]) -> Any:
        """A user-defined function (``namespace.name``) of the template, applied to values."""

    def declared(self, symbol: str, full: bool) -> Any:
        """``reference('symbol')`` of a resource the template declares (languageVersion 2.0):
        its declared properties (the whole declaration with ``full``)."""


@dataclass(frozen=True, slots=True)
class Node:
    src: str


@dataclass(frozen=True, slots=True)
class Lit(Node):
    value: Any


@dataclass(frozen=True, slots=True)
class Call(Node):
    name: str
    args: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class Member(Node):
    """``target.key`` or ``target[key]``."""

    target: Node
    key: Node


_TOKEN = re.compile(r"\s*(?:('(?:[^']|'')*')|(-?\d+)|([A-Za-z_$][\w$]*)|([()\[\],.])|(\S))")
_Token = tuple[str, str, int, int]  # kind, text, start, end
_KINDS = ("str", "num", "name", "punct", "bad")


def _tokenize(text: str) -> list[_Token]:
    tokens: list[_Token] = []
    for match in _TOKEN.finditer(text):  # only trailing blanks can go unmatched
        group = match.lastindex or 0
        if _KINDS[group - 1] == "bad":
            column = match.start(group) + 2  # 1-based, after the opening bracket
            raise ExpressionSyntaxError(f"unexpected {match.group(group)!r} at column {column}")
        tokens.append((_KINDS[group - 1], match.group(group), match.start(group), match.end()))
    return tokens


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = _tokenize(text)
        self.i = 0

    def parse(self) -> Node:
        node = self.expr()
        if self.i < len(self.tokens):
            raise ExpressionSyntaxError(f"unexpected {self.tokens[self.i][1]!r}")
        return node

    def peek(self, ahead: int = 0) -> str:
        i = self.i + ahead
        return self.tokens[i][1] if i < len(self.tokens) else ""

    def take(self, kind: str | None = None, text: str | None = None) -> _Token:
        if self.i >= len(self.tokens):
            raise ExpressionSyntaxError("the expression ends too early")
        token = self.tokens[self.i]
        if (kind and token[0] != kind) or (text and token[1] != text):
            raise ExpressionSyntaxError(f"expected {text or kind}, found {token[1]!r}")
        self.i += 1
        return token

    def src(self, start: int) -> str:
        return self.text[start : self.tokens[self.i - 1][3]]

    def expr(self) -> Node:
        start = self.tokens[self.i][2] if self.i < len(self.tokens) else len(self.text)
        node = self.primary()
        while self.peek() in (".", "["):
            if self.take()[1] == ".":
                key: Node = Lit(self.peek(), self.take("name")[1])
            else:
                key = self.expr()
                self.take(text="]")
            node = Member(self.src(start), node, key)
        return node

    def primary(self) -> Node:
        kind, text, start, _ = self.take()
        if kind == "str":
            return Lit(text, text[1:-1].replace("''", "'"))
        if kind == "num":
            return Lit(text, int(text))
        if kind != "name":
            raise ExpressionSyntaxError(f"unexpected {text!r}")
        name = text
        while self.peek() == "." and self.peek(2) == "(" and self.i + 1 < len(self.tokens):
            self.i += 1
            name += "." + self.take("name")[1]
        if self.peek() != "(":
            if name.lower() in _KEYWORDS:
                return Lit(name, _KEYWORDS[name.lower()])
            raise ExpressionSyntaxError(f"{name!r} is not a function call")
        self.take(text="(")
        args: list[Node] = []
        while self.peek() != ")":
            if args:
                self.take(text=",")
            args.append(self.expr())
        self.take(text=")")
        return Call(self.src(start), name, tuple(args))


_KEYWORDS: dict[str, Any] = {"true": True, "false": False, "null": None}


@lru_cache(maxsize=4096)
def parse(text: str) -> Node:
    """The syntax tree of the text between the brackets of an expression."""
    try:
        return _Parser(text).parse()
    except RecursionError:
        raise ExpressionSyntaxError("the expression is nested too deeply") from None


class Evaluator:
    """Evaluates a tree with the given function tables.

    ``functions`` take the context and the evaluated arguments; ``lazy`` ones take the evaluator
    and the unevaluated arguments (``if``, ``and``, ``or``, ``coalesce`` evaluate only what
    they need). ``placeholders``: see ``arm_functions.evaluate_string``.
    """

    def __init__(
        self,
        ctx: Context,
        functions: Mapping[str, Callable[..., Any]],
        lazy: Mapping[str, Callable[[Evaluator, tuple[Node, ...]], Any]],
        placeholders: list[ExpressionError] | None = None,
    ) -> None:
        self.ctx = ctx
        self.functions = functions
        self.lazy = lazy
        self.placeholders = placeholders
        self.variables: dict[str, Any] = {}  # lambda variables in scope, by lower-case name

    def eval(self, node: Node) -> Any:
        if isinstance(node, Lit):
            return node.value
        if isinstance(node, Member):
            return member(self.eval(node.target), self.eval(node.key))
        assert isinstance(node, Call)
        name = node.name.lower()
        lazy = self.lazy.get(name)
        if lazy is not None:
            return lazy(self, node.args)
        function = self.functions.get(name)
        if function is None and "." in name:
            return self.ctx.user_function(node.name, [self.eval(arg) for arg in node.args])
        if function is None:
            raise unsupported(node.name)
        lenient = self.placeholders is not None and name in ("concat", "format")
        args = [self.placeholder(arg) if lenient else self.eval(arg) for arg in node.args]
        try:
            return function(self.ctx, *args)
        except ExpressionError:
            raise
        except (TypeError, ValueError, IndexError, KeyError, OverflowError) as exc:
            raise EvaluationError(f"{node.name}(): {exc}") from None

    def placeholder(self, node: Node) -> Any:
        try:
            return self.eval(node)
        except ExpressionError as exc:
            assert self.placeholders is not None
            self.placeholders.append(exc)
            return f"[{node.src}]"

    def apply(self, function: str, node: Node, *values: Any) -> Any:
        """Apply a ``lambda('x', 'i', body)`` argument of ``function`` to values; the lambda
        takes as many of them as it names (an index is optional)."""
        if not (isinstance(node, Call) and node.name.lower() == "lambda" and node.args):
            raise EvaluationError(f"{function}() expects a lambda(...) argument")
        *params, body = node.args
        names: list[str] = []
        for param in params:
            if not (isinstance(param, Lit) and isinstance(param.value, str)):
                raise EvaluationError("lambda() names its variables with strings")
            names.append(param.value.lower())
        if len(names) > len(values):
            raise EvaluationError(f"{function}() gives its lambda {plural(len(values), 'value')}")
        saved = self.variables
        self.variables = saved | dict(zip(names, values, strict=False))
        try:
            return self.eval(body)
        finally:
            self.variables = saved

    def variable(self, name: str) -> Any:
        """``lambdaVariables(name)``: a variable of an enclosing lambda."""
        try:
            return self.variables[name.lower()]
        except KeyError:
            raise EvaluationError(f"lambdaVariables({name!r}) is used outside its lambda") from None

    def truth(self, node: Node, function: str) -> bool:
        value = self.eval(node)
        if not isinstance(value, bool):
            raise EvaluationError(f"{function}() expects true or false, got {kind_of(value)}")
        return value


def unsupported(name: str) -> UnsupportedFunction:
    """The error for a function not evaluated offline, saying why."""
    lower = name.lower()
    if "." in name:
        why = "is a user-defined function, not evaluated offline"
    elif lower in ("reference", "references") or lower.startswith("list"):
        why = "reads the state of a deployed resource, which offline files do not have"
    elif lower in ("deployment", "environment", "managementgroup", "tenant", "providers"):
        why = "depends on the deployment, which offline files do not describe"
    elif lower in ("uniquestring", "newguid", "utcnow"):
        why = "gives a value only Azure computes at deployment time"
    else:
        why = "is not supported offline"
    return UnsupportedFunction(f"{name}() {why}")


def kind_of(value: Any) -> str:
    """How an error message names the type of a value."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    return {str: "a string", int: "an integer", float: "a number", list: "an array"}.get(
        type(value), "an object"
    )


class Declared(dict[str, Any]):
    """An object ``reference()`` read from the template's own declaration: a member it lacks is
    one only Azure knows, not a mistake in the template."""


def declared(value: Any) -> Any:
    """``value`` with every object in it marked :class:`Declared`."""
    if isinstance(value, dict):
        return Declared({k: declared(v) for k, v in value.items()})
    if isinstance(value, list):
        return [declared(v) for v in value]
    return value


def member(target: Any, key: Any) -> Any:
    """``target.key`` / ``target[key]``; property names match without case, as in ARM."""
    if isinstance(target, dict) and isinstance(key, str):
        if key in target:
            return target[key]
        folded = {k.lower(): v for k, v in target.items()}
        if key.lower() in folded:
            return folded[key.lower()]
        if isinstance(target, Declared):
            raise UnsupportedFunction(
                f"{key!r} is not declared in the template (a value Azure sets at deployment, "
                "or one that could not be resolved)"
            )
        raise EvaluationError(f"the object has no property {key!r}")
    if isinstance(target, list) and type(key) is int:
        if 0 <= key < len(target):
            return target[key]
        raise EvaluationError(f"index {key} is out of range (the array has {len(target)} items)")
    raise EvaluationError(f"cannot index {kind_of(target)} with {kind_of(key)}")
