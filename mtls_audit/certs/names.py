"""Distinguished names as .NET prints them, and as people write them in policies.

APIM's ``Subject``/``Issuer`` are .NET's ``X500DistinguishedName.Name``. :func:`dotnet_name`
follows dotnet/runtime's managed decoder (``X500NameEncoder``, used on Linux; its comments say it
matches Windows' ``CertNameToStr``): relative names in reverse DER order joined by ``", "``,
multi-valued ones joined by ``" + "``, attribute names from .NET's OID table (CN, O, OU, C, L, S,
E, STREET, DC, SERIALNUMBER, G, I, SN, T, PostalCode, …, else ``OID.x.y.z``), and a value put in
double quotes (inner quotes doubled) when it is empty, starts or ends with white space, or holds
one of ``, + = " < > # ;`` or a line feed.

UNCONFIRMED: that the APIM gateway's strings come out of that code path (the gateway's platform is
not documented); names of OIDs outside .NET's table (businessCategory 2.5.4.15 may print as a name
on one platform and as ``OID.2.5.4.15`` on another); how binary (non-string) attribute values
print (rendered here as ``#`` + hex).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING

from mtls_audit.errors import InputError

if TYPE_CHECKING:  # names are read and written as text: only ``dotnet_name`` is given one
    from cryptography import x509


class DistinguishedNameError(InputError):
    """A distinguished-name string that cannot be read."""


_DOTNET_LABELS: dict[str, str] = {
    "2.5.4.3": "CN",
    "2.5.4.4": "SN",
    "2.5.4.5": "SERIALNUMBER",
    "2.5.4.6": "C",
    "2.5.4.7": "L",
    "2.5.4.8": "S",
    "2.5.4.9": "STREET",
    "2.5.4.10": "O",
    "2.5.4.11": "OU",
    "2.5.4.12": "T",
    "2.5.4.13": "Description",
    "2.5.4.17": "PostalCode",
    "2.5.4.18": "POBox",
    "2.5.4.20": "Phone",
    "2.5.4.24": "X21Address",
    "2.5.4.42": "G",
    "2.5.4.43": "I",
    "2.5.4.46": "dnQualifier",
    "0.9.2342.19200300.100.1.25": "DC",
    "1.2.840.113549.1.9.1": "E",
}
# Attribute keywords accepted when reading a DN (lower case): .NET's names and OpenSSL's.
_KEYWORDS: dict[str, str] = {label.lower(): oid for oid, label in _DOTNET_LABELS.items()} | {
    "st": "2.5.4.8",
    "emailaddress": "1.2.840.113549.1.9.1",
    "email": "1.2.840.113549.1.9.1",
    "gn": "2.5.4.42",
    "givenname": "2.5.4.42",
    "surname": "2.5.4.4",
    "title": "2.5.4.12",
    "initials": "2.5.4.43",
    "uid": "0.9.2342.19200300.100.1.1",
    "businesscategory": "2.5.4.15",
}
_NEEDS_QUOTES = frozenset(',+="\n<>#;')
_QUOTABLE_SPACE = " \t\n\v\f\r"
_ONELINE = re.compile(r"\s*[\w.]+ = ")

Rdn = tuple[tuple[str, str], ...]
"""One relative name: (attribute OID, value) pairs."""


class DnForm(StrEnum):
    """The order a distinguished name is written in."""

    DOTNET = "dotnet"
    """``CN=leaf, O=Org, C=US``: most specific first, as .NET's ``Name`` prints."""
    OPENSSL_SLASH = "openssl-slash"
    """``/C=US/O=Org/CN=leaf``: OpenSSL's ``-subj`` and compat output, least specific first."""
    OPENSSL_ONELINE = "openssl-oneline"
    """``C = US, O = Org, CN = leaf``: OpenSSL 1.1+ default output, spaces around ``=``."""


@dataclass(frozen=True)
class ParsedDn:
    """A distinguished name read from text: its form and its RDNs."""

    text: str
    form: DnForm
    rdns: tuple[Rdn, ...]
    """In .NET display order (most specific first), whatever order the text used."""

    @property
    def dotnet(self) -> str:
        """The name as .NET's ``X500DistinguishedName.Name`` would print it."""
        return _render(self.rdns)

    @property
    def is_exact_dotnet(self) -> bool:
        """Whether the text is character for character what .NET prints (ordinal comparison)."""
        return self.text == self.dotnet


def dotnet_name(name: x509.Name) -> str:
    """``name`` as .NET's ``X500DistinguishedName.Name`` prints it ("CN=…, O=…, C=…")."""
    return _render(
        tuple((attr.oid.dotted_string, _attr_text(attr.value)) for attr in rdn)
        for rdn in reversed(name.rdns)
    )


def parse_dn(text: str) -> ParsedDn:
    """Read a DN written in .NET form or one of OpenSSL's forms, and say which form it is.

    .NET form: ``,`` or ``;`` between relative names, ``+`` between values of one, values in
    double quotes with ``""`` for a quote. OpenSSL forms: backslash escapes, least specific first.
    A text whose first attribute reads ``KEY = value`` (spaces around ``=``) is taken as
    OpenSSL's one-line form. In the .NET form a double quote opens or closes a quoted value
    wherever it stands, so ``CN=a"b`` is refused although .NET would read it.
    """
    body = text.strip()
    if body.startswith("/"):
        form, parts = DnForm.OPENSSL_SLASH, _split(body[1:], "/", dotnet=False)
    elif _ONELINE.match(body):
        form, parts = DnForm.OPENSSL_ONELINE, _split(body, ",", dotnet=False)
    else:
        form, parts = DnForm.DOTNET, _split(body, ",;", dotnet=True)
    dotnet = form is DnForm.DOTNET
    rdns = tuple(
        tuple(
            _read_attribute(text, value, dotnet=dotnet)
            for value in _split(part, "+", dotnet=dotnet)
        )
        for part in parts
        if part.strip()
    )
    if not rdns:
        raise DistinguishedNameError(f"no attribute in distinguished name {text!r}")
    return ParsedDn(text=text, form=form, rdns=rdns if dotnet else rdns[::-1])


def _render(rdns: Iterable[Rdn]) -> str:
    return ", ".join(
        " + ".join(f"{_DOTNET_LABELS.get(oid, 'OID.' + oid)}={_quote(value)}" for oid, value in rdn)
        for rdn in rdns
    )


def _quote(value: str) -> str:
    plain = (
        value
        and value[0] not in _QUOTABLE_SPACE
        and value[-1] not in _QUOTABLE_SPACE
        and _NEEDS_QUOTES.isdisjoint(value)
    )
    return value if plain else '"' + value.replace('"', '""') + '"'


def _attr_text(value: str | bytes) -> str:
    return value if isinstance(value, str) else "#" + value.hex().upper()


def _split(text: str, separators: str, *, dotnet: bool) -> list[str]:
    """Split at separators outside double quotes (.NET) or not escaped by a backslash."""
    parts: list[str] = []
    current: list[str] = []
    quoted = escaped = False
    for char in text:
        if escaped:
            escaped = False
        elif not dotnet and char == "\\":
            escaped = True
        elif dotnet and char == '"':
            quoted = not quoted
        elif char in separators and not quoted:
            parts.append("".join(current))
            current = []
            continue
        current.append(char)
    if quoted:
        raise DistinguishedNameError(f"unbalanced quotes in distinguished name {text!r}")
    parts.append("".join(current))
    return parts


def _read_attribute(dn: str, part: str, *, dotnet: bool) -> tuple[str, str]:
    keyword, equals, raw = part.partition("=")
    keyword = keyword.strip()
    if not equals or not keyword:
        raise DistinguishedNameError(f"{part.strip()!r} is not attribute=value in {dn!r}")
    oid = _KEYWORDS.get(keyword.lower())
    if oid is None:
        dotted = keyword[4:] if keyword.upper().startswith("OID.") else keyword
        if not all(piece.isdigit() for piece in dotted.split(".")):
            raise DistinguishedNameError(f"unknown attribute {keyword!r} in {dn!r}")
        oid = dotted
    value = raw.strip()
    if dotnet and len(value) >= 2 and value[0] == value[-1] == '"':
        value = value[1:-1].replace('""', '"')
    elif not dotnet:
        value = _unescape(value)
    return oid, value


def _unescape(value: str) -> str:
    chars: list[str] = []
    escaped = False
    for char in value:
        if char == "\\" and not escaped:
            escaped = True
            continue
        escaped = False
        chars.append(char)
    return "".join(chars)
