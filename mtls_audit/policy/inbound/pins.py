"""Certificate pins written in a policy document, and what is wrong with a thumbprint literal.

A pin is a value a client certificate is compared with: the ``thumbprint``,
``issuer-thumbprint``, ``subject`` and ``issuer-subject`` claims of a
``validate-client-certificate`` identity, and the literals of ``Thumbprint``, ``Issuer`` and
``Subject`` comparisons in policy expressions (read as certificate atoms, so
``cert.Thumbprint.Equals(x, StringComparison.OrdinalIgnoreCase)`` keeps its case-insensitivity).
Pins are read per document, comments excluded, with ``{{named values}}`` resolved where the
snapshot holds their value. A site is the element a pin is written in (an ``identity``, a
``when``, a ``set-variable``…): rules report per site.
"""

from __future__ import annotations

import enum
import re
import unicodedata
from dataclasses import dataclass

from mtls_audit.policy.effective.merge import Layer
from mtls_audit.policy.effective.tree import Origin, PolicyPlace, excerpt
from mtls_audit.policy.expressions.atoms import (
    REQUEST,
    Atom,
    AtomKind,
    NamedValueResolver,
    can_hold,
    resolve_literal,
)
from mtls_audit.policy.expressions.conditions import Scope, condition, constant, value
from mtls_audit.policy.expressions.logic import occurrences
from mtls_audit.policy.expressions.parser import ExpressionSyntaxError
from mtls_audit.policy.expressions.values import Value, either
from mtls_audit.policy.parsing.placeholders import PlaceholderKind, find_placeholders
from mtls_audit.policy.parsing.tree import Node
from mtls_audit.wording import noun


class PinField(enum.Enum):
    """What a pin is compared with: the client certificate's thumbprint, its issuer's
    thumbprint, its subject or its issuer (distinguished names)."""

    THUMBPRINT = "thumbprint"
    ISSUER_THUMBPRINT = "issuer-thumbprint"
    SUBJECT = "subject"
    ISSUER = "issuer"

    @property
    def is_thumbprint(self) -> bool:
        return self in (PinField.THUMBPRINT, PinField.ISSUER_THUMBPRINT)


_IDENTITY_FIELDS = {
    "thumbprint": PinField.THUMBPRINT,
    "issuer-thumbprint": PinField.ISSUER_THUMBPRINT,
    "subject": PinField.SUBJECT,
    "issuer-subject": PinField.ISSUER,
}
_ATOM_FIELDS = {
    AtomKind.THUMBPRINT_EQ: PinField.THUMBPRINT,
    AtomKind.SUBJECT_EQ: PinField.SUBJECT,
    AtomKind.ISSUER_EQ: PinField.ISSUER,
}


@dataclass(frozen=True, slots=True)
class Pin:
    """One pinned value.

    ``written`` is the text as authored (the attribute value, or the comparison in the
    expression); ``value`` the compared value with named values substituted, None when it is
    unknown (a secret or missing named value, a deployment placeholder). ``case_sensitive`` is
    None for identity claims, whose comparison APIM does not document. ``atom`` is the
    certificate atom of an expression pin.
    """

    field: PinField
    written: str
    value: str | None
    named_values: tuple[str, ...]
    case_sensitive: bool | None
    atom: Atom | None = None

    @property
    def hard_coded(self) -> bool:
        """Written as a literal in the policy text (not through a named value or a placeholder)."""
        return not find_placeholders(self.written)

    @property
    def can_match(self) -> bool:
        """False when no certificate can ever satisfy an expression's comparison (see
        ``atoms.can_hold``); identity claims are not decided here, their matching being
        undocumented."""
        return self.atom is None or can_hold(self.atom)


@dataclass(frozen=True, slots=True)
class PinSite:
    """An element holding pins, in the document of ``origin``."""

    node: Node
    origin: Origin
    pins: tuple[Pin, ...]

    @property
    def line(self) -> int:
        return self.node.line

    def place(self) -> PolicyPlace:
        return PolicyPlace(
            self.origin.resource_id, self.origin.label, self.line, excerpt(self.node)
        )


@dataclass(frozen=True, slots=True)
class UnreadableExpression:
    """An expression the analyser could not read: pins in it are unknown."""

    node: Node
    line: int
    text: str
    message: str


@dataclass(frozen=True, slots=True)
class DocumentPins:
    sites: tuple[PinSite, ...] = ()
    unreadable: tuple[UnreadableExpression, ...] = ()

    def of(self, origin: Origin) -> DocumentPins:
        """The same pins in another document of the same parsed text."""
        if all(site.origin is origin for site in self.sites):
            return self
        sites = tuple(PinSite(site.node, origin, site.pins) for site in self.sites)
        return DocumentPins(sites, self.unreadable)


def document_pins(layer: Layer, named_value: NamedValueResolver) -> DocumentPins:
    """Every pin site of a policy or fragment document, in document order (none when the
    document could not be read)."""
    if layer.document is None:
        return DocumentPins()
    sites: list[PinSite] = []
    unreadable: list[UnreadableExpression] = []
    variables: dict[str, Value] = {}
    for node in layer.document.root.iter():
        pins = _identity_pins(node, named_value) if node.tag == "identity" else []
        scope = Scope(named_value, dict(variables))
        for text, line in _expressions(node):
            try:
                pins += _expression_pins(text, scope)
            except ExpressionSyntaxError as exc:
                unreadable.append(UnreadableExpression(node, line, text, str(exc)))
        _set_variable(node, scope, variables)
        if pins:
            sites.append(PinSite(node, layer.origin, tuple(pins)))
    return DocumentPins(tuple(sites), tuple(unreadable))


def _set_variable(node: Node, scope: Scope, variables: dict[str, Value]) -> None:
    """Keep the value a ``<set-variable>`` stores, so that a literal compared through the
    variable is a pin; every value the variable is set to in the document is kept."""
    name, held_attr = node.attr("name"), node.attr("value")
    if node.tag != "set-variable" or name is None or not name.value or held_attr is None:
        return
    raw = held_attr.value
    try:
        held = value(raw, scope) if _is_expression(raw) else constant(raw)
    except ExpressionSyntaxError:
        return  # reported with the element's expressions
    key = name.value
    variables[key] = either(variables.get(key), held, f"<set-variable name={key!r}> ran")


def _identity_pins(node: Node, named_value: NamedValueResolver) -> list[Pin]:
    pins = []
    for attr in node.attrs:
        field = _IDENTITY_FIELDS.get(attr.name.lower())
        if field is not None:
            value = resolve_literal(attr.value, named_value)
            pins.append(Pin(field, attr.value, value, _named(attr.value), None))
    return pins


def _expressions(node: Node) -> list[tuple[str, int]]:
    """The policy expressions in an element's attributes and text, with their lines."""
    found = [(a.value, a.value_line) for a in node.attrs if _is_expression(a.value)]
    if _is_expression(node.text):
        found.append((node.text, node.text_line))
    return found


def _is_expression(text: str) -> bool:
    return text.lstrip()[:2] in ("@(", "@{")


def _expression_pins(text: str, scope: Scope) -> list[Pin]:
    pins: dict[Atom, Pin] = {}
    for var in occurrences(condition(text, scope)):
        atom = var.atom
        field = _ATOM_FIELDS.get(atom.kind)
        if field is None or atom.source != REQUEST or atom in pins:
            continue
        written = text[var.span.offset : var.span.end] if var.span else atom.text
        pins[atom] = Pin(field, written, atom.literal, _named(written), atom.case_sensitive, atom)
    return list(pins.values())


def _named(text: str) -> tuple[str, ...]:
    return tuple(p.name for p in find_placeholders(text) if p.kind is PlaceholderKind.NAMED_VALUE)


# -- thumbprint literals --------------------------------------------------------------------------

_HEX_DIGITS = re.compile(r"[0-9A-Fa-f]")


def thumbprint_defects(value: str, case_sensitive: bool | None) -> tuple[str, ...]:
    """Why ``value`` is not what APIM's ``Thumbprint`` looks like (40 upper-case hex digits):
    invisible characters, spaces, colons or other separators, the wrong number of digits (64 is
    a SHA-256 fingerprint), lower case compared ordinally. ``case_sensitive`` None (an identity
    claim) reads lower case as a defect too, since the comparison is undocumented."""
    defects: list[str] = []
    invisible = sorted({c for c in value if _invisible(c)})
    if invisible:
        defects.append(
            noun(len(invisible), "invisible character") + " " + ", ".join(map(_code, invisible))
        )
    if any(c.isspace() for c in value if not _invisible(c)):
        defects.append("spaces")
    if ":" in value:
        defects.append("colons")
    others = sorted({c for c in value if not (_HEX_DIGITS.match(c) or c.isspace() or c in ":")})
    others = [c for c in others if not _invisible(c)]
    if others:
        shown = " ".join(map(escaped, others))
        defects.append(f"{noun(len(others), 'character')} other than hex digits: {shown}")
    digits = len(_HEX_DIGITS.findall(value))
    if digits == 64:
        defects.append("64 hex digits: a SHA-256 fingerprint, while Thumbprint is SHA-1")
    elif digits != 40:
        defects.append(f"{digits} hex digits instead of 40")
    if case_sensitive is not False and value != value.upper():
        how = "compared ordinally" if case_sensitive else "in an identity claim"
        defects.append(f"lower case {how} (Thumbprint is upper case)")
    return tuple(defects)


def escaped(text: str) -> str:
    """``text`` with invisible and control characters shown as ``\\uXXXX``."""
    return "".join(_code(c) if _invisible(c) else c for c in text)


def _invisible(char: str) -> bool:
    category = unicodedata.category(char)
    return category in ("Cf", "Cc", "Co", "Cn", "Zl", "Zp") or (category == "Zs" and char != " ")


def _code(char: str) -> str:
    return f"\\u{ord(char):04X}"
