"""A concrete request for the expression analyser's tests, and a brute-force C# interpreter.

:func:`interpret` runs a parsed policy expression directly against a :class:`Request` (the
supported subset only), returning True, False or ERROR. :func:`assignment_for` reads the truth
of each certificate atom off the same request. The property tests check that the formula the
analyser derives, evaluated under that assignment, gives what the interpreter gives.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from mtls_audit.policy.expressions import syntax as ast
from mtls_audit.policy.expressions.atoms import REQUEST, Atom, AtomKind, is_header_source
from mtls_audit.policy.expressions.logic import ERROR, Outcome


@dataclass(frozen=True)
class Certificate:
    thumbprint: str
    issuer: str
    subject: str
    serial: str
    not_before: datetime
    not_after: datetime
    chain_ok: bool
    revocation_ok: bool


@dataclass(frozen=True)
class Request:
    """The certificate (None: none presented), the clock, headers and the deployment."""

    certificate: Certificate | None
    now: datetime
    deployment: frozenset[str] = frozenset()  # thumbprints uploaded to the instance
    headers: Mapping[str, str] = field(default_factory=dict)
    header_certificates: Mapping[str, Certificate] = field(default_factory=dict)  # by payload
    path: str = "/"
    named_values: Mapping[str, str] = field(default_factory=dict)
    opaque: Mapping[str, bool] = field(default_factory=dict)  # by opaque atom text


class Thrown(Exception):
    """An exception inside the expression: APIM would run on-error."""


_SKIPPED = object()  # a null that a `?.` carries to the end of an access chain


@dataclass(frozen=True)
class _Ns:
    path: str


@dataclass(frozen=True)
class _Pair:
    key: str
    value: Any


@dataclass(frozen=True)
class _X500:
    name: str


@dataclass(frozen=True)
class _Deployed:
    thumbprint: str


def _verify(cert: Certificate, now: datetime, revocation: bool) -> bool:
    in_period = cert.not_before <= now <= cert.not_after
    return cert.chain_ok and in_period and (cert.revocation_ok or not revocation)


def _holds(atom: Atom, cert: Certificate, request: Request) -> bool:
    kind = atom.kind
    now = request.now
    fields = {
        AtomKind.THUMBPRINT_EQ: cert.thumbprint,
        AtomKind.ISSUER_EQ: cert.issuer,
        AtomKind.SUBJECT_EQ: cert.subject,
        AtomKind.SUBJECT_CONTAINS: cert.subject,
        AtomKind.SERIAL_EQ: cert.serial,
    }
    if kind in fields:
        value = fields[kind]
        literal = atom.literal
        if literal is None:
            literal = request.named_values[atom.text.strip("{} ")]
        if not atom.case_sensitive:
            value, literal = value.upper(), literal.upper()
        return literal in value if kind is AtomKind.SUBJECT_CONTAINS else value == literal
    return {
        AtomKind.CHAIN_VALID: lambda: _verify(cert, now, True),
        AtomKind.CHAIN_VALID_NO_REVOCATION: lambda: _verify(cert, now, False),
        AtomKind.EXPIRED: lambda: cert.not_after < now,
        AtomKind.NOT_YET_VALID: lambda: cert.not_before > now,
        AtomKind.IN_DEPLOYMENT_CERTS: lambda: cert.thumbprint in request.deployment,
    }[kind]()


def assignment_for(atoms: Iterable[Atom], request: Request) -> dict[Atom, bool]:
    """The truth of each atom for ``request`` (all False for an absent certificate but
    CERT_NULL, as the analyser's enumeration does)."""
    result: dict[Atom, bool] = {}
    for atom in atoms:
        if atom.kind is AtomKind.OPAQUE:
            result[atom] = request.opaque[atom.text]
            continue
        cert = _certificate_of(atom.source, request)
        if atom.kind is AtomKind.CERT_NULL:
            result[atom] = cert is None
        else:
            result[atom] = cert is not None and _holds(atom, cert, request)
    return result


def _certificate_of(source: str, request: Request) -> Certificate | None:
    if source == REQUEST:
        return request.certificate
    assert is_header_source(source)
    payload = request.headers.get(source.split(":", 1)[1], "")
    return request.header_certificates.get(payload) if payload else None


# -- the interpreter ----------------------------------------------------------------------------


def interpret(tree: ast.Expr | ast.Block, request: Request) -> Outcome:
    """Run ``tree`` against ``request``: True, False or ERROR (anything else is a test bug)."""
    try:
        if isinstance(tree, ast.Block):
            result = _Interpreter(request).run(tree.statements, {})
        else:
            result = _Interpreter(request).expr(tree, {})
    except Thrown:
        return ERROR
    assert isinstance(result, bool), result
    return result


_STRING_METHODS: dict[str, Callable[..., Any]] = {
    "ToUpper": str.upper,
    "ToUpperInvariant": str.upper,
    "ToLower": str.lower,
    "ToLowerInvariant": str.lower,
    "StartsWith": str.startswith,
}


class _Interpreter:
    def __init__(self, request: Request):
        self.request = request

    def run(self, statements: tuple[ast.Stmt, ...], env: dict[str, Any]) -> Any:
        for index, statement in enumerate(statements):
            if isinstance(statement, ast.Block):
                return self.run(statement.statements + statements[index + 1 :], env)
            if isinstance(statement, ast.VarDecl):
                for name, init in statement.names:
                    env[name] = None if init is None else self.expr(init, env)
            elif isinstance(statement, ast.If):
                branch = statement.then if self.expr(statement.cond, env) else statement.other
                if branch is not None:
                    return self.run((branch, *statements[index + 1 :]), env)
            elif isinstance(statement, ast.Return):
                return None if statement.value is None else self.expr(statement.value, env)
            elif isinstance(statement, ast.ExprStmt):
                expr = statement.expr
                assert isinstance(expr, ast.Assign)
                assert isinstance(expr.target, ast.Name)
                env[expr.target.id] = self.expr(expr.value, env)
            else:
                raise AssertionError(statement)
        raise AssertionError("fell off the end of the block")

    def expr(self, node: ast.Expr, env: Mapping[str, Any]) -> Any:
        if isinstance(node, ast.Literal):
            return self.literal(node)
        if isinstance(node, ast.Name):
            return env[node.id] if node.id in env else self.path(node.id)
        if isinstance(node, ast.Member | ast.Call):
            result = self.link(node, env)
            return None if result is _SKIPPED else result
        if isinstance(node, ast.Unary):
            assert node.op == "!"
            return not self.expr(node.operand, env)
        if isinstance(node, ast.Binary):
            return self.binary(node, env)
        if isinstance(node, ast.Conditional):
            chosen = node.then if self.expr(node.cond, env) else node.other
            return self.expr(chosen, env)
        if isinstance(node, ast.Is):
            assert node.type is None
            return (self.expr(node.operand, env) is None) != node.negated
        if isinstance(node, ast.New):
            return self.new(node, env)
        if isinstance(node, ast.Cast | ast.As):
            return self.expr(node.operand, env)
        raise AssertionError(node)

    def link(self, node: ast.Expr, env: Mapping[str, Any]) -> Any:
        """One link of an access chain: ``a?.b.c()`` is null, not a throw, when ``a`` is."""
        if not isinstance(node, ast.Member | ast.Call):
            return self.expr(node, env)
        func = node if isinstance(node, ast.Member) else node.func
        assert isinstance(func, ast.Member)
        target = self.link(func.target, env)
        if target is _SKIPPED or (target is None and func.conditional):
            return _SKIPPED
        if target is None:
            raise Thrown
        if isinstance(node, ast.Member):
            return self.member(target, node.name)
        return self.call(node, target, env)

    def literal(self, node: ast.Literal) -> Any:
        value = node.value
        if isinstance(value, str) and value.startswith("{{"):
            return self.request.named_values[value.strip("{} ")]
        return value

    def path(self, path: str) -> Any:
        if path == "context.Request.Certificate":
            return self.request.certificate
        if path in ("DateTime.Now", "DateTime.UtcNow"):
            return self.request.now
        if path == "context.Deployment.Certificates":
            return {thumb: _Deployed(thumb) for thumb in sorted(self.request.deployment)}
        if path == "context.Request.Url.Path":
            return self.request.path
        return _Ns(path)

    def member(self, target: Any, name: str) -> Any:
        if isinstance(target, _Ns):
            return self.path(f"{target.path}.{name}")
        if isinstance(target, Certificate):
            names = {"Thumbprint": "thumbprint", "Issuer": "issuer", "Subject": "subject"}
            names |= {"SerialNumber": "serial", "NotAfter": "not_after", "NotBefore": "not_before"}
            if name in ("IssuerName", "SubjectName"):
                return _X500(getattr(target, name.removesuffix("Name").lower()))
            return getattr(target, names[name])
        if isinstance(target, _X500):
            assert name == "Name"
            return target.name
        if isinstance(target, _Pair):
            return target.value if name == "Value" else target.key
        if isinstance(target, _Deployed):
            assert name == "Thumbprint"
            return target.thumbprint
        raise AssertionError((target, name))

    def call(self, node: ast.Call, target: Any, env: Mapping[str, Any]) -> Any:
        func = node.func
        assert isinstance(func, ast.Member)
        name = func.name
        if isinstance(target, dict) and name == "Any":
            lam = node.args[0]
            assert isinstance(lam, ast.Lambda)
            assert not isinstance(lam.body, ast.Block)
            pairs = [_Pair(key, value) for key, value in target.items()]
            return any(self.expr(lam.body, {**env, lam.params[0]: pair}) for pair in pairs)
        args = [self.expr(arg, env) for arg in node.args]
        if isinstance(target, _Ns):
            return self.static(target.path, name, args)
        if isinstance(target, Certificate):
            return _verify(target, self.request.now, name == "Verify")
        if isinstance(target, dict) and name == "ContainsKey":
            if args[0] is None:
                raise Thrown
            return args[0] in target
        if name == "Equals":
            return _equals(target, args[0], _ignores_case(args[1:]))
        if name == "Contains":
            return self.contains(target, args)
        if isinstance(target, str) and name in _STRING_METHODS:
            return _STRING_METHODS[name](target, *args)
        raise AssertionError((target, name))

    def contains(self, target: Any, args: list[Any]) -> bool:
        if isinstance(target, list):
            ignore_case = _ignores_case(args[1:])
            return any(_equals(item, args[0], ignore_case) for item in target)
        if args[0] is None:
            raise Thrown
        return bool(args[0] in target)

    def static(self, path: str, name: str, args: list[Any]) -> Any:
        if (path, name) == ("string", "Equals"):
            return _equals(args[0], args[1], _ignores_case(args[2:]), static=True)
        if (path, name) == ("DateTime", "Compare"):
            return (args[0] > args[1]) - (args[0] < args[1])
        if (path, name) == ("context.Request.Headers", "GetValueOrDefault"):
            return self.request.headers.get(args[0], args[1] if len(args) > 1 else None)
        if (path, name) == ("Convert", "FromBase64String"):
            if args[0] is None:
                raise Thrown
            return ("bytes", args[0])
        raise AssertionError((path, name))

    def new(self, node: ast.New, env: Mapping[str, Any]) -> Any:
        if node.type is not None and node.type.name == "X509Certificate2":
            data = self.expr(node.args[0], env)
            if data is None or data[1] not in self.request.header_certificates:
                raise Thrown
            return self.request.header_certificates[data[1]]
        return [self.expr(item, env) for item in node.items or ()]

    def binary(self, node: ast.Binary, env: Mapping[str, Any]) -> Any:
        left = self.expr(node.left, env)
        if node.op == "&&":
            return bool(left) and bool(self.expr(node.right, env))
        if node.op == "||":
            return bool(left) or bool(self.expr(node.right, env))
        right = self.expr(node.right, env)
        if node.op == "??":
            return right if left is None else left
        if node.op == "==":
            return left == right
        if node.op == "!=":
            return left != right
        operators: dict[str, Callable[[Any, Any], bool]] = {
            "<": lambda a, b: a < b,
            "<=": lambda a, b: a <= b,
            ">": lambda a, b: a > b,
            ">=": lambda a, b: a >= b,
        }
        return operators[node.op](left, right)


def _ignores_case(comparison: list[Any]) -> bool:
    """An optional ``StringComparison``/``StringComparer`` argument."""
    return bool(comparison) and str(comparison[0].path).endswith("IgnoreCase")


def _equals(a: Any, b: Any, ignore_case: bool, static: bool = False) -> bool:
    """``a.Equals(b)`` (or ``string.Equals(a, b)`` if ``static``), ordinal or ignoring case."""
    if a is None:
        if not static:
            raise Thrown
        return b is None
    if b is None:
        return False
    return bool(a.upper() == b.upper()) if ignore_case else bool(a == b)
