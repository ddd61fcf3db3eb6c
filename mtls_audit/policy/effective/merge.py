"""Merging one policy document's section into its parent's effective section.

A document's own part of a section (fragments included, the ``<base/>`` located) does not depend
on the parent, so it is built once per document and section (:class:`OwnSection`); merging then
splices the parent's effective elements in at the ``<base/>``, each with one more step in its
chain.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from mtls_audit.policy.effective.tree import (
    Assumption,
    Drop,
    EffectiveNode,
    EffectiveSection,
    Origin,
    Problem,
    ProblemKind,
    Step,
)
from mtls_audit.policy.parsing.placeholders import PlaceholderUse, placeholder_uses
from mtls_audit.policy.parsing.tree import SNIPPET_TAG, Node, PolicyDocument

_BRANCHES = frozenset({"when", "otherwise"})
MAX_DEPTH = 300
"""Elements nested deeper than this (across included fragments) are not expanded: the parser
allows 256 levels per document, and APIM does not let fragments nest at all."""


@dataclass(frozen=True, slots=True)
class Layer:
    """One policy document (a scope's policy, or a fragment) as read from the snapshot.

    ``document`` is None when it cannot be read; ``problem`` then says why.
    """

    origin: Origin
    scope_id: str
    document: PolicyDocument | None
    problem: Problem | None = None

    def section_node(self, name: str) -> Node | None:
        return None if self.document is None else self.document.section(name)

    def keeps_base(self, name: str) -> bool | None:
        """Whether section ``name`` holds ``<base/>`` as a direct child; None when the section
        is missing (read as inheriting, see :class:`Assumption`) or the document is unreadable."""
        section = self.section_node(name)
        if section is None:
            return None
        return any(child.tag == "base" for child in section.children)

    def placeholders(self) -> tuple[PlaceholderUse, ...]:
        """Every named value and deployment placeholder the document uses (comments are not
        read, so a placeholder in a comment is not used)."""
        if self.document is None:
            return ()
        return tuple(use for node in self.document.root.iter() for use in placeholder_uses(node))


@dataclass(frozen=True, slots=True)
class OwnSection:
    """A document's own part of one section: the elements before and after its ``<base/>``."""

    node: Node | None
    before: tuple[EffectiveNode, ...] = ()
    base: Node | None = None
    after: tuple[EffectiveNode, ...] = ()
    problems: tuple[Problem, ...] = ()


FragmentLookup = Callable[[str], Layer | None]
"""Finds a fragment by id for the document being expanded; None when it is not known."""


class Expander:
    """Builds :class:`OwnSection` for documents that see one set of fragments."""

    def __init__(self, fragments: FragmentLookup) -> None:
        self._fragments = fragments

    def own(self, layer: Layer, name: str) -> OwnSection:
        section = layer.section_node(name)
        if section is None:
            return OwnSection(None)
        problems: list[Problem] = []
        before: list[EffectiveNode] = []
        after: list[EffectiveNode] = []
        base: Node | None = None
        for child in section.children:
            if child.tag != "base":
                self._expand(
                    child,
                    layer.origin,
                    name,
                    (),
                    (),
                    problems,
                    after if base is not None else before,
                )
            elif base is None:
                base = child
            else:
                problems.append(
                    Problem(
                        ProblemKind.REPEATED_BASE,
                        layer.origin,
                        child.line,
                        child.column,
                        f"a second <base/> in {layer.origin.label} {name}; only the first is "
                        "expanded",
                    )
                )
        return OwnSection(section, tuple(before), base, tuple(after), tuple(problems))

    def _expand(
        self,
        node: Node,
        origin: Origin,
        section: str,
        via: tuple[Step, ...],
        stack: tuple[str, ...],
        problems: list[Problem],
        out: list[EffectiveNode],
        depth: int = 0,
        parent: str = "",
    ) -> None:
        """Append the effective form of ``node`` to ``out``: an included fragment becomes its
        elements; ``stack`` holds the fragments being expanded (to stop cycles). A ``<base/>``
        in a ``<when>`` or ``<otherwise>`` of the document's own section stays as a marker
        where the parent's elements go (see :func:`merge_section`)."""
        if depth > MAX_DEPTH:
            message = f"elements nested deeper than {MAX_DEPTH} levels are not expanded"
            problems.append(Problem(ProblemKind.TOO_DEEP, origin, node.line, node.column, message))
            return
        if node.tag == "include-fragment":
            self._include(node, origin, section, via, stack, problems, out, depth)
            return
        if node.tag == "base" and not stack and parent in _BRANCHES:
            out.append(EffectiveNode(node, origin, via, ()))
            return
        if node.tag == "base":
            message = (
                f"<base/> inside <{'fragment' if stack else section}> is not a direct child of "
                "a section: it is not expanded"
            )
            problems.append(
                Problem(ProblemKind.MISPLACED_BASE, origin, node.line, node.column, message)
            )
        children: list[EffectiveNode] = []
        for child in node.children:
            self._expand(
                child, origin, section, via, stack, problems, children, depth + 1, node.tag
            )
        out.append(EffectiveNode(node, origin, via, tuple(children)))

    def _include(
        self,
        node: Node,
        origin: Origin,
        section: str,
        via: tuple[Step, ...],
        stack: tuple[str, ...],
        problems: list[Problem],
        out: list[EffectiveNode],
        depth: int,
    ) -> None:
        attr = node.attr("fragment-id")
        fragment_id = attr.value.strip() if attr else ""
        fragment = self._fragments(fragment_id) if fragment_id else None

        def problem(kind: ProblemKind, message: str) -> None:
            problems.append(Problem(kind, origin, node.line, node.column, message))

        if fragment is None:
            found = f'fragment "{fragment_id}" is not in the snapshot'
            problem(ProblemKind.MISSING_FRAGMENT, found if fragment_id else "no fragment-id")
        elif fragment_id.lower() in stack:
            cycle = " → ".join([*stack, fragment_id.lower()])
            problem(ProblemKind.FRAGMENT_CYCLE, f"fragments include each other: {cycle}")
        elif fragment.document is None:
            assert fragment.problem is not None
            reason = fragment.problem.message
            problem(fragment.problem.kind, f'fragment "{fragment_id}" cannot be read: {reason}')
        else:
            step = Step("include", origin, section, node.line, node.column, fragment_id)
            inner = (*via, step)
            nested = (*stack, fragment_id.lower())
            for child in fragment_elements(fragment.document):
                self._expand(
                    child, fragment.origin, section, inner, nested, problems, out, depth + 1
                )


def fragment_elements(document: PolicyDocument) -> tuple[Node, ...]:
    """What a fragment inserts: the children of its ``<fragment>`` root (of a snippet, or the
    bare element, when the text has no such root)."""
    root = document.root
    return root.children if root.tag in ("fragment", SNIPPET_TAG) else (root,)


def _prefixed(node: EffectiveNode, step: Step, vias: dict[int, tuple[Step, ...]]) -> EffectiveNode:
    via = vias.get(id(node.via))
    if via is None:
        via = vias[id(node.via)] = (step, *node.via)
    children = tuple(_prefixed(child, step, vias) for child in node.children)
    return EffectiveNode(node.node, node.origin, via, children)


def _markers(nodes: tuple[EffectiveNode, ...]) -> bool:
    return any(node.tag == "base" or _markers(node.children) for node in nodes)


def _has_nested_base(own: OwnSection) -> bool:
    """Whether the document's section keeps ``<base/>`` only inside branches of a
    ``<choose>``: then requests taking another branch skip the parent's elements."""
    return _markers(own.before)


def _splice(
    node: EffectiveNode, origin: Origin, parent: EffectiveSection, name: str
) -> EffectiveNode:
    """``node`` with each nested ``<base/>`` marker replaced by the parent's elements."""
    children: list[EffectiveNode] = []
    for child in node.children:
        if child.tag == "base" and child.origin is origin:
            step = Step("base", origin, name, child.node.line, child.node.column)
            vias: dict[int, tuple[Step, ...]] = {}
            children += [_prefixed(inherited, step, vias) for inherited in parent.elements]
        else:
            children.append(_splice(child, origin, parent, name))
    return EffectiveNode(node.node, node.origin, node.via, tuple(children))


def merge_section(parent: EffectiveSection, layer: Layer, own: OwnSection) -> EffectiveSection:
    """The effective section of ``layer`` over its parent's effective section."""
    name = parent.name
    if layer.document is None:
        assert layer.problem is not None
        return EffectiveSection(
            name,
            parent.elements,
            parent.dropped,
            (*parent.problems, layer.problem),
            parent.assumptions,
        )
    if own.node is None:
        if not parent.elements:
            return parent
        message = (
            f"{layer.origin.label} has no <{name}> section: read as inheriting the parent's, "
            "as if it held only <base/> (whether APIM applies the parent's or nothing is "
            "undocumented)"
        )
        assumption = Assumption(layer.origin, name, message)
        return EffectiveSection(
            name,
            parent.elements,
            parent.dropped,
            parent.problems,
            (*parent.assumptions, assumption),
        )
    if own.base is None and _has_nested_base(own):
        return EffectiveSection(
            name,
            tuple(_splice(node, layer.origin, parent, name) for node in own.before),
            parent.dropped,
            (*parent.problems, *own.problems),
            parent.assumptions,
        )
    if own.base is None:
        dropped = (
            (Drop(layer.origin, own.node.line, own.node.column, parent),) if parent.elements else ()
        )
        return EffectiveSection(name, own.before + own.after, dropped, own.problems)
    step = Step("base", layer.origin, name, own.base.line, own.base.column)
    vias: dict[int, tuple[Step, ...]] = {}
    inherited = tuple(_prefixed(node, step, vias) for node in parent.elements)
    # A <base/> in a branch as well as the direct one: the parent's elements run a second
    # time on the paths through that branch.
    before, after = (
        tuple(_splice(node, layer.origin, parent, name) for node in part)
        for part in (own.before, own.after)
    )
    return EffectiveSection(
        name,
        before + inherited + after,
        parent.dropped,
        (*parent.problems, *own.problems),
        parent.assumptions,
    )
