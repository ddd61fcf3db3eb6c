"""The tokenizer and parser of policy expressions: every construct, errors with offsets."""

from __future__ import annotations

import pytest

from mtls_audit.errors import InputError
from mtls_audit.policy.expressions import syntax as ast
from mtls_audit.policy.expressions.lexer import TokenKind, tokenize
from mtls_audit.policy.expressions.parser import (
    ExpressionSyntaxError,
    parse,
    parse_block,
    parse_expression,
)


def _expr(text: str) -> ast.Expr:
    return parse_expression(text)


def _source(text: str, node: ast.Node) -> str:
    return text[node.span.offset : node.span.end]


# -- tokens -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "value"),
    [
        (r'"a\"b\\c\n\t\u0041\x42"', 'a"b\\c\n\tAB'),
        ('@"C:\\path ""quoted"""', 'C:\\path "quoted"'),
        ('"\u200eABCD"', "\u200eABCD"),
        ('""', ""),
    ],
)
def test_string_literals_are_decoded(text: str, value: str) -> None:
    (token, end) = tokenize(text)
    assert token.kind is TokenKind.STRING
    assert token.value == value
    assert end.kind is TokenKind.END


def test_interpolated_strings_are_one_token_with_nested_strings_and_braces() -> None:
    text = '$"{a["b"]} {{literal}} {x:0.0}" + $@"{y}""q"""'
    tokens = tokenize(text)
    assert [t.kind for t in tokens] == [
        TokenKind.INTERPOLATED,
        TokenKind.PUNCT,
        TokenKind.INTERPOLATED,
        TokenKind.END,
    ]
    assert tokens[0].text == '$"{a["b"]} {{literal}} {x:0.0}"'


@pytest.mark.parametrize(
    ("text", "value"), [("'a'", "a"), ("'\\''", "'"), ("'\\n'", "\n"), ("'='", "=")]
)
def test_char_literals(text: str, value: str) -> None:
    token = tokenize(text)[0]
    assert (token.kind, token.value) == (TokenKind.CHAR, value)


@pytest.mark.parametrize(
    ("text", "value"),
    [("42", 42), ("0x1F", 31), ("3.5", 3.5), ("10L", 10), ("1_000", 1000), ("2.5e3", 2500.0)],
)
def test_numbers(text: str, value: float) -> None:
    token = tokenize(text)[0]
    assert (token.kind, token.value) == (TokenKind.NUMBER, value)


def test_comments_and_placeholders() -> None:
    tokens = tokenize("a /* x */ // y\n {{nv-name}} ${tf_var} #{token}#")
    assert [(t.kind, t.text) for t in tokens[:-1]] == [
        (TokenKind.NAME, "a"),
        (TokenKind.PLACEHOLDER, "{{nv-name}}"),
        (TokenKind.PLACEHOLDER, "${tf_var}"),
        (TokenKind.PLACEHOLDER, "#{token}#"),
    ]


def test_longest_operator_wins_and_null_conditional_is_one_token() -> None:
    texts = [t.text for t in tokenize("a?.b ?? c => d != e <= f && g || h")][:-1]
    assert texts == [
        "a",
        "?.",
        "b",
        "??",
        "c",
        "=>",
        "d",
        "!=",
        "e",
        "<=",
        "f",
        "&&",
        "g",
        "||",
        "h",
    ]


@pytest.mark.parametrize(
    ("text", "offset", "message"),
    [
        ('"abc', 0, "unterminated literal"),
        ("x + 'ab'", 4, "exactly one character"),
        ('"\\q"', 1, "unknown escape"),
        ("a # b", 2, "unexpected character"),
        ("/* open", 0, "unterminated comment"),
        ('$"{x', 0, "unterminated interpolated"),
    ],
)
def test_lexical_errors_carry_the_offset(text: str, offset: int, message: str) -> None:
    with pytest.raises(ExpressionSyntaxError, match=message) as caught:
        tokenize(text)
    assert caught.value.offset == offset
    assert isinstance(caught.value, InputError)
    assert f"offset {offset}" in str(caught.value)


# -- expressions --------------------------------------------------------------------------------


@pytest.mark.parametrize("text", ["@(a == b)", "(a == b)", "a == b", "  @( a == b )  "])
def test_the_at_wrapper_is_optional(text: str) -> None:
    tree = _expr(text)
    assert isinstance(tree, ast.Binary)
    assert tree.op == "=="
    assert _source(text, tree.left) == "a"


def test_precedence_of_logical_and_comparison_operators() -> None:
    tree = _expr("a || b && c == d")
    assert isinstance(tree, ast.Binary)
    assert tree.op == "||"
    assert isinstance(tree.right, ast.Binary)
    assert tree.right.op == "&&"
    assert isinstance(tree.right.right, ast.Binary)
    assert tree.right.right.op == "=="


def test_conditional_and_coalesce_are_right_associative() -> None:
    tree = _expr("a ? b : c ? d : e ?? f ?? g")
    assert isinstance(tree, ast.Conditional)
    assert isinstance(tree.other, ast.Conditional)
    coalesce = tree.other.other
    assert isinstance(coalesce, ast.Binary)
    assert coalesce.op == "??"
    assert isinstance(coalesce.right, ast.Binary)


def test_member_access_null_conditional_calls_and_indexers() -> None:
    text = 'context.Request.Certificate?.Thumbprint.ToUpper()[0]?["k"]'
    tree = _expr(text)
    assert isinstance(tree, ast.Index)
    assert tree.conditional
    inner = tree.target
    assert isinstance(inner, ast.Index)
    assert not inner.conditional
    call = inner.target
    assert isinstance(call, ast.Call)
    assert isinstance(call.func, ast.Member)
    thumbprint = call.func.target
    assert isinstance(thumbprint, ast.Member)
    assert thumbprint.conditional
    assert isinstance(thumbprint.target, ast.Member)
    assert not thumbprint.target.conditional
    assert _source(text, thumbprint) == "context.Request.Certificate?.Thumbprint"


def test_generic_calls_and_less_than_are_told_apart() -> None:
    tree = _expr(
        'context.Request.Body.As<JObject>()["a"] != null && x < y'
        ' && GetValueOrDefault<byte[]>("k") != null'
    )
    calls = [n for n in _walk(tree) if isinstance(n, ast.Call)]
    assert [c.type_args for c in calls] == [
        (ast.TypeRef("JObject"),),
        (ast.TypeRef("byte", array_rank=1),),
    ]
    assert any(isinstance(n, ast.Binary) and n.op == "<" for n in _walk(tree))


def test_nested_generic_type_arguments_close_with_two_angle_brackets() -> None:
    tree = _expr("x.Get<List<Dictionary<string, int>>>() >> 2")
    assert isinstance(tree, ast.Binary)
    assert tree.op == ">>"
    assert isinstance(tree.left, ast.Call)
    assert tree.left.type_args[0].args[0].name == "Dictionary"


@pytest.mark.parametrize(
    ("text", "params"),
    [
        ("c => c.Value", ("c",)),
        ("(c) => c.Value", ("c",)),
        ("(a, b) => a", ("a", "b")),
        ("() => 1", ()),
    ],
)
def test_lambdas(text: str, params: tuple[str, ...]) -> None:
    tree = _expr(f"xs.Any({text})")
    assert isinstance(tree, ast.Call)
    lam = tree.args[0]
    assert isinstance(lam, ast.Lambda)
    assert lam.params == params


def test_lambda_with_block_body() -> None:
    tree = _expr("xs.Any(c => { return c.Ok; })")
    assert isinstance(tree, ast.Call)
    lam = tree.args[0]
    assert isinstance(lam, ast.Lambda)
    assert isinstance(lam.body, ast.Block)


@pytest.mark.parametrize(
    ("text", "type_name"),
    [
        ('(string)context.Variables["x"]', "string"),
        ('(X509Certificate2)context.Variables["c"]', "X509Certificate2"),
        ("(int)-1", "int"),
        ("(string)null", "string"),
        ("(byte[])v", "byte"),
    ],
)
def test_casts(text: str, type_name: str) -> None:
    tree = _expr(text)
    assert isinstance(tree, ast.Cast)
    assert tree.type.name == type_name


@pytest.mark.parametrize("text", ["(a) - b", "(a).b", "(a) && b", "(a)"])
def test_parenthesised_names_that_are_not_casts(text: str) -> None:
    assert not isinstance(_expr(text), ast.Cast)


def test_as_and_is_patterns() -> None:
    text = "x as X509Certificate2 is null || y is not null || z is X509Certificate2 c"
    tree = _expr(text)
    tests = [n for n in _walk(tree) if isinstance(n, ast.Is)]
    assert [(t.type, t.negated, t.binding) for t in tests] == [
        (None, False, None),
        (None, True, None),
        (ast.TypeRef("X509Certificate2"), False, "c"),
    ]
    assert isinstance(tests[0].operand, ast.As)


def test_object_creation_forms() -> None:
    tree = _expr(
        'new X509Certificate2(Convert.FromBase64String(h)).Verify() && new[] {"A", "B"}.Contains(t)'
        ' && new List<string> { "C" }.Count > 0 && new { a = 1 } != null && new byte[16] != null'
    )
    news = [n for n in _walk(tree) if isinstance(n, ast.New)]
    assert [
        (n.type.name if n.type else None, len(n.args), n.items and len(n.items)) for n in news
    ] == [
        ("X509Certificate2", 1, None),
        (None, 0, 2),
        ("List", 0, 1),
        (None, 0, 1),
        ("byte", 1, None),
    ]


def test_typeof_default_out_arguments_and_named_arguments() -> None:
    tree = _expr(
        "typeof(string) != null && d.TryGetValue(k, out var v) && f(name: 1, out string s)"
    )
    assert any(isinstance(n, ast.TypeOf) for n in _walk(tree))
    outs = [n.name for n in _walk(tree) if isinstance(n, ast.OutArg)]
    assert outs == ["v", "s"]


def test_spans_cover_each_node_exactly() -> None:
    text = '@(context.Request.Certificate.Thumbprint != "ABC" || !cert.Verify())'
    tree = _expr(text)
    assert isinstance(tree, ast.Binary)
    assert _source(text, tree) == text[2:-1]
    assert _source(text, tree.left) == 'context.Request.Certificate.Thumbprint != "ABC"'
    assert _source(text, tree.right) == "!cert.Verify()"


# -- statement blocks ---------------------------------------------------------------------------

BLOCK = """@{
    // the certificate, if any
    var cert = context.Request.Certificate; /* may be null */
    X509Certificate2 other = null, third;
    string[] values;
    if (cert == null) return false;
    if (cert.NotAfter < DateTime.Now) { return false; } else if (x) y = 1; else { z += 2; }
    { nested(); }
    return cert.Verify();
}"""


def test_statement_block() -> None:
    block = parse_block(BLOCK)
    kinds = [type(s).__name__ for s in block.statements]
    assert kinds == ["VarDecl", "VarDecl", "VarDecl", "If", "If", "Block", "Return"]
    var, typed, array = block.statements[:3]
    assert isinstance(var, ast.VarDecl)
    assert var.type is None
    assert isinstance(typed, ast.VarDecl)
    assert [name for name, _ in typed.names] == ["other", "third"]
    assert isinstance(array, ast.VarDecl)
    assert array.type == ast.TypeRef("string", array_rank=1)
    second_if = block.statements[4]
    assert isinstance(second_if, ast.If)
    assert isinstance(second_if.then, ast.Block)
    assert isinstance(second_if.other, ast.If)
    assert isinstance(second_if.other.then, ast.ExprStmt)
    assert isinstance(second_if.other.then.expr, ast.Assign)


def test_foreach_is_parsed_into_its_parts() -> None:
    block = parse_block('@{ foreach (string h in new[] { "a" }) { n++; } return true; }')
    loop = block.statements[0]
    assert isinstance(loop, ast.Foreach)
    assert loop.name == "h"
    assert isinstance(loop.collection, ast.New)
    assert isinstance(loop.body, ast.Block)


@pytest.mark.parametrize(
    ("statement", "keyword"),
    [
        ("for (int i = 0; i < 3; i++) n += i;", "for"),
        ("while (n > 0) n--;", "while"),
        ("do { n--; } while (n > 0);", "do"),
        ("try { f(); } catch (Exception e) { } finally { }", "try"),
        ('switch (x) { case "a": return 1; default: break; }', "switch"),
        ("using (var s = new StringReader(t)) { }", "using"),
        ("unchecked { n = n * 31; }", "unchecked"),
        ("int Twice(int v) { return v * 2; }", "local function"),
    ],
)
def test_statements_that_are_parsed_but_not_analysed(statement: str, keyword: str) -> None:
    block = parse_block(f"@{{ {statement} return true; }}")
    first = block.statements[0]
    assert isinstance(first, ast.Unanalysed)
    assert first.keyword == keyword


def test_throw_break_const_and_empty_statement() -> None:
    block = parse_block("{ const int n = 1; ; throw new Exception(); }")
    assert [type(s).__name__ for s in block.statements] == ["VarDecl", "Block", "Jump"]


def test_parse_tells_blocks_from_expressions() -> None:
    assert isinstance(parse("@{ return true; }"), ast.Block)
    assert isinstance(parse("{ return true; }"), ast.Block)
    assert isinstance(parse("{{flag}} && x"), ast.Binary)
    with pytest.raises(ExpressionSyntaxError, match="statement block"):
        parse_expression("@{ return 1; }")
    with pytest.raises(ExpressionSyntaxError, match="statement block"):
        parse_block("@(1)")


@pytest.mark.parametrize(
    ("text", "offset"),
    [
        ("@(a == )", 7),
        ("@(a b)", 4),
        ("@{ return true }", 15),
        ("@{ var x = 1;", 13),
        ("@(f(a,", 6),
        ("@(x.)", 4),
    ],
)
def test_syntax_errors_carry_the_offset(text: str, offset: int) -> None:
    with pytest.raises(ExpressionSyntaxError) as caught:
        parse(text)
    assert caught.value.offset == offset


def _walk(node: object) -> list[ast.Node]:
    """Every AST node under ``node``, depth first."""
    found: list[ast.Node] = []
    if isinstance(node, ast.Node):
        found.append(node)
        for value in vars(node).values():
            found.extend(_walk(value))
    elif isinstance(node, tuple):
        for item in node:
            found.extend(_walk(item))
    return found
