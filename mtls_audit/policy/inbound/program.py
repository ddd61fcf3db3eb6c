"""An effective inbound section compiled into a small program over certificate atoms.

Only what decides whether a request goes on matters here: ``<choose>`` (the first ``<when>`` whose
condition holds runs, else ``<otherwise>``), ``<return-response>`` and ``<mock-response>`` (a
status of 400 or more rejects, anything else answers the client instead of the backend; no
``<set-status>`` means 200), ``<validate-client-certificate>`` (a failure goes to ``on-error``
unless ``ignore-error="true"``), conditions and ``<set-variable>`` expressions that throw (to
``on-error``: a 500), and ``<set-variable>`` values that later conditions read. Every other
element is neutral. Elements are referred to by their index in the section's depth-first order,
so one compiled program serves every effective section with the same elements.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from mtls_audit.policy.effective.tree import EffectiveNode
from mtls_audit.policy.expressions.atoms import (
    REQUEST,
    Atom,
    AtomKind,
    NamedValueResolver,
    resolve_literal,
)
from mtls_audit.policy.expressions.conditions import Scope, condition, constant, value
from mtls_audit.policy.expressions.logic import (
    FALSE,
    TRUE,
    Formula,
    Var,
    and_,
    atoms,
    not_,
    or_,
    split,
)
from mtls_audit.policy.expressions.parser import ExpressionSyntaxError
from mtls_audit.policy.expressions.values import (
    Bool,
    Choice,
    Null,
    Opaque,
    Text,
    Throw,
    Value,
    choice,
    settle,
)
from mtls_audit.policy.inbound.validate import Flags, unknown_fact, validation

VALIDATE = "validate-client-certificate"
CONTAINERS = frozenset({"retry", "limit-concurrency", "wait"})
"""Elements whose children run as part of the request (``wait`` runs them in parallel; read in
order here)."""
_TERMINAL_TAGS = frozenset({"return-response", "mock-response", VALIDATE, "choose"})
_READ_TAGS = (
    _TERMINAL_TAGS
    | CONTAINERS
    | {
        "when",
        "otherwise",
        "set-status",
        "identities",
        "identity",
        "set-variable",
    }
)


class Stop(enum.Enum):
    REJECT = "reject"  # a 4xx/5xx response, or a failed validate-client-certificate
    ERROR = "error"  # an expression threw: on-error answers (a 500)
    SERVE = "serve"  # a 1xx-3xx response from the gateway: the request is not rejected


@dataclass(frozen=True, slots=True)
class Exit:
    """Where the request stops when ``when`` holds (``when`` never throws)."""

    when: Formula
    stop: Stop
    node: int
    status: int | None = None
    how: str = ""  # "return-response", "validate-client-certificate", "mock-response", "error"


@dataclass(frozen=True, slots=True)
class Arm:
    """One ``<when>``: its condition split into when it throws and when it holds."""

    node: int
    throws: Formula
    holds: Formula
    steps: tuple[Step, ...]


@dataclass(frozen=True, slots=True)
class Branch:
    node: int
    arms: tuple[Arm, ...]
    otherwise: tuple[Step, ...]


Step = Exit | Branch


@dataclass(frozen=True, slots=True)
class Tested:
    """An element whose expression or attributes test certificate facts."""

    node: int
    atoms: frozenset[Atom]
    flags: Flags | None = None


@dataclass(frozen=True, slots=True)
class Program:
    steps: tuple[Step, ...]
    tests: tuple[Tested, ...]
    header_reads: tuple[tuple[str, int], ...]  # (header name, element index)
    header_deletes: tuple[tuple[str, int], ...]  # (lower-case header name, element index)
    unsupported: tuple[tuple[int, str], ...]  # (element index, why)
    sites: Mapping[Atom, int]  # the first element where each atom is tested

    @property
    def atoms(self) -> frozenset[Atom]:
        found: set[Atom] = set()
        _collect(self.steps, found)
        return frozenset(found)


def _collect(steps: tuple[Step, ...], found: set[Atom]) -> None:
    for step in steps:
        if isinstance(step, Exit):
            found |= atoms(step.when)
        else:
            for arm in step.arms:
                found |= atoms(arm.throws) | atoms(arm.holds)
                _collect(arm.steps, found)
            _collect(step.otherwise, found)


@dataclass
class _Compiler:
    resolve: NamedValueResolver
    index: Callable[[EffectiveNode], int]
    tests: list[Tested] = field(default_factory=list)
    reads: list[tuple[str, int]] = field(default_factory=list)
    deletes: list[tuple[str, int]] = field(default_factory=list)
    unsupported: list[tuple[int, str]] = field(default_factory=list)
    sites: dict[Atom, int] = field(default_factory=dict)
    memo: dict[str, Formula] = field(default_factory=dict)

    def sequence(
        self, nodes: tuple[EffectiveNode, ...], variables: dict[str, Value]
    ) -> tuple[Step, ...]:
        steps: list[Step] = []
        for node in nodes:
            steps += self.element(node, variables)
            if steps and isinstance(steps[-1], Exit) and steps[-1].when == TRUE:
                break  # nothing after an unconditional stop runs
        return tuple(steps)

    def element(self, node: EffectiveNode, variables: dict[str, Value]) -> list[Step]:
        tag = node.tag
        if tag == "choose":
            return self.choose(node, variables)
        if tag in ("return-response", "mock-response"):
            return self.response(node)
        if tag == VALIDATE:
            return self.validate(node)
        if tag == "set-variable":
            return self.set_variable(node, variables)
        if _deletes_header(node):
            self.deletes.append(((node.attr("name") or "").strip().lower(), self.index(node)))
            return []
        if tag in CONTAINERS:
            return list(self.sequence(node.children, variables))
        if _holds_terminals(node):
            return self.opaque_element(node, f"<{tag}> holds policies whose effect is not modelled")
        return []

    # -- <choose> -----------------------------------------------------------------------------

    def choose(self, node: EffectiveNode, variables: dict[str, Value]) -> list[Step]:
        arms: list[Arm] = []
        arm_values: list[tuple[Formula, dict[str, Value]]] = []
        otherwise: tuple[Step, ...] = ()
        other_values = dict(variables)
        for child in node.children:
            if child.tag == "when":
                formula = self.condition(child, variables)
                throws, holds = split(formula)
                inner = dict(variables)
                steps = self.sequence(child.children, inner)
                arms.append(Arm(self.index(child), throws, holds, steps))
                arm_values.append((holds, inner))
            elif child.tag == "otherwise":
                otherwise = self.sequence(child.children, other_values)
        changed = {
            name
            for _, inner in [*arm_values, (TRUE, other_values)]
            for name, held in inner.items()
            if variables.get(name) != held
        }
        for name in sorted(changed):
            merged = other_values.get(name, variables.get(name, Null()))  # unset reads as null
            for holds, inner in reversed(arm_values):
                merged = choice(holds, inner.get(name, merged), merged)
            variables[name] = merged
        if any(arm.steps for arm in arms) or otherwise:
            return [Branch(self.index(node), tuple(arms), otherwise)]
        # Nothing in it stops the request: only its conditions throwing can matter.
        exits: list[Step] = []
        reached: Formula = TRUE
        for arm in arms:
            if arm.throws != FALSE:
                exits.append(Exit(and_(reached, arm.throws), Stop.ERROR, arm.node, 500, "error"))
            reached = and_(reached, not_(arm.holds))
        return exits

    def condition(self, node: EffectiveNode, variables: Mapping[str, Value]) -> Formula:
        text = node.attr("condition")
        if text is None:
            self.unsupported.append((self.index(node), "a <when> without a condition"))
            return unknown_fact(f"<when> #{self.index(node)} without a condition")
        try:
            formula = self.memo.get(text) if not variables else None
            if formula is None:
                formula = condition(text, Scope(self.resolve, variables))
                if not variables:
                    self.memo[text] = formula
        except (ExpressionSyntaxError, RecursionError) as exc:
            self.unsupported.append((self.index(node), f"the condition cannot be read: {exc}"))
            if _MENTIONS_CERTIFICATE.search(text):
                fact = unknown_fact(text)
            else:
                fact = Var(Atom(AtomKind.OPAQUE, "", text=" ".join(text.split())))
            self.sites.setdefault(fact.atom, self.index(node))
            return fact
        self.note(node, atoms(formula))
        return formula

    # -- responses and validation --------------------------------------------------------------

    def validate(self, node: EffectiveNode) -> list[Step]:
        found = validation(node, self.resolve)
        index = self.index(node)
        self.tests.append(Tested(index, atoms(found.fails), found.flags))
        for atom in atoms(found.fails):
            self.sites.setdefault(atom, index)
        rejects = and_(not_(found.ignore), found.fails)
        return [] if rejects == FALSE else [Exit(rejects, Stop.REJECT, index, None, VALIDATE)]

    def response(self, node: EffectiveNode) -> list[Step]:
        index = self.index(node)
        if node.tag == "mock-response":
            raw: str | None = node.attr("status-code") or "200"
        elif node.attr("response-variable-name"):
            raw = None
        else:
            status = next((c for c in node.children if c.tag == "set-status"), None)
            raw = "200" if status is None else status.attr("code")
        code = _status(raw, self.resolve)
        if code is None:
            unknown = unknown_fact(f'<{node.tag}> #{index} rejects with status "{raw}"')
            self.sites.setdefault(unknown.atom, index)
            return [
                Exit(unknown, Stop.REJECT, index, None, node.tag),
                Exit(TRUE, Stop.SERVE, index, None, node.tag),
            ]
        stop = Stop.REJECT if code >= 400 else Stop.SERVE
        return [Exit(TRUE, stop, index, code, node.tag)]

    # -- <set-variable> -------------------------------------------------------------------------

    def set_variable(self, node: EffectiveNode, variables: dict[str, Value]) -> list[Step]:
        name, raw = node.attr("name"), node.attr("value")
        if not name or raw is None:
            return []
        index = self.index(node)
        if raw.lstrip().startswith(("@(", "@{")):
            try:
                held = settle(value(raw, Scope(self.resolve, variables)))
            except (ExpressionSyntaxError, RecursionError) as exc:
                self.unsupported.append((index, f"the value cannot be read: {exc}"))
                about = REQUEST if _MENTIONS_CERTIFICATE.search(raw) else ""
                held = Opaque(" ".join(raw.split()), about)
                self.sites.setdefault(Atom(AtomKind.OPAQUE, about, text=held.text), index)
        else:
            resolved = resolve_literal(raw, self.resolve)
            held = constant(raw) if resolved == raw else Text(raw, resolved)
        variables[name] = held
        throws = _throws(held)
        # A header stored here is read by whatever condition later tests the variable; only
        # a read that can throw (reject with a 500) decides anything at this element.
        self.note(node, atoms(throws) | _value_atoms(held), reads=atoms(throws))
        return [] if throws == FALSE else [Exit(throws, Stop.ERROR, index, 500, "error")]

    # -- bookkeeping ----------------------------------------------------------------------------

    def note(
        self, node: EffectiveNode, found: frozenset[Atom], reads: frozenset[Atom] | None = None
    ) -> None:
        """Record the certificate atoms an element tests, and the header reads among
        ``reads`` (by default all of them)."""
        index = self.index(node)
        certificate = frozenset(a for a in found if a.kind is not AtomKind.OPAQUE or a.source)
        if certificate:
            self.tests.append(Tested(index, certificate))
        for atom in sorted(found, key=str):
            self.sites.setdefault(atom, index)
            read = reads is None or atom in reads
            if read and atom.header and (atom.header, index) not in self.reads:
                self.reads.append((atom.header, index))

    def opaque_element(self, node: EffectiveNode, why: str) -> list[Step]:
        index = self.index(node)
        self.unsupported.append((index, why))
        rejects = unknown_fact(f"<{node.tag}> #{index} rejects")
        answers = unknown_fact(f"<{node.tag}> #{index} answers")
        self.sites.setdefault(rejects.atom, index)
        self.sites.setdefault(answers.atom, index)
        return [
            Exit(rejects, Stop.REJECT, index, None, node.tag),
            Exit(and_(not_(rejects), answers), Stop.SERVE, index, None, node.tag),
        ]


_MENTIONS_CERTIFICATE = re.compile(r"cert|thumbprint", re.I)
"""An unreadable value that mentions these may be certificate data (the same test as for
unreadable conditions)."""


def _deletes_header(node: EffectiveNode) -> bool:
    action = (node.attr("exists-action") or "").strip().lower()
    return node.tag == "set-header" and action == "delete" and bool(node.attr("name"))


def _holds_terminals(node: EffectiveNode) -> bool:
    return any(child.tag in _TERMINAL_TAGS for child in node.iter() if child is not node)


def relevant(elements: tuple[EffectiveNode, ...]) -> tuple[tuple[int, EffectiveNode], ...]:
    """The elements the compiler reads, each with its depth, depth-first: sections whose
    relevant elements have the same tags, attributes and nesting compile alike. Unknown facts
    name an element by its number in this list (``<retry> #3``), never by line, so that the
    analysis can be shared."""
    found: list[tuple[int, EffectiveNode]] = []
    stack = [(0, node) for node in reversed(elements)]
    while stack:
        depth, node = stack.pop()
        tag = node.tag
        if tag in _READ_TAGS or _deletes_header(node) or _holds_terminals(node):
            found.append((depth, node))
            stack += [(depth + 1, child) for child in reversed(node.children)]
    return tuple(found)


def compile_section(
    elements: tuple[EffectiveNode, ...],
    index: Callable[[EffectiveNode], int],
    resolve: NamedValueResolver,
    memo: dict[str, Formula] | None = None,
) -> Program:
    """The program of a section's top-level ``elements``; ``index`` numbers the
    :func:`relevant` elements; ``memo`` keeps conditions that read no variable, by text."""
    compiler = _Compiler(resolve, index, memo={} if memo is None else memo)
    steps = compiler.sequence(elements, {})
    return Program(
        steps,
        tuple(compiler.tests),
        tuple(compiler.reads),
        tuple(compiler.deletes),
        tuple(compiler.unsupported),
        dict(compiler.sites),
    )


def _status(raw: str | None, resolve: NamedValueResolver) -> int | None:
    if raw is None:
        return None
    resolved = resolve_literal(raw, resolve)
    text = (resolved or "").strip()
    return int(text) if text.isdigit() and len(text) == 3 else None


def _throws(held: Value) -> Formula:
    """When evaluating a (settled) value threw."""
    if isinstance(held, Throw):
        return TRUE
    if isinstance(held, Choice):
        cond_throws, cond = split(held.cond)
        then, other = _throws(held.then), _throws(held.other)
        return or_(
            cond_throws,
            FALSE if then == FALSE else and_(cond, then),
            FALSE if other == FALSE else and_(not_(cond), other),
        )
    return FALSE


def _value_atoms(held: Value) -> frozenset[Atom]:
    """The atoms a value's choices depend on (what a later reader of it may test)."""
    if isinstance(held, Choice):
        return atoms(held.cond) | _value_atoms(held.then) | _value_atoms(held.other)
    return atoms(held.formula) if isinstance(held, Bool) else frozenset()
