"""The effective policy tree and its provenance.

Every element of an effective section is an :class:`EffectiveNode`: the element as parsed, the
policy document it was written in (:class:`Origin`) and the chain that brought it into the
section (:class:`Step`: a ``<base/>`` or an ``<include-fragment>``), read from the effective
scope inwards, e.g. ``operation inbound <base/> ← api inbound <base/> ← global``.
"""

from __future__ import annotations

import enum
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Literal, NamedTuple

from mtls_audit.policy.parsing.placeholders import PlaceholderUse, placeholder_uses
from mtls_audit.policy.parsing.tree import Node
from mtls_audit.wording import clip

EXCERPT_CHARS = 240


class OriginKind(enum.Enum):
    """The kind of document an element was written in: a policy scope, or a fragment."""

    GLOBAL = "global"
    WORKSPACE = "workspace"
    PRODUCT = "product"
    API = "api"
    OPERATION = "operation"
    FRAGMENT = "fragment"


@dataclass(frozen=True, slots=True)
class Origin:
    """A policy document: its kind, its resource id (the policy or fragment resource) and a short
    label such as ``api:patients``, ``operation:scheduling/list-slots`` or ``fragment:allow``."""

    kind: OriginKind
    resource_id: str
    label: str


@dataclass(frozen=True, slots=True)
class Step:
    """One hop of a chain: the ``<base/>`` (``kind`` base) or ``<include-fragment>`` (``kind``
    include, ``fragment`` its id) at ``line``/``column`` of ``origin``'s ``section``."""

    kind: Literal["base", "include"]
    origin: Origin
    section: str
    line: int
    column: int
    fragment: str = ""

    def describe(self) -> str:
        what = "<base/>" if self.kind == "base" else f'<include-fragment "{self.fragment}">'
        return f"{self.origin.label} {self.section} {what} (line {self.line})"


class PolicyPlace(NamedTuple):
    """What evidence cites of a policy element, in the field order of the model's
    ``PolicyCitation``: ``PolicyCitation(*node.place())``."""

    resource_id: str
    scope: str
    line: int
    excerpt: str


def excerpt(node: Node, limit: int = EXCERPT_CHARS) -> str:
    """The element's start tag (with its text when it has no child elements), on one line and
    at most ``limit`` characters, cut between tokens."""
    attrs = "".join(f' {a.name}="{a.value}"' for a in node.attrs)
    if node.children:
        shown = f"<{node.tag}{attrs}>"
    elif node.text:
        shown = f"<{node.tag}{attrs}>{node.text}</{node.tag}>"
    else:
        shown = f"<{node.tag}{attrs} />"
    return clip(" ".join(shown.split()), limit)


@dataclass(frozen=True, slots=True)
class EffectiveNode:
    """An element of an effective section. ``node`` is the element as parsed (its own children
    unexpanded); ``children`` are the effective ones, fragments included."""

    node: Node
    origin: Origin
    via: tuple[Step, ...]
    children: tuple[EffectiveNode, ...]

    @property
    def tag(self) -> str:
        return self.node.tag

    @property
    def line(self) -> int:
        return self.node.line

    @property
    def column(self) -> int:
        return self.node.column

    @property
    def text(self) -> str:
        return self.node.text

    def attr(self, name: str) -> str | None:
        """The value of attribute ``name`` (case-insensitive), or None when absent."""
        found = self.node.attr(name)
        return None if found is None else found.value

    def iter(self, tag: str | None = None) -> Iterator[EffectiveNode]:
        """Depth-first, document order, this element included; ``tag`` matches exactly."""
        stack: list[EffectiveNode] = [self]
        while stack:
            item = stack.pop()
            if tag is None or item.node.tag == tag:
                yield item
            stack.extend(reversed(item.children))

    def excerpt(self) -> str:
        return excerpt(self.node)

    def place(self) -> PolicyPlace:
        return PolicyPlace(self.origin.resource_id, self.origin.label, self.line, self.excerpt())

    def chain(self) -> str:
        """Where the element came from, e.g. ``api:a inbound <base/> (line 3) ← global, line 5``."""
        steps = [step.describe() for step in self.via]
        return " ← ".join([*steps, f"{self.origin.label}, line {self.line}"])

    def placeholders(self) -> tuple[PlaceholderUse, ...]:
        """The placeholders in this element's own attributes and text."""
        return tuple(placeholder_uses(self.node))


class ProblemKind(enum.Enum):
    UNPARSABLE = "unparsable"  # the parser refused the policy or fragment text
    NO_TEXT = "no-text"  # no policy text in the snapshot (a *-link format, or no value)
    MISSING_FRAGMENT = "missing-fragment"  # an included fragment is not in the snapshot
    FRAGMENT_CYCLE = "fragment-cycle"  # a fragment includes itself, directly or not
    TOO_DEEP = "too-deep"  # elements nested beyond the expansion bound
    MISPLACED_BASE = "misplaced-base"  # <base/> nested in an element, or in a fragment
    REPEATED_BASE = "repeated-base"  # a second <base/> in one section (not expanded again)


@dataclass(frozen=True, slots=True)
class Problem:
    """Something that leaves the effective section unknown in part: rules report it as
    indeterminate. ``line`` is 0 when the problem concerns a whole document."""

    kind: ProblemKind
    origin: Origin
    line: int
    column: int
    message: str


@dataclass(frozen=True, slots=True)
class Assumption:
    """A reading the documentation does not settle, taken so the result is still usable."""

    origin: Origin
    section: str
    message: str


@dataclass(frozen=True, slots=True)
class Drop:
    """A section without ``<base/>`` at ``origin`` (``line``/``column`` of its section element):
    ``parent``, the effective section it would have inherited, is not applied."""

    origin: Origin
    line: int
    column: int
    parent: EffectiveSection


@dataclass(frozen=True, slots=True)
class EffectiveSection:
    """One section of an effective policy.

    ``dropped`` holds the drops that shaped it (a section that keeps ``<base/>`` keeps its
    parent's drops), ``problems`` the holes in it (an empty tuple means it is fully known) and
    ``assumptions`` the undocumented readings it rests on.
    """

    name: str
    elements: tuple[EffectiveNode, ...] = ()
    dropped: tuple[Drop, ...] = ()
    problems: tuple[Problem, ...] = ()
    assumptions: tuple[Assumption, ...] = ()

    @property
    def complete(self) -> bool:
        return not self.problems

    def iter(self, tag: str | None = None) -> Iterator[EffectiveNode]:
        """Every element, depth-first in document order; ``tag`` matches exactly."""
        for element in self.elements:
            yield from element.iter(tag)

    def placeholders(self) -> tuple[tuple[EffectiveNode, PlaceholderUse], ...]:
        return tuple((node, use) for node in self.iter() for use in node.placeholders())
