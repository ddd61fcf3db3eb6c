"""Policy expressions as formulas over certificate atoms.

:func:`condition` turns the text of a ``<when condition="…">`` (``@(…)`` or ``@{…}``) into a
:class:`~mtls_audit.policy.expressions.logic.Formula`; :func:`value` gives the symbolic value of any
expression, e.g. of a ``<set-variable>`` whose variable a later condition reads (pass it in
:attr:`Scope.variables`). Blocks are executed symbolically: ``var``, assignments, ``if``/``else``
and ``return`` split the result into a :class:`~values.Choice` per path, so
``if (cert == null) return false; … return cert.Verify();`` becomes one formula.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field, fields
from functools import partial

from mtls_audit.policy.expressions import syntax as ast
from mtls_audit.policy.expressions.atoms import (
    REQUEST,
    Atom,
    AtomKind,
    NamedValueResolver,
    no_named_values,
    resolve_literal,
)
from mtls_audit.policy.expressions.lexer import interpolation_holes
from mtls_audit.policy.expressions.logic import (
    FALSE,
    TRUE,
    Formula,
    Var,
    and_,
    atoms,
    if_,
    not_,
    or_,
    split,
)
from mtls_audit.policy.expressions.members import (
    call,
    construct,
    header_values,
    member,
    resolve_path,
    skipped,
)
from mtls_audit.policy.expressions.parser import ExpressionSyntaxError, parse, parse_expression
from mtls_audit.policy.expressions.sequences import sequence_call
from mtls_audit.policy.expressions.templates import (
    MAX_RENDERINGS,
    MAX_SWITCHES,
    Switch,
    Template,
    template,
)
from mtls_audit.policy.expressions.values import (
    HEADER,
    HEADER_DATA,
    HEADER_VALUES,
    LAMBDA,
    Bool,
    Cert,
    Choice,
    Deployment,
    Field,
    Lam,
    Leaf,
    Null,
    Number,
    Opaque,
    Path,
    Site,
    Text,
    TextSet,
    Throw,
    Value,
    bind,
    choice,
    compare,
    settle,
    truth,
    unknown,
    value_source,
)

Env = Mapping[str, Value]
STEP_BUDGET = 10_000
"""Symbolic execution steps per expression; beyond it a block is one opaque condition."""

_NO_RETURN = Opaque("not all code paths return a value")
_HEADERS = "context.Request.Headers"
_COMPARISONS = frozenset({"==", "!=", "<", "<=", ">", ">="})
_COLLECTIONS = frozenset({"List", "HashSet", "string", "String", ""})


@dataclass(frozen=True)
class Scope:
    """What an expression can see besides the request: named values and earlier variables
    (``context.Variables[name]``, as returned by :func:`value` for the ``<set-variable>``)."""

    named_value: NamedValueResolver = no_named_values
    variables: Mapping[str, Value] = field(default_factory=dict)


def value(text: str, scope: Scope | None = None) -> Value:
    """The symbolic value of ``@(…)`` or ``@{…}`` (with or without the ``@``); text with
    Terraform directives in its C# is every one of its renderings (see :func:`_rendered`)."""
    try:
        tree = parse(text)
    except ExpressionSyntaxError:
        cut = template(text)
        if cut is None:
            raise
        return _rendered(text, cut, scope or Scope())
    evaluator = _Evaluator(text, scope or Scope())
    if isinstance(tree, ast.Block):
        return evaluator.block(tree)
    return evaluator.expr(tree, {})


def _rendered(text: str, cut: Template, scope: Scope) -> Value:
    """The value of each rendering of ``text``, chosen by its switches: a switch is a condition
    fixed at deployment, so a verdict that changes with it names it. A rendering that cannot be
    parsed, or more than :data:`MAX_RENDERINGS` of them, make the whole expression unreadable
    (the error is raised)."""
    switches = cut.switches()
    if len(switches) > MAX_SWITCHES:
        reason = (
            f"{len(switches)} Terraform directives: {2 ** len(switches)} renderings, more than "
            f"the {MAX_RENDERINGS} the analyser judges"
        )
        raise ExpressionSyntaxError(reason, 0, source=text)

    def rendering(chosen: dict[Switch, bool]) -> Value:
        if len(chosen) == len(switches):
            return value(cut.render(chosen), scope)
        switch = switches[len(chosen)]
        deployed = Var(Atom(AtomKind.OPAQUE, "", text=switch.marker))
        return choice(
            deployed, rendering({**chosen, switch: True}), rendering({**chosen, switch: False})
        )

    return rendering({})


def condition(text: str, scope: Scope | None = None) -> Formula:
    """The formula of a boolean expression: True, False or ERROR for every certificate."""
    result = value(text, scope)
    return truth(result, Site(" ".join(text.split()), ast.Span(0, len(text))))


def constant(text: str) -> Value:
    """The value of a ``<set-variable>`` written as plain text."""
    return Text(text, text)


class _BudgetExceeded(Exception):
    pass


@dataclass(frozen=True)
class _Let:
    """Bind ``name`` to a value already computed (a loop variable of an unrolled ``foreach``)."""

    name: str
    value: Value
    span: ast.Span


def _calls(node: object) -> Iterator[ast.Call]:
    """The calls written in a statement or expression (not inside nested statements)."""
    if isinstance(node, tuple):
        for item in node:
            yield from _calls(item)
    elif isinstance(node, ast.Node) and not isinstance(node, ast.Block | ast.Lambda):
        if isinstance(node, ast.Call):
            yield node
        for part in fields(node):
            yield from _calls(getattr(node, part.name))


def _jumps(statement: ast.Stmt) -> bool:
    """Whether a loop body breaks or continues (then it is not unrolled)."""
    if isinstance(statement, ast.Jump):
        return statement.keyword in ("break", "continue")
    if isinstance(statement, ast.Block):
        return any(_jumps(inner) for inner in statement.statements)
    if isinstance(statement, ast.If):
        return _jumps(statement.then) or (statement.other is not None and _jumps(statement.other))
    return False


class _Evaluator:
    def __init__(self, text: str, scope: Scope):
        self.text = text
        self.scope = scope
        self.steps = 0

    def site(self, node: ast.Node) -> Site:
        return Site(self.text[node.span.offset : node.span.end], node.span)

    # -- blocks --------------------------------------------------------------------------------

    def block(self, tree: ast.Block) -> Value:
        try:
            result = self.run(tree.statements, {})
        except _BudgetExceeded:
            text = self.site(tree).text
            return Opaque(text, _reads_certificate(text, {}))
        if _contains(result, _NO_RETURN):
            raise ExpressionSyntaxError("not all code paths return a value", tree.span.end - 1)
        return result

    def run(self, statements: tuple[ast.Stmt | _Let, ...], env: Env) -> Value:
        self.steps += 1
        if self.steps > STEP_BUDGET:
            raise _BudgetExceeded
        if not statements:
            return _NO_RETURN
        first, rest = statements[0], statements[1:]
        if isinstance(first, _Let):
            return self.run(rest, {**env, first.name: first.value})
        env = {**env, **self.out_values(first, env)}
        if isinstance(first, ast.Foreach):
            return self.foreach(first, rest, env)
        if isinstance(first, ast.Block):
            return self.run(first.statements + rest, env)
        if isinstance(first, ast.VarDecl):
            (name, init), *more = first.names
            if more:
                rest = (ast.VarDecl(first.span, first.type, tuple(more)), *rest)
            bound = Null() if init is None else self.expr(init, env)
            return self.assign(name, bound, rest, env)
        if isinstance(first, ast.ExprStmt):
            return self.statement_expr(first.expr, rest, env)
        if isinstance(first, ast.If):
            cond = truth(self.expr(first.cond, env), self.site(first.cond))
            then = self.run((first.then, *rest), env)
            other = self.run((first.other, *rest) if first.other else rest, env)
            return choice(cond, then, other)
        if isinstance(first, ast.Return):
            return Null() if first.value is None else self.expr(first.value, env)
        if isinstance(first, ast.Jump) and first.keyword == "throw":
            return Throw()
        # A loop, try, switch, … : whatever follows is one unknown, about the certificate if
        # it may read it.
        end = (rest[-1] if rest else first).span.end
        text = self.text[first.span.offset : end]
        return Opaque(text, _reads_certificate(text, env))

    def out_values(self, statement: ast.Stmt, env: Env) -> dict[str, Value]:
        """``Headers.TryGetValue(name, out values)`` in a statement binds ``values`` to the
        header's values (read only where the call returned true)."""
        found: dict[str, Value] = {}
        for call_node in _calls(statement):
            func, args = call_node.func, call_node.args
            if not (isinstance(func, ast.Member) and func.name == "TryGetValue" and len(args) == 2):
                continue
            out = args[1]
            if isinstance(out, ast.OutArg) and self.link(func.target, env) == Path(_HEADERS):
                values = bind(
                    self.expr(args[0], env), partial(header_values, site=self.site(call_node))
                )
                if isinstance(values, Choice):
                    found[out.name] = values.other
        return found

    def foreach(self, loop: ast.Foreach, rest: tuple[ast.Stmt | _Let, ...], env: Env) -> Value:
        """A loop over a literal set runs its body once per item (unrolled); any other loop,
        or one that breaks or continues, is not modelled."""
        items = self.expr(loop.collection, env)
        if not isinstance(items, TextSet) or items.keep or _jumps(loop.body):
            text = self.text[loop.span.offset : (rest[-1] if rest else loop).span.end]
            return Opaque(text, _reads_certificate(text, env))
        unrolled: list[ast.Stmt | _Let] = []
        for item in items.items:
            unrolled += [_Let(loop.name, item, loop.span), loop.body]
        return self.run((*unrolled, *rest), env)

    def assign(self, name: str, bound: Value, rest: tuple[ast.Stmt | _Let, ...], env: Env) -> Value:
        return bind(settle(bound), lambda leaf: self.run(rest, {**env, name: leaf}))

    def statement_expr(self, expr: ast.Expr, rest: tuple[ast.Stmt | _Let, ...], env: Env) -> Value:
        if isinstance(expr, ast.Assign) and isinstance(expr.target, ast.Name):
            value_node = expr.value
            if expr.op != "=":  # x op= v is x = x op v
                value_node = ast.Binary(expr.span, expr.op[:-1], expr.target, expr.value)
            return self.assign(expr.target.id, self.expr(value_node, env), rest, env)
        evaluated = self.expr(expr, env)
        after: list[Value] = []

        def continue_after(_leaf: Leaf) -> Value:
            if not after:
                after.append(self.run(rest, env))
            return after[0]

        return bind(settle(evaluated), continue_after)

    # -- expressions ---------------------------------------------------------------------------

    def expr(self, node: ast.Expr, env: Env) -> Value:
        match node:
            case ast.Literal():
                return _literal_value(node.value, node.is_char, self.scope)
            case ast.Placeholder():
                return self.placeholder(node)
            case ast.Name():
                return env[node.id] if node.id in env else resolve_path(node.id, self.site(node))
            case ast.Member() | ast.Call() | ast.Index():
                return bind(self.link(node, env), _end_of_chain)
            case ast.Unary():
                return self.unary(node, env)
            case ast.Binary():
                return self.binary(node, env)
            case ast.Conditional():
                cond = truth(self.expr(node.cond, env), self.site(node.cond))
                return choice(cond, self.expr(node.then, env), self.expr(node.other, env))
            case ast.Lambda():
                return Lam(node, env)
            case ast.Cast() | ast.As():
                return self.expr(node.operand, env)
            case ast.Is():
                return self.is_(node, env)
            case ast.New():
                return self.new(node, env)
            case ast.Interpolated():
                return self.interpolated(node, env)
        return Opaque(self.site(node).text)

    def interpolated(self, node: ast.Interpolated, env: Env) -> Value:
        """``$"…{x}…"``: the holes are evaluated; the string carries what they carry."""
        site = self.site(node)
        start, text = node.span.offset, node.text
        parts: list[Value] = []
        literal_from = text.index('"') + 1
        for begin, end, after in interpolation_holes(text):
            parts.append(_interpolated_text(text[literal_from : begin - 1]))
            padded = " " * (start + begin) + text[begin:end]
            try:
                parts.append(self.expr(parse_expression(padded), env))
            except ExpressionSyntaxError:
                return Opaque(site.text, _reads_certificate(site.text, env))
            literal_from = after
        parts.append(_interpolated_text(text[literal_from:-1]))
        return _bind_all(parts, lambda leaves: derived(site, leaves))

    def item(self, node: ast.Expr, env: Env) -> Value:
        """An item of a collection initializer; a deployment placeholder there stands for
        entries that are unknown (``new[] { ${thumbprints} }``)."""
        found = self.expr(node, env)
        if isinstance(node, ast.Placeholder) and isinstance(found, Opaque):
            return Text(node.text, None)
        return found

    def placeholder(self, node: ast.Placeholder) -> Value:
        text = node.text
        resolved = self.scope.named_value(text[2:-2].strip()) if text.startswith("{{") else None
        if resolved is not None:
            try:
                parsed = parse_expression(resolved)
            except ExpressionSyntaxError:
                parsed = None
            if isinstance(parsed, ast.Literal):
                return _literal_value(parsed.value, parsed.is_char, self.scope, text)
        return Opaque(text)

    def link(self, node: ast.Expr, env: Env) -> Value:
        """One link of an access chain, keeping a ``?.``-skipped null for the next link."""
        if isinstance(node, ast.Member):
            return self.member(node, env)
        if isinstance(node, ast.Call):
            return self.call(node, env)
        if isinstance(node, ast.Index):
            return self.index(node, env)
        return self.expr(node, env)

    def member(self, node: ast.Member, env: Env) -> Value:
        site = self.site(node)
        target = self.link(node.target, env)
        return bind(target, lambda leaf: member(leaf, node.name, node.conditional, site))

    def call(self, node: ast.Call, env: Env) -> Value:
        site = self.site(node)
        if not isinstance(node.func, ast.Member):
            args = [self.expr(arg, env) for arg in node.args]
            return Opaque(site.text, next((s for s in map(value_source, args) if s), ""))
        func = node.func
        target = self.link(func.target, env)
        if target == Path("context.Variables"):
            return self.variable_call(func.name, node.args, env, site)
        args = [self.expr(arg, env) for arg in node.args]
        lambdas = [arg for arg in args if isinstance(arg, Lam)]
        if func.name == "Any" and len(args) == 1 and lambdas and isinstance(target, Deployment):
            return self.any_certificate(target, lambdas[0], site)

        def invoke(leaf: Leaf) -> Value:
            def apply(values: list[Leaf]) -> Value:
                found = sequence_call(leaf, func.name, values, site, self.apply)
                if found is not None:
                    return found
                plain: list[Leaf] = [
                    self.lambda_proxy(v) if isinstance(v, Lam) else v for v in values
                ]
                return call(leaf, func.name, plain, func.conditional, site)

            return _bind_all(args, apply)

        # An unmodelled function of a value that may be a missing certificate (null) still
        # depends on the certificate: the null leaf alone would not say so.
        read = next((s for s in map(value_source, [target, *args]) if s), "")
        return _attributed(bind(target, invoke), read)

    def apply(self, lam: Lam, item: Leaf) -> Value:
        """A one-parameter lambda's value for ``item``."""
        params, body = lam.node.params, lam.node.body
        if len(params) != 1:
            return Opaque(self.site(lam.node).text, self.lambda_source(lam))
        env = {**lam.env, params[0]: item}
        if isinstance(body, ast.Block):
            result = self.run(body.statements, env)
            return Opaque(self.site(body).text) if _contains(result, _NO_RETURN) else result
        return self.expr(body, env)

    def lambda_source(self, lam: Lam) -> str:
        """The certificate a lambda reads, whatever its parameters hold."""
        return _reads_certificate(self.site(lam.node).text, lam.env)

    def lambda_proxy(self, lam: Lam) -> Opaque:
        """A lambda passed to a method that is not modelled: an unknown that depends on what
        the lambda reads."""
        return Opaque(self.site(lam.node).text, self.lambda_source(lam))

    def any_certificate(self, target: Deployment, lam: Lam, site: Site) -> Value:
        """``context.Deployment.Certificates.Any(c => c.Value.Thumbprint == …)``."""
        levels = {"dictionary": "item", "values": "certificate"}
        body = lam.node.body
        if target.level not in levels:
            return unknown(site, target)
        if len(lam.node.params) != 1 or isinstance(body, ast.Block):
            return unknown(site, target)
        inner = {**lam.env, lam.node.params[0]: Deployment(levels[target.level])}
        formula = truth(self.expr(body, inner), self.site(body))
        if any(atom.source == LAMBDA for atom in atoms(formula)):
            return Opaque(site.text)
        return Bool(formula)

    def variable_call(self, name: str, args: tuple[ast.Expr, ...], env: Env, site: Site) -> Value:
        key = self.expr(args[0], env) if args else None
        if not isinstance(key, Text) or key.value is None:
            return Opaque(site.text)
        known = key.value in self.scope.variables
        if name == "ContainsKey" and len(args) == 1:
            return Bool(TRUE) if known else Opaque(site.text)
        if name == "GetValueOrDefault" and known:
            return _without_throws(self.scope.variables[key.value], site)
        return Opaque(site.text)

    def index(self, node: ast.Index, env: Env) -> Value:
        site = self.site(node)
        target = self.link(node.target, env)
        if target == Path("context.Variables") and len(node.args) == 1:
            return self.variable_call("GetValueOrDefault", node.args, env, site)
        if target == Path(_HEADERS) and len(node.args) == 1:
            return bind(self.expr(node.args[0], env), lambda name: header_values(name, site))

        def index(leaf: Leaf) -> Value:
            if isinstance(leaf, Null):
                return skipped(leaf, node.conditional)
            if isinstance(leaf, Field) and leaf.name == HEADER_VALUES:
                return Field(leaf.source, HEADER)
            return unknown(site, leaf)

        return bind(target, index)

    def unary(self, node: ast.Unary, env: Env) -> Value:
        operand = self.expr(node.operand, env)
        if node.op == "!":
            return Bool(not_(truth(operand, self.site(node.operand))))
        if node.op == "-" and isinstance(operand, Number):
            return Number(-operand.value)
        return bind(operand, lambda leaf: unknown(self.site(node), leaf))

    def binary(self, node: ast.Binary, env: Env) -> Value:
        site = self.site(node)
        left, right = self.expr(node.left, env), self.expr(node.right, env)
        if node.op in ("&&", "||", "&", "|"):
            a, b = truth(left, self.site(node.left)), truth(right, self.site(node.right))
            return Bool(_logical(node.op, a, b))
        if node.op == "??":
            return bind(left, lambda leaf: right if isinstance(leaf, Null) else leaf)
        if node.op in _COMPARISONS:
            return _bind_all([left, right], lambda ab: compare(node.op, ab[0], ab[1], site))
        if node.op == "+":
            return _bind_all([left, right], lambda ab: _plus(ab[0], ab[1], site))
        return _bind_all([left, right], lambda ab: unknown(site, *ab))

    def is_(self, node: ast.Is, env: Env) -> Value:
        site = self.site(node)
        operand = self.expr(node.operand, env)
        if node.type is None:
            op = "!=" if node.negated else "=="
            return bind(operand, lambda leaf: compare(op, leaf, Null(), site))
        is_cert = node.type.name.endswith("X509Certificate2")

        def test(leaf: Leaf) -> Value:
            if isinstance(leaf, Null) or (isinstance(leaf, Cert) and is_cert):
                holds = isinstance(leaf, Cert) != node.negated
                return Bool(TRUE if holds else FALSE)
            return unknown(site, leaf)

        return bind(operand, test)

    def new(self, node: ast.New, env: Env) -> Value:
        site = self.site(node)
        args = [self.expr(arg, env) for arg in node.args]
        type_name = node.type.name if node.type else ""
        if type_name.endswith("X509Certificate2"):
            return _bind_all(args, lambda values: construct(type_name, values, site))
        if type_name.rsplit(".", 1)[-1] not in _COLLECTIONS:
            return unknown(site, *args)
        items = [self.item(item, env) for item in node.items or ()]
        if args and isinstance(args[0], TextSet):
            items.extend(args[0].items)
        ignore_case = len(args) > 1 and isinstance(args[-1], Path) and "IgnoreCase" in args[-1].path
        if all(isinstance(item, Text) for item in items):
            texts = tuple(item for item in items if isinstance(item, Text))
            return TextSet(texts, ignore_case)
        return Opaque(site.text)


_CERTIFICATE = re.compile(r"context\s*\.\s*Request\s*\.\s*Certificate\b")


def _reads_certificate(text: str, env: Env) -> str:
    """The source an unmodelled piece of code may read: the client certificate when it names
    it or a local that holds certificate data, else none."""
    if _CERTIFICATE.search(text):
        return REQUEST
    for name, held in env.items():
        source = value_source(held)
        if source and re.search(rf"\b{re.escape(name)}\b", text):
            return source
    return ""


def _interpolated_text(piece: str) -> Text:
    """A literal piece of an interpolated string (escapes are left as written: only whether it
    is empty matters to the analysis)."""
    text = piece.replace("{{", "{").replace("}}", "}")
    return Text(text, text)


def _attributed(result: Value, source: str) -> Value:
    """``result`` with its unknown parts attributed to ``source`` where they name none."""
    if not source:
        return result
    if isinstance(result, Choice):
        return choice(
            result.cond, _attributed(result.then, source), _attributed(result.other, source)
        )
    if isinstance(result, Opaque) and not result.source:
        return Opaque(result.text, source)
    return result


def _end_of_chain(leaf: Leaf) -> Value:
    return Null() if isinstance(leaf, Null) else leaf


def _literal_value(
    literal: str | int | float | bool | None, is_char: bool, scope: Scope, raw: str = ""
) -> Value:
    """A literal's value; ``raw`` is the text as authored when it differs (a placeholder)."""
    if literal is None:
        return Null()
    if isinstance(literal, bool):
        return Bool(TRUE if literal else FALSE)
    if isinstance(literal, int | float):
        return Number(literal)
    resolved = literal if is_char else resolve_literal(literal, scope.named_value)
    return Text(raw or literal, resolved)


def _logical(op: str, a: Formula, b: Formula) -> Formula:
    """``&&``/``||`` short-circuit; ``&``/``|`` on booleans evaluate both sides."""
    if op == "&&":
        return and_(a, b)
    if op == "||":
        return or_(a, b)
    if op == "&":
        return if_(a, b, and_(b, FALSE))
    return if_(a, or_(b, TRUE), b)


def _plus(left: Leaf, right: Leaf, site: Site) -> Value:
    if isinstance(left, Number) and isinstance(right, Number):
        return Number(left.value + right.value)
    return derived(site, [left, right])


def derived(site: Site, parts: list[Leaf]) -> Value:
    """A string built from ``parts`` (concatenation, interpolation): a literal when they all
    are, else a value that carries the certificate or header data of its parts."""
    texts = [part.value for part in parts if isinstance(part, Text) and part.value is not None]
    if len(texts) == len(parts):
        return Text(site.text, "".join(texts))
    if len(texts) == len(parts) - 1 and not "".join(texts):  # "" + x is x
        return next(part for part in parts if not isinstance(part, Text))
    for part in parts:
        if isinstance(part, Field) and part.name in (HEADER, HEADER_DATA):
            return Field(part.source, HEADER_DATA)
    return unknown(site, *parts)


def _bind_all(values: list[Value], step: Callable[[list[Leaf]], Value]) -> Value:
    """Bind several values left to right (C# evaluates operands in order)."""
    if not values:
        return step([])
    return bind(values[0], lambda first: _bind_all(values[1:], lambda rest: step([first, *rest])))


def _without_throws(variable: Value, site: Site) -> Value:
    """A variable read later: the paths on which setting it threw went to on-error instead."""
    variable = settle(variable)
    if isinstance(variable, Choice):
        then, other = variable.then, variable.other
        if isinstance(then, Throw):
            return _without_throws(other, site)
        if isinstance(other, Throw):
            return _without_throws(then, site)
        _throws, cond = split(variable.cond)
        return choice(cond, _without_throws(then, site), _without_throws(other, site))
    return Opaque(site.text) if isinstance(variable, Throw) else variable


def _contains(result: Value, leaf: Leaf) -> bool:
    if isinstance(result, Choice):
        return _contains(result.then, leaf) or _contains(result.other, leaf)
    return result == leaf
