"""Terraform directives inside a policy expression, and the texts they can render.

``%{ if c }…%{ else }…%{ endif }`` and ``%{ for x in xs }…%{ endfor }`` written inside the C# of
an expression (not as the entries of a collection initializer, which the parser reads as unknown
entries) leave text that is no C# as it stands: what the gateway runs is one of its renderings.
Each ``if`` renders its first or its ``else`` branch; a ``for`` renders its body (its placeholders
stand for whatever each iteration writes) or nothing. A directive's choice is a *switch*, a
condition fixed at deployment; the renderings are every combination of the switches, at most
:data:`MAX_RENDERINGS`.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Literal, TypeAlias

MAX_SWITCHES = 4
MAX_RENDERINGS = 2**MAX_SWITCHES
"""Beyond this many renderings an expression is not expanded: it stays undecided."""

_DIRECTIVE = re.compile(r"%\{~?\s*(?P<word>if|else|endif|for|endfor)\b(?P<rest>[^{}]*?)\s*~?\}")
_NOT_A_BREAK = re.compile(r"[^\n]")
_SWITCH_TEXT = re.compile(r"%\{ (?P<kind>if|for) (?P<text>.*) \}\Z", re.S)


@dataclass(frozen=True)
class Switch:
    """A choice fixed at deployment: an ``if`` condition, or whether a ``for`` renders its body.
    ``text`` is the condition (``length(t) > 0``) or the loop header (``t in thumbprints``)."""

    kind: Literal["if", "for"]
    text: str

    @property
    def marker(self) -> str:
        """The directive as the analyser names it (``%{ if length(t) > 0 }``)."""
        return f"%{{ {self.kind} {self.text} }}"


@dataclass(frozen=True)
class _Branch:
    """An ``if`` (or ``for``) directive: its directives as written, the parts they guard."""

    switch: Switch
    opening: str
    then: tuple[Part, ...]
    middle: str  # the ``%{ else }``, or ""
    other: tuple[Part, ...]
    closing: str


Part: TypeAlias = "str | _Branch"


@dataclass(frozen=True)
class Template:
    """An expression text cut at its directives."""

    parts: tuple[Part, ...]

    def switches(self) -> tuple[Switch, ...]:
        """The distinct switches, in the order they are written."""
        return tuple(dict.fromkeys(_switches(self.parts)))

    def render(self, chosen: Mapping[Switch, bool]) -> str:
        """The text rendered when each switch holds as ``chosen`` says. Directives and the
        branches not rendered become blanks of their length (line breaks kept), so an offset in
        a rendering is the same offset in the text as written."""
        return _render(self.parts, chosen)


def template(text: str) -> Template | None:
    """``text`` cut at its Terraform directives; None when it has none, or when they do not
    nest (an ``else`` or ``endif`` without its ``if``, an unclosed ``for``)."""
    stack = [_Open(None, "")]
    done = 0
    for match in _DIRECTIVE.finditer(text):
        stack[-1].current.append(text[done : match.start()])
        done = match.end()
        word, rest = match.group("word"), " ".join(match.group("rest").split())
        if word in ("if", "for"):
            kind: Literal["if", "for"] = "if" if word == "if" else "for"
            stack.append(_Open(Switch(kind, rest), match.group()))
            continue
        top = stack[-1]
        if top.switch is None or (word == "endfor") != (top.switch.kind == "for"):
            return None
        if word == "else":
            if top.middle or top.switch.kind != "if":
                return None
            top.middle = match.group()
            continue
        stack.pop()
        branch = _Branch(
            top.switch, top.opening, tuple(top.then), top.middle, tuple(top.other), match.group()
        )
        stack[-1].current.append(branch)
    if len(stack) != 1 or done == 0:
        return None
    stack[0].current.append(text[done:])
    return Template(tuple(stack[0].then))


@dataclass
class _Open:
    """A directive being read: the parts of its first branch, then of its ``else``."""

    switch: Switch | None
    opening: str
    middle: str = ""
    then: list[Part] = field(default_factory=list)
    other: list[Part] = field(default_factory=list)

    @property
    def current(self) -> list[Part]:
        return self.other if self.middle else self.then


def is_switch(marker: str) -> bool:
    """Whether ``marker`` (an opaque atom's text) names a switch."""
    return _SWITCH_TEXT.match(marker) is not None


def switch_words(marker: str, holds: bool) -> str | None:
    """A deployment condition in words ("`length(t) > 0` is false at deployment"), or None when
    ``marker`` names no switch."""
    found = _SWITCH_TEXT.match(marker)
    if found is None:
        return None
    text = found.group("text")
    if found.group("kind") == "if":
        return f"`{text}` is {'true' if holds else 'false'} at deployment"
    return f"`for {text}` renders {'its body' if holds else 'nothing'} at deployment"


def _switches(parts: tuple[Part, ...]) -> Iterator[Switch]:
    for part in parts:
        if isinstance(part, _Branch):
            yield part.switch
            yield from _switches(part.then)
            yield from _switches(part.other)


def _render(parts: tuple[Part, ...], chosen: Mapping[Switch, bool] | None) -> str:
    """The parts rendered as ``chosen`` says; with ``chosen`` None, blanked."""
    pieces = []
    for part in parts:
        if isinstance(part, str):
            pieces.append(part if chosen is not None else _blank(part))
            continue
        holds = chosen is not None and chosen[part.switch]
        pieces += [
            _blank(part.opening),
            _render(part.then, chosen if holds else None),
            _blank(part.middle),
            _render(part.other, chosen if chosen is not None and not holds else None),
            _blank(part.closing),
        ]
    return "".join(pieces)


def _blank(text: str) -> str:
    return _NOT_A_BREAK.sub(" ", text)
