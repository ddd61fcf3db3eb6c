"""Secrets in text: policy documents (by construct) and any free text (by the shape of a value).

Policy text is not parsed here (the snapshot layer sits below the policy parser): start tags
are scanned lexically, expressions (``@(…)``, ``@{…}``) skipped whole, and only the characters
of a secret value are replaced by the marker. Markup, quotes and every other character stay,
so the redacted text parses to the same elements and attributes as the original.
Values that are expressions or name a named value (``{{name}}``) or a deployment placeholder
are not secrets themselves and stay.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterator

from mtls_audit.redaction.names import (
    POLICY_KEY_ELEMENTS,
    POLICY_NAMED_VALUE_ELEMENTS,
    REDACTED,
    secret_attribute,
    secret_name,
)

MAX_EXPRESSION = 64 * 1024
"""An expression in an attribute longer than this ends the scan of its tag (bounds the work)."""

_START_TAG = re.compile(r"<([A-Za-z_][-\w:.]*)")
_NAME = re.compile(r"\s*([A-Za-z_:][-\w:.]*)\s*=\s*")
_VALUE_CHILD = re.compile(r"<value(?:\s[^>]*)?>(.*?)</value\s*>", re.DOTALL | re.IGNORECASE)
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
_AUTH_ANCHOR = re.compile(r"Bearer|bearer|Basic|SharedAccessSignature")
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


def redact_text(text: str, counts: Counter[str]) -> str:
    """``text`` with secret-shaped values replaced: ``Bearer``/``Basic`` credentials, shared
    access signatures, JWTs, secret query parameters (``code``, ``sig``, ``subscription-key``,
    …), connection-string secrets (``AccountKey=``, ``Password=``, …) and JSON members with a
    credential name."""
    if len(text) < 8:
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
    if _AUTH_ANCHOR.search(text):
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


def redact_policy_text(text: str, counts: Counter[str]) -> str:
    """Policy text with the secrets of its constructs replaced (see ``names``), then any
    secret-shaped value (see :func:`redact_text`)."""
    edits: list[tuple[int, int, str]] = []
    for match in _START_TAG.finditer(text):
        edits.extend(_element_edits(text, match.group(1).lower(), match.end()))
    out: list[str] = []
    done = 0
    for start, end, label in sorted(edits):
        if start < done:
            continue
        # The value's line breaks stay, so every line after it keeps its number.
        out += [text[done:start], REDACTED, "\n" * text.count("\n", start, end)]
        counts[label] += 1
        done = end
    out.append(text[done:])
    return redact_text("".join(out), counts)


def _element_edits(text: str, tag: str, at: int) -> Iterator[tuple[int, int, str]]:
    """The secret spans of one element whose start tag's name ends at ``at``."""
    attrs, end, closed = _attributes(text, at)
    names = {name.lower(): text[start:stop] for name, start, stop in attrs}
    for name, start, stop in attrs:
        value = text[start:stop]
        if not literal(value):
            continue
        if secret_attribute(tag, name):
            label = "policy-password-literal" if "password" in name.lower() else f"policy-{name}"
            yield start, stop, label
        elif (
            tag == "set-variable" and name.lower() == "value" and secret_name(names.get("name", ""))
        ):
            yield start, stop, "policy-variable"
    if end is None or closed:
        return
    if tag in POLICY_NAMED_VALUE_ELEMENTS and _secret_named(names):
        close = text.lower().find(f"</{tag}", end)
        body_end = len(text) if close < 0 else close
        for child in _VALUE_CHILD.finditer(text, end, body_end):
            if literal(child.group(1)):
                yield child.start(1), child.end(1), "policy-header-value"
    elif tag in POLICY_KEY_ELEMENTS:
        close = text.lower().find(f"</{tag}", end)
        if close >= 0 and literal(text[end:close]) and "<" not in text[end:close]:
            yield end, close, "policy-key"


def _secret_named(attrs: dict[str, str]) -> bool:
    return secret_name(attrs.get("name", ""))


def _attributes(text: str, at: int) -> tuple[list[tuple[str, int, int]], int | None, bool]:
    """The attributes of a start tag (name, value start, value end), the offset after its
    ``>`` (None when the tag does not end) and whether it closes itself (``/>``)."""
    attrs: list[tuple[str, int, int]] = []
    i = at
    while True:
        while i < len(text) and text[i].isspace():
            i += 1
        if text.startswith("/>", i):
            return attrs, i + 2, True
        if text.startswith(">", i):
            return attrs, i + 1, False
        name = _NAME.match(text, i)
        if name is None or name.end() >= len(text) or text[name.end()] not in "\"'":
            return attrs, None, False
        quote, start = text[name.end()], name.end() + 1
        stop = _value_end(text, start, quote)
        if stop is None:
            return attrs, None, False
        attrs.append((name.group(1), start, stop))
        i = stop + 1


def _value_end(text: str, start: int, quote: str) -> int | None:
    """Where a quoted attribute value ends: an expression is skipped whole first (its C#
    strings may hold the quote character)."""
    after: int | None = start
    if text.startswith(("@(", "@{"), start):
        after = _expression_end(text, start + 1)
        if after is None:
            return None
    stop = text.find(quote, after)
    return None if stop < 0 else stop


def _expression_end(text: str, i: int) -> int | None:
    """The offset after the bracket that closes the one at ``i`` (C# strings and character
    literals skipped), or None when it does not close within ``MAX_EXPRESSION``."""
    opening = text[i]
    closing = ")" if opening == "(" else "}"
    depth, limit = 0, min(len(text), i + MAX_EXPRESSION)
    while i < limit:
        char = text[i]
        if char in "\"'":
            i = _string_end(text, i, limit)
            continue
        if char == opening:
            depth += 1
        elif char == closing:
            depth -= 1
            if depth == 0:
                return i + 1
        i += 1
    return None


def _string_end(text: str, i: int, limit: int) -> int:
    quote, i = text[i], i + 1
    while i < limit and text[i] != quote:
        i += 2 if text[i] == "\\" else 1
    return i + 1
