"""Parser for the C# subset of APIM policy expressions: ``@(expression)`` and ``@{ statements }``.

Entry point: :func:`parse`. It reads the expression text as authored, with or without the
leading ``@``; offsets in the tree and in :class:`ExpressionSyntaxError` point into that text.
Statements the analyser does not model (``for``/``while``/``do`` loops, ``switch``, ``try``,
``using``, local functions)
are parsed for syntax and kept as :class:`~mtls_audit.policy.expressions.syntax.Unanalysed`.
"""

from __future__ import annotations

from functools import lru_cache

from mtls_audit.policy.expressions import syntax as ast
from mtls_audit.policy.expressions.expressions import RESERVED, ExpressionParser
from mtls_audit.policy.expressions.lexer import ExpressionSyntaxError, TokenKind

__all__ = ["ExpressionSyntaxError", "parse", "parse_block", "parse_expression"]


@lru_cache(maxsize=8192)
def parse(text: str) -> ast.Expr | ast.Block:
    """Parse ``@(…)``/``(…)``/a bare expression, or ``@{…}``/``{…}`` into a block.

    Memoised: one expression text recurs across many effective policies, and the tree is
    immutable, so it is parsed once.
    """
    parser = _Parser(_strip_at(text))
    tree: ast.Expr | ast.Block
    tree = parser.block() if parser.at("{") else parser.expr()
    parser.expect_end()
    return tree


def parse_expression(text: str) -> ast.Expr:
    """Parse a single expression (``@(…)`` or bare); a block is an error."""
    tree = parse(text)
    if isinstance(tree, ast.Block):
        raise ExpressionSyntaxError("expected an expression, found a statement block", 0)
    return tree


def parse_block(text: str) -> ast.Block:
    """Parse a statement block ``@{ … }``."""
    tree = parse(text)
    if not isinstance(tree, ast.Block):
        raise ExpressionSyntaxError("expected a statement block", 0)
    return tree


def _strip_at(text: str) -> str:
    """Blank out the ``@`` of an ``@(``/``@{`` wrapper, keeping every offset in place."""
    stripped = text.lstrip()
    if stripped[:2] in ("@(", "@{"):
        at = len(text) - len(stripped)
        return text[:at] + " " + text[at + 1 :]
    return text


class _Parser(ExpressionParser):
    def block(self) -> ast.Block:
        start = self.expect("{").start
        statements: list[ast.Stmt] = []
        while not self.accept("}"):
            if self.tok.kind is TokenKind.END:
                raise self.error("expected '}'")
            statements.append(self.statement())
        return self.node(ast.Block, start, tuple(statements))

    def statement(self) -> ast.Stmt:
        start = self.tok.start
        word = self.tok.text if self.tok.kind is TokenKind.NAME else ""
        if self.at("{"):
            return self.block()
        if self.accept(";"):
            return self.node(ast.Block, start, ())
        if word == "if":
            self.pos += 1
            cond = self.paren_expr()
            then = self.statement()
            other = self.statement() if self.accept("else") else None
            return self.node(ast.If, start, cond, then, other)
        if word == "return":
            self.pos += 1
            value = None if self.at(";") else self.expr()
            self.expect(";")
            return self.node(ast.Return, start, value)
        if word in ("break", "continue", "throw"):
            self.pos += 1
            thrown = self.expr() if word == "throw" and not self.at(";") else None
            self.expect(";")
            return self.node(ast.Jump, start, word, thrown)
        if word == "foreach":
            self.pos += 1
            self.expect("(")
            if not self.accept("var"):
                self.type()
            name = self.name()
            self.expect("in")
            collection = self.expr()
            self.expect(")")
            return self.node(ast.Foreach, start, name, collection, self.statement())
        if word in _COMPOUND:
            self.pos += 1
            _COMPOUND[word](self)
            return self.node(ast.Unanalysed, start, word)
        declaration = self.declaration(start)
        if declaration is not None:
            self.expect(";")
            return declaration
        if self.local_function():
            return self.node(ast.Unanalysed, start, "local function")
        expr = self.expr()
        self.expect(";")
        return self.node(ast.ExprStmt, start, expr)

    def declaration(self, start: int) -> ast.VarDecl | None:
        saved = self.pos
        self.accept("const")
        declared: ast.TypeRef | None = None
        if self.at("var") and self.peek().kind is TokenKind.NAME:
            self.pos += 1
        else:
            declared = self.attempt_type()
            if (
                declared is None
                or self.tok.kind is not TokenKind.NAME
                or self.tok.text in RESERVED
                or self.peek().text not in ("=", ";", ",")
            ):
                self.pos = saved
                return None
        names: list[tuple[str, ast.Expr | None]] = []
        while True:
            name = self.name()
            init = None
            if self.accept("="):
                init = self.array_initializer(declared) if self.at("{") else self.expr()
            names.append((name, init))
            if not self.accept(","):
                return self.node(ast.VarDecl, start, declared, tuple(names))

    def array_initializer(self, declared: ast.TypeRef | None) -> ast.New:
        """``string[] x = { … }``: an array created without ``new``."""
        start = self.tok.start
        if declared is None or not declared.array_rank:
            raise self.error("an initializer without 'new' needs an array type")
        return self.node(ast.New, start, declared, (), self.initializer())

    def local_function(self) -> bool:
        """Skip ``T Name(T a, …) { … }`` if it is written here."""
        saved = self.pos
        if self.attempt_type() is None or self.tok.kind is not TokenKind.NAME:
            self.pos = saved
            return False
        self.pos += 1
        if not self.accept("("):
            self.pos = saved
            return False
        while not self.accept(")"):
            if self.attempt_type() is None:
                self.pos = saved
                return False
            self.name()
            self.accept(",")
        self.block()
        return True

    def paren_expr(self) -> ast.Expr:
        self.expect("(")
        expr = self.expr()
        self.expect(")")
        return expr

    # -- statements kept as Unanalysed (the keyword is already consumed) ----------------------

    def do_loop(self) -> None:
        self.statement()
        self.expect("while")
        self.paren_expr()
        self.expect(";")

    def for_loop(self) -> None:
        self.expect("(")
        for separator in (";", ";"):
            if not self.at(separator) and self.declaration(self.tok.start) is None:
                self.expr()
            self.expect(separator)
        while not self.accept(")"):
            self.expr()
            self.accept(",")
        self.statement()

    def header_and_body(self) -> None:
        """``while (…) stmt``, ``using (…) stmt``."""
        self.expect("(")
        if self.declaration(self.tok.start) is None:
            self.expr()
        self.expect(")")
        self.statement()

    def try_statement(self) -> None:
        self.block()
        while self.accept("catch"):
            if self.accept("("):
                self.type()
                if self.tok.kind is TokenKind.NAME:
                    self.name()
                self.expect(")")
            self.block()
        if self.accept("finally"):
            self.block()

    def switch_statement(self) -> None:
        self.paren_expr()
        self.expect("{")
        while not self.accept("}"):
            if self.accept("case"):
                self.expr()
                self.expect(":")
            elif self.accept("default"):
                self.expect(":")
            else:
                self.statement()

    def checked_block(self) -> None:
        self.block()


_COMPOUND = {
    "do": _Parser.do_loop,
    "for": _Parser.for_loop,
    "while": _Parser.header_and_body,
    "using": _Parser.header_and_body,
    "try": _Parser.try_statement,
    "switch": _Parser.switch_statement,
    "checked": _Parser.checked_block,
    "unchecked": _Parser.checked_block,
}
