"""What an effective policy writes into the response a client receives.

A response write is a ``set-header``, ``set-body`` or ``set-status`` (its reason phrase) that
shapes the client's response: in the ``outbound`` and ``on-error`` sections, and inside a
``return-response`` in any section, but never inside ``send-request`` /
``send-one-way-request`` (those build a request to another service). Each value written is read
with the expression analyser, with the variables set earlier by ``set-variable`` in scope, so a
certificate field stored in a variable and written later is still seen. Questions about a value
look at what it can evaluate to, not at the conditions choosing between its branches:
``cert.Verify() ? "ok" : "bad"`` writes no certificate data.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from mtls_audit.policy.effective.policies import Effective
from mtls_audit.policy.effective.tree import EffectiveNode
from mtls_audit.policy.expressions.atoms import (
    HEADER_PREFIX,
    REQUEST,
    NamedValueResolver,
    no_named_values,
)
from mtls_audit.policy.expressions.conditions import Scope, constant, value
from mtls_audit.policy.expressions.parser import ExpressionSyntaxError
from mtls_audit.policy.expressions.values import Cert, Choice, Field, Opaque, Path, Value, either
from mtls_audit.policy.parsing.tree import SECTIONS

RESPONSE_SECTIONS = frozenset({"outbound", "on-error"})
_WRITERS = frozenset({"set-header", "set-body", "set-status"})
_ELSEWHERE = frozenset({"send-request", "send-one-way-request"})

_CERT_MEMBER = re.compile(r"context\s*\.\s*Request\s*\.\s*Certificate\s*\??\.\s*\w")
_LAST_ERROR = re.compile(r"context\s*\.\s*LastError\b(?:\s*\??\.\s*(\w+))?")
_ERROR_DETAILS = frozenset({"Message", "Source", "Reason"})
_HEADER_NAME = re.compile(r"Request\s*\.\s*Headers\b.*?\"([^\"]*(?:cert|thumbprint)[^\"]*)\"", re.I)


@dataclass(frozen=True, slots=True)
class Written:
    """One value written: ``text`` as authored, ``value`` its symbolic value (None when the
    expression cannot be read, ``error`` then says why)."""

    text: str
    value: Value | None
    error: str = ""


@dataclass(frozen=True, slots=True)
class ResponseWrite:
    """A write into the client's response: ``target`` is ``header``, ``body`` or ``reason``;
    ``header`` the header's name; ``values`` what is written (none for a deleted header)."""

    node: EffectiveNode
    section: str
    target: str
    header: str
    deletes: bool
    values: tuple[Written, ...]

    def describe(self) -> str:
        what = f'header "{self.header}"' if self.target == "header" else self.target
        return f"{what} ({self.section}, {self.node.origin.label} line {self.node.line})"


def response_writes(
    effective: Effective, named_value: NamedValueResolver = no_named_values
) -> tuple[ResponseWrite, ...]:
    """Every response write of an effective policy, in execution order (sections in order)."""
    writes: list[ResponseWrite] = []
    variables: dict[str, Value] = {}
    for section in SECTIONS:
        for node, in_response, branch in _walk(effective.section(section).elements, False):
            name = node.attr("name") if node.tag == "set-variable" else None
            if name:
                read = _read(node.attr("value") or "", Scope(named_value, dict(variables)))
                held = Opaque(read.text) if read.value is None else read.value
                where = f"<set-variable name={name!r}> at line {node.line} ran"
                variables[name] = either(variables.get(name), held, where) if branch else held
            elif node.tag in _WRITERS and (in_response or section in RESPONSE_SECTIONS):
                writes.append(_write(node, section, Scope(named_value, dict(variables))))
    return tuple(writes)


def _walk(
    nodes: tuple[EffectiveNode, ...], in_response: bool, branch: bool = False
) -> Iterator[tuple[EffectiveNode, bool, bool]]:
    """The elements in order, with whether each shapes a response and whether it sits in a
    branch of a ``<choose>`` (then a variable it sets may keep its earlier value)."""
    for node in nodes:
        if node.tag in _ELSEWHERE:
            continue
        yield node, in_response, branch
        yield from _walk(
            node.children,
            in_response or node.tag == "return-response",
            branch or node.tag in ("when", "otherwise"),
        )


def _write(node: EffectiveNode, section: str, scope: Scope) -> ResponseWrite:
    if node.tag == "set-header":
        texts = [child.text for child in node.children if child.tag == "value"]
        action = (node.attr("exists-action") or "").strip().lower()
        return ResponseWrite(
            node,
            section,
            "header",
            node.attr("name") or "",
            action == "delete",
            tuple(_read(text, scope) for text in texts),
        )
    if node.tag == "set-body":
        return ResponseWrite(node, section, "body", "", False, (_read(node.text, scope),))
    reason = node.attr("reason")
    values = () if reason is None else (_read(reason, scope),)
    return ResponseWrite(node, section, "reason", "", False, values)


def _read(text: str, scope: Scope) -> Written:
    if text.lstrip()[:2] not in ("@(", "@{"):
        return Written(text, constant(text))
    try:
        return Written(text, value(text, scope))
    except ExpressionSyntaxError as exc:
        return Written(text, None, str(exc))


# -- what a written value carries ----------------------------------------------------------------


def _leaves(written: Value) -> Iterator[Value]:
    if isinstance(written, Choice):
        yield from _leaves(written.then)
        yield from _leaves(written.other)
    else:
        yield written


def _unreadable_mentions(written: Written, pattern: re.Pattern[str]) -> bool:
    return written.value is None and pattern.search(written.text) is not None


def certificate_data(written: Written) -> bool | None:
    """Whether the value carries data of the client certificate (a member of
    ``context.Request.Certificate``); None when it cannot be read but mentions one."""
    if written.value is None:
        return None if _unreadable_mentions(written, _CERT_MEMBER) else False
    for leaf in _leaves(written.value):
        if isinstance(leaf, Cert | Field) and leaf.source == REQUEST:
            return True
        if isinstance(leaf, Opaque) and (leaf.source == REQUEST or _CERT_MEMBER.search(leaf.text)):
            return True
    return False


def header_data(written: Written) -> tuple[str, ...] | None:
    """The certificate-carrying request headers (names with ``cert`` or ``thumbprint``) whose
    content the value carries; None when it cannot be read but mentions one."""
    if written.value is None:
        return None if _unreadable_mentions(written, _HEADER_NAME) else ()
    names: list[str] = []
    for leaf in _leaves(written.value):
        if isinstance(leaf, Cert | Field | Opaque) and leaf.source.startswith(HEADER_PREFIX):
            names.append(leaf.source[len(HEADER_PREFIX) :])
        elif isinstance(leaf, Opaque):
            names += _HEADER_NAME.findall(leaf.text)
    return tuple(dict.fromkeys(names))


def last_error_data(written: Written) -> tuple[str, ...] | None:
    """The ``context.LastError`` details the value carries: ``Message``, ``Source``,
    ``Reason``, or ``""`` for the whole object (serialised, say); None when the value cannot be
    read but mentions one."""
    if written.value is None:
        return None if _error_details(written.text) else ()
    found: list[str] = []
    for leaf in _leaves(written.value):
        if isinstance(leaf, Path):
            found += _error_details(leaf.path)
        elif isinstance(leaf, Opaque):
            found += _error_details(leaf.text)
    return tuple(dict.fromkeys(found))


def _error_details(text: str) -> list[str]:
    return [m for m in _LAST_ERROR.findall(text) if m in _ERROR_DETAILS or not m]
