"""Placeholders in policy text: ``{{named values}}`` and deployment markers.

A named value resolves from the snapshot's non-secret named values, by display name or by name
(case-insensitively, display names first). A secret, Key Vault-backed or unknown one resolves to
None: unknown, never an empty string. Markers left by infrastructure-as-code (Terraform ``${var}``
and ``%{ directive }``, ``#{token}#`` replace tokens, pipeline ``$(variable)``, string-replace
tokens such as ``{ALLOWED_CERTIFICATE_THUMBPRINTS}`` and ``__ALLOWED_THUMBPRINT__``) are never
literals: whatever replaces them
at deployment is unknown here.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Protocol

from mtls_audit.policy.parsing.tree import Node


class NamedValueLike(Protocol):
    """What the resolver reads of a named value (the model's ``NamedValue`` fits)."""

    @property
    def name(self) -> str: ...

    @property
    def display_name(self) -> str: ...

    @property
    def secret(self) -> bool: ...

    @property
    def value(self) -> str | None: ...


class PlaceholderKind(enum.Enum):
    NAMED_VALUE = "named-value"
    DEPLOYMENT = "deployment"


@dataclass(frozen=True, slots=True)
class Placeholder:
    """One placeholder: ``text`` as written, ``name`` the named value's name (for deployment
    markers the text itself), ``start`` its offset in the string it was found in."""

    kind: PlaceholderKind
    text: str
    name: str
    start: int


_PLACEHOLDER = re.compile(
    r"\{\{(?P<named>[^{}]+)\}\}"
    r"|(?P<deployment>\$\{[^{}]*\}|%\{[^{}]*\}|#\{[^{}]*\}#|\$\([A-Za-z_][\w.]*\)"
    r"|(?<!\{)\{[A-Z][A-Z0-9_]{2,}\}(?!\})|\b__[A-Z][A-Z0-9_]*[A-Z0-9]__\b)"
)


def find_placeholders(text: str) -> tuple[Placeholder, ...]:
    """Every named-value placeholder and deployment marker in ``text``, in order."""
    if "{" not in text and "$(" not in text and "__" not in text:
        return ()
    found = []
    for match in _PLACEHOLDER.finditer(text):
        named = match.group("named")
        if named is not None:
            found.append(
                Placeholder(
                    PlaceholderKind.NAMED_VALUE, match.group(), named.strip(), match.start()
                )
            )
        else:
            found.append(
                Placeholder(PlaceholderKind.DEPLOYMENT, match.group(), match.group(), match.start())
            )
    return tuple(found)


@dataclass(frozen=True, slots=True)
class PlaceholderUse:
    """A placeholder in an element: in the value of ``attribute``, or in the element's text when
    ``attribute`` is None; ``line``/``column`` locate it in the policy document."""

    placeholder: Placeholder
    attribute: str | None
    line: int
    column: int


def _located(value: str, line: int, column: int, placeholder: Placeholder) -> tuple[int, int]:
    before = value[: placeholder.start]
    breaks = before.count("\n")
    if breaks == 0:
        return line, column + placeholder.start
    return line + breaks, len(before) - before.rfind("\n")


def placeholder_uses(node: Node) -> Iterator[PlaceholderUse]:
    """The placeholders in one element's attribute values and text (not its children's)."""
    for attr in node.attrs:
        for found in find_placeholders(attr.value):
            line, column = _located(attr.value, attr.value_line, attr.value_column, found)
            yield PlaceholderUse(found, attr.name, line, column)
    for found in find_placeholders(node.text):
        line, column = _located(node.text, node.text_line, node.text_column, found)
        yield PlaceholderUse(found, None, line, column)


class NamedValueStatus(enum.Enum):
    RESOLVED = "resolved"
    SECRET = "secret"  # a secret (or Key Vault) named value: its value is never in a snapshot
    UNKNOWN = "unknown"  # no named value of that name in the snapshot, or one without a value


@dataclass(frozen=True, slots=True)
class NamedValueLookup:
    name: str
    status: NamedValueStatus
    value: str | None


class NamedValues:
    """Resolves ``{{name}}`` placeholders; calling it maps a name to its value or None."""

    def __init__(self, named_values: Iterable[NamedValueLike] = ()) -> None:
        by_name: dict[str, NamedValueLike] = {}
        by_display: dict[str, NamedValueLike] = {}
        for item in named_values:
            by_name.setdefault(item.name.lower(), item)
            by_display.setdefault(item.display_name.lower(), item)
        self._index = {**by_name, **by_display}

    def lookup(self, name: str) -> NamedValueLookup:
        item = self._index.get(name.strip().lower())
        if item is None:
            return NamedValueLookup(name, NamedValueStatus.UNKNOWN, None)
        if item.secret:
            return NamedValueLookup(name, NamedValueStatus.SECRET, None)
        value = item.value
        status = NamedValueStatus.UNKNOWN if value is None else NamedValueStatus.RESOLVED
        return NamedValueLookup(name, status, value)

    def __call__(self, name: str) -> str | None:
        return self.lookup(name).value

    def resolve(self, text: str) -> str | None:
        """``text`` with its named values substituted; None when any placeholder in it is a
        secret or unknown named value or a deployment marker."""
        return resolve_literal(text, self)


def resolve_literal(raw: str, resolve: Callable[[str], str | None]) -> str | None:
    """Substitute ``{{named values}}`` through ``resolve``; None if one is unresolved or an IaC
    marker remains (Terraform ``${x}``/``%{…}``, ``#{token}#``, ``$(var)``,
    ``{UPPER_CASE_TOKEN}``)."""
    parts: list[str] = []
    done = 0
    for found in find_placeholders(raw):
        value = resolve(found.name) if found.kind is PlaceholderKind.NAMED_VALUE else None
        if value is None:
            return None
        parts += [raw[done : found.start], value]
        done = found.start + len(found.text)
    parts.append(raw[done:])
    return "".join(parts)
