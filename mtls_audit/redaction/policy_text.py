"""Secrets in policy text, by construct (see ``names``), then by the shape of a value.

Policy text is not parsed here (the snapshot layer sits below the policy parser): start tags
are scanned lexically, expressions (``@(…)``, ``@{…}``) skipped whole, and only the characters
of a secret value are replaced by the marker. Markup, quotes, line breaks and every other
character stay, so the redacted text parses to the same elements and attributes on the same
lines as the original.

Hostile text stays cheap: closing tags and ``<value>`` children are located once per document
(and looked up by bisection), and every expression skipped draws on one budget proportional to
the text's length, so the work grows with the text, not with its square.
"""

from __future__ import annotations

import re
from bisect import bisect_left
from collections import Counter
from collections.abc import Callable, Iterator

from mtls_audit.redaction.names import (
    POLICY_KEY_ELEMENTS,
    POLICY_NAMED_VALUE_ELEMENTS,
    POLICY_SECRET_ATTRIBUTES,
    REDACTED,
    secret_attribute,
    secret_name,
)
from mtls_audit.redaction.text import literal, redact_text

MAX_EXPRESSION = 64 * 1024
"""An expression longer than this ends the scan of its tag."""

# Only the elements that can carry a secret are scanned (a secret attribute any element may
# have is found by ``_ANY_SECRET_ATTRIBUTE``), so most markup costs nothing.
_SCANNED = sorted(
    {*POLICY_SECRET_ATTRIBUTES, *POLICY_NAMED_VALUE_ELEMENTS, *POLICY_KEY_ELEMENTS, "set-variable"}
    - {"*"}
)
_START_TAG = re.compile(
    "<(" + "|".join(re.escape(tag) for tag in _SCANNED) + r")(?=[\s/>])", re.IGNORECASE
)
_NAME = re.compile(r"\s*([A-Za-z_:][-\w:.]*)\s*=\s*")
_SPACE = re.compile(r"\s*")
_VALUE_OPEN = re.compile(r"<value\s*>")
_VALUE_CLOSE = re.compile(r"</value\s*>")
_ANY_SECRET_ATTRIBUTE = re.compile(
    r"(?P<head>(?<![-\w])(?:"
    + "|".join(re.escape(name) for name in sorted(POLICY_SECRET_ATTRIBUTES["*"]))
    + r")\s*=\s*(?P<q>[\"']))(?P<value>[^\"'<>]*)(?P=q)",
    re.IGNORECASE,
)
_EXPRESSION_STOPS = {"(": re.compile(r"[()\"']"), "{": re.compile(r"[{}\"']")}


def redact_policy_text(text: str, counts: Counter[str]) -> str:
    """Policy text with the secrets of its constructs replaced, then any secret-shaped value
    (see :func:`~mtls_audit.redaction.text.redact_text`)."""
    scan = _Scan(text)
    edits: list[tuple[int, int, str]] = []
    for match in _START_TAG.finditer(text):
        edits.extend(_element_edits(scan, match.group(1).lower(), match.end()))
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
    return redact_text(_ANY_SECRET_ATTRIBUTE.sub(_hidden_attribute(counts), "".join(out)), counts)


def _hidden_attribute(counts: Counter[str]) -> Callable[[re.Match[str]], str]:
    """A secret attribute the tag scan did not reach (a tag it gave up on): hidden too."""

    def hide(match: re.Match[str]) -> str:
        if not literal(match.group("value")):
            return match.group(0)
        counts["policy-password-literal"] += 1
        return f"{match.group('head')}{REDACTED}{match.group('q')}"

    return hide


class _Scan:
    """One policy text, the places found in it once, and the budget its expression scans
    share."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.lowered = text.lower()
        self.budget = len(text) + MAX_EXPRESSION
        self.value_starts = [m.end() for m in _VALUE_OPEN.finditer(self.lowered)]
        self.value_ends = [m.start() for m in _VALUE_CLOSE.finditer(self.lowered)]
        self.claimed = 0  # value children before this index belong to an earlier element
        self._closes: dict[str, list[int]] = {}

    def close_of(self, tag: str, after: int) -> int | None:
        """Where the first ``</tag`` at or after ``after`` starts."""
        found = self._closes.get(tag)
        if found is None:
            pattern = re.compile(f"</{re.escape(tag)}\\s*>")
            found = self._closes[tag] = [m.start() for m in pattern.finditer(self.lowered)]
        index = bisect_left(found, after)
        return found[index] if index < len(found) else None

    def values(self, start: int, stop: int) -> Iterator[tuple[int, int]]:
        """The contents (start, end) of the ``<value>`` children between two offsets."""
        index = max(bisect_left(self.value_starts, start), self.claimed)
        starts, ends = self.value_starts, self.value_ends
        while index < len(starts) and starts[index] < stop:
            opened = starts[index]
            following = starts[index + 1] if index + 1 < len(starts) else len(self.text)
            closing = bisect_left(ends, opened)
            # Its own ``</value>``: before the next ``<value>`` (contents never overlap).
            if closing < len(ends) and ends[closing] <= min(stop, following):
                yield opened, ends[closing]
            index += 1
        self.claimed = index


def _element_edits(scan: _Scan, tag: str, at: int) -> Iterator[tuple[int, int, str]]:
    """The secret spans of one element whose start tag's name ends at ``at``."""
    text = scan.text
    attrs, end, closed = _attributes(scan, at)
    names = {name.lower(): text[start:stop] for name, start, stop in attrs}
    named_secret = secret_name(names.get("name", ""))
    for name, start, stop in attrs:
        if not literal(text[start:stop]):
            continue
        if secret_attribute(tag, name):
            label = "policy-password-literal" if "password" in name.lower() else f"policy-{name}"
            yield start, stop, label
        elif tag == "set-variable" and name.lower() == "value" and named_secret:
            yield start, stop, "policy-variable"
    if end is None or closed:
        return
    close = scan.close_of(tag, end)
    if close is None:
        return
    if tag in POLICY_NAMED_VALUE_ELEMENTS and named_secret:
        for start, stop in scan.values(end, close):
            if literal(text[start:stop]):
                yield start, stop, "policy-header-value"
    elif tag in POLICY_KEY_ELEMENTS and text.find("<", end) == close and literal(text[end:close]):
        yield end, close, "policy-key"


def _attributes(scan: _Scan, at: int) -> tuple[list[tuple[str, int, int]], int | None, bool]:
    """The attributes of a start tag (name, value start, value end), the offset after its
    ``>`` (None when the tag does not end) and whether it closes itself (``/>``)."""
    text = scan.text
    attrs: list[tuple[str, int, int]] = []
    i = at
    while True:
        i = _SPACE.match(text, i).end()  # type: ignore[union-attr]  # \s* always matches
        if text.startswith("/>", i):
            return attrs, i + 2, True
        if text.startswith(">", i):
            return attrs, i + 1, False
        name = _NAME.match(text, i)
        if name is None or name.end() >= len(text) or text[name.end()] not in "\"'":
            return attrs, None, False
        quote, start = text[name.end()], name.end() + 1
        stop = _value_end(scan, start, quote)
        if stop is None:
            return attrs, None, False
        attrs.append((name.group(1), start, stop))
        i = stop + 1


def _value_end(scan: _Scan, start: int, quote: str) -> int | None:
    """Where a quoted attribute value ends: an expression is skipped whole first (its C#
    strings may hold the quote character)."""
    after: int | None = start
    if scan.text.startswith(("@(", "@{"), start):
        after = _expression_end(scan, start + 1)
        if after is None:
            return None
    stop = scan.text.find(quote, after)
    return None if stop < 0 else stop


def _expression_end(scan: _Scan, i: int) -> int | None:
    """The offset after the bracket that closes the one at ``i`` (C# strings and character
    literals skipped), or None when it does not close within ``MAX_EXPRESSION`` or the
    document's scan budget is spent."""
    text, opening = scan.text, scan.text[i]
    stops = _EXPRESSION_STOPS[opening]
    begin, depth = i, 0
    limit = min(len(text), i + MAX_EXPRESSION, i + max(scan.budget, 0))
    found = None
    while i < limit:
        stop = stops.search(text, i, limit)
        if stop is None:
            break
        i, char = stop.start(), stop.group()
        if char in "\"'":
            i = _string_end(text, i, limit)
            continue
        depth += 1 if char == opening else -1
        i += 1
        if depth == 0:
            found = i
            break
    scan.budget -= min(i, limit) - begin
    return found


def _string_end(text: str, i: int, limit: int) -> int:
    """The offset after the C# string or character literal that starts at ``i``."""
    quote, i = text[i], i + 1
    while i < limit:
        stop = text.find(quote, i, limit)
        if stop < 0:
            return limit
        before = stop - 1
        while before >= i and text[before] == "\\":
            before -= 1
        if (stop - 1 - before) % 2 == 0:  # the quote is not escaped
            return stop + 1
        i = stop + 1
    return limit
