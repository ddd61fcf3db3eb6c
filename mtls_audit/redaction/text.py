"""Secrets in any text, recognised by the shape of a value, and what counts as a literal.

Values that are expressions or name a named value (``{{name}}``) or a deployment placeholder
are not secrets themselves and stay.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable

from mtls_audit.redaction.names import REDACTED, secret_name

_PLACEHOLDER = re.compile(r"\{\{[^{}]+\}\}|[$%#]\{[^{}]*\}|\$\([A-Za-z_][\w.]*\)")
_TEMPLATE_REFERENCE = re.compile(
    r"\[\s*(?:parameters|variables)\(\s*'[^']*'\s*\)\s*\]", re.IGNORECASE
)

# Values recognised by their shape, in any text.
_AUTH_SCHEME = re.compile(
    r"(?P<head>(?<![-\w.])(?:Bearer|bearer|Basic)\s+)"
    r"(?P<value>[A-Za-z0-9\-._~+/]{8,}=*)(?![A-Za-z0-9\-._~+/=:{])"
    r"|(?P<sashead>(?<![-\w.])SharedAccessSignature\s+)(?P<sas>[^\s\"'<>]+)"
)
_WORDLIKE = re.compile(r"[A-Za-z][a-z]*")
_JWT = re.compile(r"\beyJ[A-Za-z0-9_-]{6,}\.[A-Za-z0-9_-]{6,}\.[A-Za-z0-9_-]*")
# A value stops before C# interpolation or code (``{x}``, ``(``), so that only literals match.
_QUERY = re.compile(
    r"(?P<head>(?:&amp;|[?&])(?P<name>[A-Za-z0-9_.$~-]+)=)(?P<value>[^&#\"'<>\s{}()\[\]]*)"
)
_PAIR = re.compile(
    r"(?P<head>(?<![.\w])(?:AccountKey|SharedAccessKey|InstrumentationKey|Password|Pwd|"
    r"client_secret|access_token|refresh_token|id_token)\s*=(?!=)\s*)"
    r"(?P<value>[^;&\"'<>\s{}()=][^;&\"'<>\s{}()]*)",
    re.IGNORECASE,
)
_JSON_PAIR = re.compile(
    r"(?P<q>\"|&quot;)(?P<name>[A-Za-z0-9_.-]{2,64})(?P=q)\s*:\s*"
    r"(?P<head>(?P<q2>\"|&quot;))(?P<value>[^\"&<>\n]{1,4096}?)(?P=q2)"
)


def literal(value: str) -> bool:
    """A value written as is: not empty, not the marker, not an expression, naming no named
    value or deployment placeholder, not a template's unresolved ``[parameters('x')]`` or
    ``[variables('x')]`` (those are not secrets themselves)."""
    text = value.strip()
    return (
        bool(text)
        and text != REDACTED
        and not text.startswith(("@(", "@{"))
        and _PLACEHOLDER.search(text) is None
        and _TEMPLATE_REFERENCE.fullmatch(text) is None
    )


def may_hold_secret(text: str) -> bool:
    """Whether :func:`redact_text` can find anything in ``text``: every shape it looks for is
    8 characters long at least and holds one of these anchors. Most strings (names, ids) hold
    none, and substring tests rule them out far more cheaply than a pattern search."""
    return len(text) >= 8 and (
        "=" in text or ":" in text or "eyJ" in text or _has_auth_scheme(text)
    )


def _has_auth_scheme(text: str) -> bool:
    return (
        "Bearer" in text or "bearer" in text or "Basic" in text or "SharedAccessSignature" in text
    )


def redact_text(text: str, counts: Counter[str]) -> str:
    """``text`` with secret-shaped values replaced: ``Bearer``/``Basic`` credentials, shared
    access signatures, JWTs, secret query parameters (``code``, ``sig``, ``subscription-key``,
    …), connection-string secrets (``AccountKey=``, ``Password=``, …) and JSON members with a
    credential name."""
    if not may_hold_secret(text):
        return text

    def shape(match: re.Match[str]) -> str:
        head = match.group("head") or match.group("sashead")
        value = match.group("value")
        if value is not None and _WORDLIKE.fullmatch(value):
            return match.group(0)  # a word ("Basic authentication"), not a credential
        if value is None and "{" in match.group("sas"):
            return match.group(0)  # a format string, not a signature
        counts["credential-in-text"] += 1
        return f"{head}{REDACTED}"

    def jwt(match: re.Match[str]) -> str:
        counts["jwt-in-text"] += 1
        return REDACTED

    def named(label: str) -> Callable[[re.Match[str]], str]:
        def replace(match: re.Match[str]) -> str:
            value = match.group("value")
            if not literal(value) or not _is_secret(match):
                return match.group(0)
            counts[label] += 1
            start, end = match.span("value")
            whole = match.group(0)
            offset = match.start()
            return whole[: start - offset] + REDACTED + whole[end - offset :]

        return replace

    # Each pattern runs only where its anchor occurs: most strings (names, ids) have none.
    if _has_auth_scheme(text):
        text = _AUTH_SCHEME.sub(shape, text)
    if "eyJ" in text:
        text = _JWT.sub(jwt, text)
    if "=" in text:
        text = _QUERY.sub(named("secret-query-parameter"), text)
        text = _PAIR.sub(named("secret-pair"), text)
    if ":" in text:
        text = _JSON_PAIR.sub(named("secret-json-member"), text)
    return text


def _is_secret(match: re.Match[str]) -> bool:
    names = match.groupdict()
    return "name" not in names or names["name"] is None or secret_name(names["name"])
