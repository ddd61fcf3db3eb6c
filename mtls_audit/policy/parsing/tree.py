"""The tree a policy document parses into.

Positions are 1-based and refer to the text handed to the parser. For the XML-escaped form that
ARM returns (``format=xml``), a line break written as a character reference inside an attribute
value (``&#xA;``) counts as a line break, so both forms of one policy report the same lines.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Literal

DocumentKind = Literal["policies", "fragment", "element"]

SECTIONS = ("inbound", "backend", "outbound", "on-error")
"""The sections of a ``<policies>`` document, in the order APIM documents them."""

SNIPPET_TAG = "#snippet"
"""Tag of the synthetic root that holds several top-level elements of a snippet."""


@dataclass(frozen=True, slots=True)
class Attr:
    """One attribute.

    ``value`` has XML character and entity references decoded and line ends normalised to
    ``\\n``; policy expressions (``@(…)``, ``@{…}``) and placeholders are otherwise kept exactly
    as authored. ``value_line``/``value_column`` locate the first character of the value.
    """

    name: str
    value: str
    line: int
    column: int
    value_line: int = 0
    value_column: int = 0


@dataclass(frozen=True, slots=True)
class Node:
    """One element. ``text`` joins the element's own text segments (CDATA included, comments
    and whitespace-only layout segments left out); ``text_line``/``text_column`` locate the first
    character of the first such segment (0 when there is no text)."""

    tag: str
    attrs: tuple[Attr, ...]
    children: tuple[Node, ...]
    text: str
    line: int
    column: int
    text_line: int = 0
    text_column: int = 0

    @property
    def name_lower(self) -> str:
        return self.tag.lower()

    def attr(self, name: str) -> Attr | None:
        """The first attribute called ``name``, compared case-insensitively."""
        wanted = name.lower()
        for attr in self.attrs:
            if attr.name.lower() == wanted:
                return attr
        return None

    def iter(self, tag: str | None = None) -> Iterator[Node]:
        """Depth-first, document order, this node included; ``tag`` matches exactly."""
        stack: list[Node] = [self]
        while stack:
            node = stack.pop()
            if tag is None or node.tag == tag:
                yield node
            stack.extend(reversed(node.children))


@dataclass(frozen=True, slots=True)
class ParseProblem:
    """A syntax problem the parser tolerated, e.g. an unclosed element it closed itself;
    ``note`` marks a remark on the structure rather than the syntax (sections out of order)."""

    line: int
    column: int
    message: str
    note: bool = False


@dataclass(frozen=True, slots=True)
class PolicyDocument:
    """A parsed policy: ``kind`` is ``policies`` or ``fragment`` for those roots, ``element`` for a
    bare section, a bare policy element, or several top-level elements under :data:`SNIPPET_TAG`.
    ``escaped`` tells whether the text was read as ARM's XML-escaped form."""

    root: Node
    kind: DocumentKind
    problems: tuple[ParseProblem, ...]
    source: str
    escaped: bool = False

    def section(self, name: str) -> Node | None:
        """The ``inbound``/``backend``/``outbound``/``on-error`` section, or None when absent.

        A document whose root is the section itself (a bare ``<inbound>``) returns its root.
        """
        if self.root.tag == name:
            return self.root
        if self.kind == "policies" or self.root.tag == SNIPPET_TAG:
            for child in self.root.children:
                if child.tag == name:
                    return child
        return None


def position(line_starts: list[int], offset: int) -> tuple[int, int]:
    """1-based line and column of a text offset; ``line_starts`` (sorted) holds the offsets
    where lines after the first start."""
    index = bisect_right(line_starts, offset)
    return index + 1, offset - (line_starts[index - 1] if index else 0) + 1


class ElementBuilder:
    """An element while the parser reads it; positions are offsets into the text until
    :meth:`freeze` turns them into lines and columns."""

    __slots__ = (
        "attr_names",
        "attrs",
        "children",
        "offset",
        "run",
        "run_offset",
        "tag",
        "text_offset",
        "texts",
    )

    def __init__(self, tag: str, offset: int) -> None:
        self.tag = tag
        self.offset = offset
        self.attrs: list[tuple[str, str, int, int]] = []  # name, value, name and value offsets
        self.attr_names: set[str] = set()
        self.children: list[ElementBuilder] = []
        self.texts: list[str] = []
        self.text_offset = -1
        self.run: list[str] = []
        self.run_offset = -1

    def add_text(self, text: str, offset: int) -> None:
        if not self.run:
            self.run_offset = offset
        self.run.append(text)

    def end_run(self) -> None:
        """A run of text ends at a child element or the end tag; blank runs are layout."""
        if self.run:
            joined = "".join(self.run)
            if not joined.isspace():
                if not self.texts:
                    self.text_offset = self.run_offset
                self.texts.append(joined)
            self.run = []

    def freeze(self, line_starts: list[int]) -> Node:
        attrs = tuple(
            Attr(name, value, *position(line_starts, name_at), *position(line_starts, value_at))
            for name, value, name_at, value_at in self.attrs
        )
        children = tuple(child.freeze(line_starts) for child in self.children)
        text_at = position(line_starts, self.text_offset) if self.texts else (0, 0)
        return Node(
            self.tag,
            attrs,
            children,
            "".join(self.texts),
            *position(line_starts, self.offset),
            *text_at,
        )
