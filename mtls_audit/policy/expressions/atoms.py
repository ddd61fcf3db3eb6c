"""Certificate atoms: the yes/no facts about a client certificate that policy conditions test.

An :class:`Atom` is a logical variable: two occurrences of ``cert.Verify()`` are one atom. Where
it was written is kept by the formula leaf that refers to it (``logic.Var.span``).

``source`` says which certificate an atom speaks of: :data:`REQUEST` for the certificate of the
TLS handshake (``context.Request.Certificate``), ``header:<name>`` for a certificate or thumbprint
read from a request header (which a client can forge unless something upstream strips it), and
``""`` for an opaque condition that involves no certificate.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum

from mtls_audit.policy.parsing.placeholders import resolve_literal as resolve_literal

REQUEST = "request"
HEADER_PREFIX = "header:"

NamedValueResolver = Callable[[str], str | None]
"""Maps a named value's name (``{{name}}``) to its value, or None when it is unknown/secret."""


class AtomKind(Enum):
    CERT_NULL = "cert-null"
    CHAIN_VALID = "chain-valid"
    CHAIN_VALID_NO_REVOCATION = "chain-valid-no-revocation"
    EXPIRED = "expired"
    NOT_YET_VALID = "not-yet-valid"
    THUMBPRINT_EQ = "thumbprint-eq"
    ISSUER_EQ = "issuer-eq"
    SUBJECT_EQ = "subject-eq"
    SUBJECT_CONTAINS = "subject-contains"
    ISSUER_CONTAINS = "issuer-contains"
    NAME_CLAIM = "name-claim"
    SERIAL_EQ = "serial-eq"
    IN_DEPLOYMENT_CERTS = "in-deployment-certs"
    OPAQUE = "opaque"


FIELD_KINDS = {
    "thumbprint": AtomKind.THUMBPRINT_EQ,
    "issuer": AtomKind.ISSUER_EQ,
    "subject": AtomKind.SUBJECT_EQ,
    "serial": AtomKind.SERIAL_EQ,
}
"""The string fields of a certificate that equality atoms compare, by field name."""

CONTAINS_KINDS = {"subject": AtomKind.SUBJECT_CONTAINS, "issuer": AtomKind.ISSUER_CONTAINS}
"""Substring tests of a name (``Contains``, ``StartsWith``, ``EndsWith``, ``IndexOf``): weak
pins, since any CA the chain trusts can issue a name that contains the text."""

LITERAL_KINDS = frozenset({*FIELD_KINDS.values(), *CONTAINS_KINDS.values(), AtomKind.NAME_CLAIM})
"""Kinds compared with a literal; ``NAME_CLAIM`` is an exact ``validate-client-certificate``
claim on a name the analyser does not model (``common-name``, ``dns-name``): its value is
always unknown."""


@dataclass(frozen=True)
class Atom:
    """One certificate fact (or an opaque condition).

    ``literal`` is the compared value for equality/containment atoms, None when it is unknown
    (an unresolved ``{{named value}}`` or a deployment placeholder: an "unknown pin", which
    neither matches nor mismatches any known value). ``text`` is the condition's source text
    for OPAQUE atoms and the literal as authored for unknown pins.
    """

    kind: AtomKind
    source: str = REQUEST
    literal: str | None = None
    case_sensitive: bool = True
    text: str = ""

    @property
    def header(self) -> str | None:
        """The request header this atom's certificate or thumbprint was read from, if any."""
        return self.source[len(HEADER_PREFIX) :] if is_header_source(self.source) else None

    @property
    def unknown_pin(self) -> bool:
        return self.kind in LITERAL_KINDS and self.literal is None

    def __str__(self) -> str:
        name = self.kind.value
        if self.kind is AtomKind.OPAQUE:
            name = f"opaque({self.text})"
        elif self.kind in LITERAL_KINDS:
            shown = repr(self.literal) if self.literal is not None else f"unknown {self.text}"
            name += f"({shown}{'' if self.case_sensitive else ', ignore case'})"
        return name if self.source in (REQUEST, "") else f"{name}@{self.source}"


def header_source(name: str) -> str:
    return HEADER_PREFIX + name


def is_header_source(source: str) -> bool:
    return source.startswith(HEADER_PREFIX)


def sort_key(atom: Atom) -> tuple[str, str, str, bool, str]:
    """A total order on atoms, for deterministic enumeration and output."""
    return (atom.source, atom.kind.value, atom.literal or "", atom.case_sensitive, atom.text)


# -- what a real certificate can look like ------------------------------------------------------

_THUMBPRINT = re.compile(r"[0-9A-F]{40}")
_SERIAL = re.compile(r"(?:[0-9A-F]{2})+")
_HEX = re.compile(r"[0-9A-Fa-f]+")


def is_real_thumbprint(value: str) -> bool:
    """APIM's ``Thumbprint`` is SHA-1 in upper-case hex: 40 characters, nothing else."""
    return _THUMBPRINT.fullmatch(value) is not None


def is_real_serial(value: str) -> bool:
    """``SerialNumber`` is upper-case hex, two digits per byte."""
    return _SERIAL.fullmatch(value) is not None


def looks_like_thumbprint(value: str) -> bool:
    """40 hex digits in any case: a literal that was meant as a thumbprint."""
    return len(value) == 40 and _HEX.fullmatch(value) is not None


def is_certificate_header(name: str) -> bool:
    """Headers that proxies use to pass a client certificate or its thumbprint on."""
    lowered = name.lower()
    return "cert" in lowered or "thumbprint" in lowered


def realistic(field: str, source: str, value: str) -> bool:
    """Whether the certificate of ``source`` can have ``value`` in ``field``.

    The handshake certificate's thumbprint and serial are upper-case hex; a header can hold
    anything a client writes into it.
    """
    if source != REQUEST:
        return True
    if field == "thumbprint":
        return is_real_thumbprint(value)
    if field == "serial":
        return is_real_serial(value)
    return True


def can_hold(atom: Atom) -> bool:
    """False when no certificate can satisfy the atom (a lower-case thumbprint compared
    ordinally, a thumbprint with spaces, colons or invisible characters, a SHA-256 value)."""
    if atom.literal is None or atom.kind not in FIELD_KINDS.values():
        return True
    field = next(name for name, kind in FIELD_KINDS.items() if kind is atom.kind)
    literal = atom.literal if atom.case_sensitive else atom.literal.upper()
    return realistic(field, atom.source, literal)


# -- literals with placeholders ----------------------------------------------------------------


def no_named_values(_name: str) -> str | None:
    """The resolver used when none is given: every named value is unknown."""
    return None
