"""Expression half of the policy-expression parser (the statement half is in ``csharp``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from mtls_audit.policy.expressions import syntax as ast
from mtls_audit.policy.expressions.lexer import ExpressionSyntaxError, Token, TokenKind, tokenize

N = TypeVar("N", bound=ast.Node)
_BINARY_LEVELS: tuple[tuple[str, ...], ...] = (
    ("||",),
    ("&&",),
    ("|",),
    ("^",),
    ("&",),
    ("==", "!="),
    ("<", ">", "<=", ">=", "is", "as"),
    ("<<", ">>"),
    ("+", "-"),
    ("*", "/", "%"),
)
_ASSIGN_OPS = frozenset({"=", "+=", "-=", "*=", "/=", "%=", "&=", "|=", "^=", "<<=", "??="})
_PREDEFINED = frozenset(
    (  # noqa: SIM905 - a word list reads better than sixteen quoted strings
        "bool byte char decimal double dynamic float int long object sbyte short string uint "
        "ulong ushort"
    ).split()
)
_SHIFT_LEVEL = _BINARY_LEVELS.index(("<<", ">>"))
RESERVED = frozenset(
    (  # noqa: SIM905
        "as break case catch checked const continue default do else finally for foreach if in "
        "is new out ref return switch throw try typeof unchecked using while"
    ).split()
)


class ExpressionParser:
    """Token helpers, types and expressions; statements come from the subclass."""

    def __init__(self, text: str):
        self.tokens = tokenize(text)
        self.pos = 0

    # -- tokens -------------------------------------------------------------------------

    @property
    def tok(self) -> Token:
        return self.tokens[self.pos]

    def peek(self, ahead: int = 1) -> Token:
        return self.tokens[min(self.pos + ahead, len(self.tokens) - 1)]

    def at(self, *texts: str) -> bool:
        tok = self.tok
        return tok.kind in (TokenKind.PUNCT, TokenKind.NAME) and tok.text in texts

    def accept(self, *texts: str) -> bool:
        if self.at(*texts):
            self.pos += 1
            return True
        return False

    def expect(self, text: str) -> Token:
        if not self.at(text):
            raise self.error(f"expected {text!r}")
        self.pos += 1
        return self.tokens[self.pos - 1]

    def expect_end(self) -> None:
        if self.tok.kind is not TokenKind.END:
            raise self.error("unexpected text after the expression")

    def error(self, message: str) -> ExpressionSyntaxError:
        found = self.tok.text or self.tok.kind.value
        return ExpressionSyntaxError(f"{message}, found {found!r}", self.tok.start)

    def name(self) -> str:
        tok = self.tok
        if tok.kind is not TokenKind.NAME or tok.text in RESERVED:
            raise self.error("expected a name")
        self.pos += 1
        return str(tok.value)

    def node(self, kind: Callable[..., N], start: int, *fields: object) -> N:
        """A node from ``start`` to the last token consumed (its fields are parsed first)."""
        return kind(ast.Span(start, self.tokens[self.pos - 1].end - start), *fields)

    def attempt_type(self) -> ast.TypeRef | None:
        """Parse a type here if one is written, else leave the position unchanged."""
        saved = self.pos
        try:
            return self.type()
        except ExpressionSyntaxError:
            self.pos = saved
            return None

    # -- types ---------------------------------------------------------------------------------

    def type(self) -> ast.TypeRef:
        name = self.name()
        while self.at(".") and self.peek().kind is TokenKind.NAME:
            self.pos += 1
            name += "." + self.name()
        args = self.type_args() if self.at("<") else ()
        nullable = self.accept("?")
        rank = 0
        while self.at("[") and self.peek().text in ("]", ","):
            self.pos += 1
            while self.accept(","):
                pass
            self.expect("]")
            rank += 1
        return ast.TypeRef(name, args, rank, nullable)

    def type_args(self) -> tuple[ast.TypeRef, ...]:
        self.expect("<")
        args = [self.type()]
        while self.accept(","):
            args.append(self.type())
        self.expect(">")
        return tuple(args)

    def block(self) -> ast.Block:
        """A ``{ … }`` statement block (lambda bodies need it; statements live in the subclass)."""
        raise NotImplementedError

    # -- expressions ---------------------------------------------------------------------------

    def expr(self) -> ast.Expr:
        start = self.tok.start
        lam = self.lambda_expr(start)
        if lam is not None:
            return lam
        target = self.conditional()
        if self.tok.kind is TokenKind.PUNCT and self.tok.text in _ASSIGN_OPS:
            op = self.tok.text
            self.pos += 1
            return self.node(ast.Assign, start, op, target, self.expr())
        return target

    def lambda_expr(self, start: int) -> ast.Lambda | None:
        params: list[str] = []
        if self.tok.kind is TokenKind.NAME and self.peek().text == "=>":
            params.append(self.name())
        elif self.at("(") and self.lambda_params_follow():
            self.pos += 1
            while not self.accept(")"):
                params.append(self.name())
                self.accept(",")
        else:
            return None
        self.expect("=>")
        body: ast.Expr | ast.Block = self.block() if self.at("{") else self.expr()
        return self.node(ast.Lambda, start, tuple(params), body)

    def lambda_params_follow(self) -> bool:
        """True at ``(a, b) =>`` or ``() =>``."""
        ahead = 1
        while self.peek(ahead).kind is TokenKind.NAME:
            ahead += 1
            if self.peek(ahead).text != ",":
                break
            ahead += 1
        return self.peek(ahead).text == ")" and self.peek(ahead + 1).text == "=>"

    def conditional(self) -> ast.Expr:
        start = self.tok.start
        cond = self.coalesce()
        if not self.accept("?"):
            return cond
        then = self.expr()
        self.expect(":")
        return self.node(ast.Conditional, start, cond, then, self.expr())

    def coalesce(self) -> ast.Expr:
        start = self.tok.start
        left = self.binary(0)
        if self.accept("??"):
            return self.node(ast.Binary, start, "??", left, self.coalesce())
        return left

    def binary(self, level: int) -> ast.Expr:
        if level == len(_BINARY_LEVELS):
            return self.unary()
        start = self.tok.start
        left = self.binary(level + 1)
        while self.at(*_BINARY_LEVELS[level]) or (level == _SHIFT_LEVEL and self.at_shift_right()):
            op = self.tok.text
            self.pos += 1
            if op == ">" and level == _SHIFT_LEVEL:
                op = ">>"
                self.pos += 1
            if op in ("is", "as"):
                left = self.type_test(op, left, start)
            else:
                left = self.node(ast.Binary, start, op, left, self.binary(level + 1))
        return left

    def at_shift_right(self) -> bool:
        """``>>`` is lexed as two ``>`` so that ``List<List<int>>`` closes two type lists."""
        return self.at(">") and self.peek().text == ">" and self.peek().start == self.tok.end

    def type_test(self, op: str, operand: ast.Expr, start: int) -> ast.Expr:
        if op == "as":
            return self.node(ast.As, start, operand, self.type())
        negated = self.accept("not")
        if self.accept("null"):
            return self.node(ast.Is, start, operand, None, negated)
        tested = self.type()
        binding = self.name() if self.tok.kind is TokenKind.NAME else None
        return self.node(ast.Is, start, operand, tested, negated, binding)

    def unary(self) -> ast.Expr:
        start = self.tok.start
        if self.tok.kind is TokenKind.PUNCT and self.tok.text in ("!", "-", "+", "~", "++", "--"):
            op = self.tok.text
            self.pos += 1
            return self.node(ast.Unary, start, op, self.unary())
        if self.at("("):
            cast = self.cast(start)
            if cast is not None:
                return cast
        return self.postfix(self.primary())

    def cast(self, start: int) -> ast.Cast | None:
        saved = self.pos
        self.pos += 1
        target = self.attempt_type()
        if target is not None and self.accept(")"):
            follower = self.tok
            operand_follows = follower.kind not in (TokenKind.PUNCT, TokenKind.END) or (
                follower.text in ("(", "!", "~")
            )
            if follower.text in ("is", "as"):
                operand_follows = False
            if operand_follows or (target.name in _PREDEFINED and follower.text in "-+"):
                return self.node(ast.Cast, start, target, self.unary())
        self.pos = saved
        return None

    def primary(self) -> ast.Expr:
        tok = self.tok
        start = tok.start
        if tok.kind in (TokenKind.STRING, TokenKind.CHAR, TokenKind.NUMBER):
            self.pos += 1
            return self.node(ast.Literal, start, tok.value, tok.kind is TokenKind.CHAR)
        if tok.kind is TokenKind.INTERPOLATED:
            self.pos += 1
            return self.node(ast.Interpolated, start, tok.text)
        if tok.kind is TokenKind.PLACEHOLDER:
            self.pos += 1
            return self.node(ast.Placeholder, start, tok.text)
        if self.accept("("):
            inner = self.expr()
            self.expect(")")
            return inner
        if tok.kind is not TokenKind.NAME:
            raise self.error("expected an expression")
        keyword = {"true": True, "false": False, "null": None}
        if tok.text in keyword:
            self.pos += 1
            return self.node(ast.Literal, start, keyword[tok.text])
        if tok.text == "new":
            return self.new(start)
        if tok.text in ("typeof", "default") and self.peek().text == "(":
            self.pos += 2
            named = self.type()
            self.expect(")")
            if tok.text == "typeof":
                return self.node(ast.TypeOf, start, named)
            return self.node(ast.Literal, start, None)
        return self.node(ast.Name, start, self.name())

    def new(self, start: int) -> ast.New:
        self.expect("new")
        created: ast.TypeRef | None = None
        if self.accept("["):
            self.expect("]")
        elif not self.at("{"):
            created = self.type()
        args: tuple[ast.Expr, ...] = ()
        if self.at("("):
            args = self.arguments("(", ")")
        elif self.at("["):
            args = self.arguments("[", "]")
            created = ast.TypeRef(created.name if created else "", array_rank=1)
        items = self.initializer() if self.at("{") else None
        return self.node(ast.New, start, created, args, items)

    def initializer(self) -> tuple[ast.Expr, ...]:
        items: list[ast.Expr] = []
        self.expect("{")
        while not self.accept("}"):
            item_start = self.tok.start
            if self.at("{"):
                items.append(self.node(ast.New, item_start, None, (), self.initializer()))
            else:
                items.append(self.expr())
            if isinstance(items[-1], ast.Placeholder) and not self.at(",", "}"):
                continue  # %{ for t in list ~}"${t}",%{ endfor ~}: a template writes the entries
            if not self.accept(","):
                self.expect("}")
                break
        return tuple(items)

    def arguments(self, opening: str, closing: str) -> tuple[ast.Expr, ...]:
        self.expect(opening)
        args: list[ast.Expr] = []
        while not self.accept(closing):
            start = self.tok.start
            if self.tok.kind is TokenKind.NAME and self.peek().text == ":":
                self.pos += 2  # a named argument: the name does not change the meaning here
            if self.accept("out", "ref", "in"):
                if not self.accept("var") and self.peek().kind is TokenKind.NAME:
                    self.type()
                args.append(self.node(ast.OutArg, start, self.name()))
            else:
                args.append(self.expr())
            if not self.accept(","):
                self.expect(closing)
                break
        return tuple(args)

    def postfix(self, expr: ast.Expr) -> ast.Expr:
        start = expr.span.offset
        while True:
            if self.at(".", "?."):
                conditional = self.tok.text == "?."
                self.pos += 1
                if conditional and self.at("["):
                    args = self.arguments("[", "]")
                    expr = self.node(ast.Index, start, expr, args, True)
                    continue
                expr = self.node(ast.Member, start, expr, self.name(), conditional)
            elif self.at("?") and self.peek().text == "[":
                self.pos += 1
                expr = self.node(ast.Index, start, expr, self.arguments("[", "]"), True)
            elif self.at("("):
                expr = self.node(ast.Call, start, expr, self.arguments("(", ")"))
            elif self.at("["):
                expr = self.node(ast.Index, start, expr, self.arguments("[", "]"))
            elif self.at("<") and isinstance(expr, ast.Name | ast.Member):
                saved = self.pos
                try:
                    type_args = self.type_args()
                except ExpressionSyntaxError:
                    type_args = ()
                if not type_args or not self.at("("):
                    self.pos = saved
                    return expr
                args = self.arguments("(", ")")
                expr = self.node(ast.Call, start, expr, args, type_args)
            elif self.at("++", "--"):
                self.pos += 1
                expr = self.node(ast.Unary, start, "post" + self.tokens[self.pos - 1].text, expr)
            else:
                return expr
