"""Lexical scanning that finds where APIM policy expressions, template spans and attribute
values end in raw (not well-formed) policy text.

Raw APIM policies put C# inside XML without escaping it: ``"@(h["a"] == "b")"``,
``@{ return body.As<JObject>(); }``. To find the end of such a span the scanner reads just enough
C# to skip string, verbatim, interpolated and char literals and comments, and counts the bracket
that closes the span. An XML character or entity reference (``&quot;``) reads as the character it
stands for, so the XML-escaped form of the same policy scans the same way.
"""

from __future__ import annotations

import re

MAX_CODE_NESTING = 64
"""Interpolation holes nested deeper than this make a span unreadable (its scan fails)."""

MAX_SPAN_CHARS = 256 * 1024
"""A span (expression, template placeholder, attribute value) not closed within this many
characters is not closed: no APIM policy document is that large, and it bounds each scan."""

_REFERENCE = re.compile(r"&(?:(lt|gt|amp|quot|apos)|#([0-9]{1,7})|#x([0-9a-fA-F]{1,6}));")
_NAMED = {"lt": "<", "gt": ">", "amp": "&", "quot": '"', "apos": "'"}
BARE_AMPERSAND = re.compile(r"&(?!(?:lt|gt|amp|quot|apos|#[0-9]{1,7}|#x[0-9a-fA-F]{1,6});)")
"""An ``&`` that starts no reference: impossible in well-formed XML, common in raw C#."""

LINE_BREAK_REFERENCE = re.compile(
    r"(?:&#(?:x0*[dD]|0*13);)?&#(?:x0*[aA]|0*10);|&#(?:x0*[dD]|0*13);"
)
"""A line break written as character references (``&#xD;&#xA;`` counts once)."""

_PAREN_CODE_STOP = re.compile(r"[()\"'/@$&]")
_BRACE_CODE_STOP = re.compile(r"[{}\"'/@$&]")
_REGULAR_STRING_STOP = re.compile(r"[\\\"&{}\n]")
_VERBATIM_STRING_STOP = re.compile(r"[\"&{}]")
_LINE_END = re.compile(r"[\r\n]|&#(?:x0*[aAdD]|0*1[03]);")
_HEX_DIGITS = re.compile(r"[0-9a-fA-F]{1,8}")
_AFTER_VALUE = re.compile(r"\s*(?:/?>|\?>|\Z)|\s+(?:[A-Za-z_:][-\w:.]*\s*=\s*[\"']|[%$]\{)")


def _is_xml_char(code: int) -> bool:
    return (
        code in (0x9, 0xA, 0xD)
        or 0x20 <= code <= 0xD7FF
        or 0xE000 <= code <= 0xFFFD
        or 0x10000 <= code <= 0x10FFFF
    )


def _reference_char(match: re.Match[str]) -> str:
    named, decimal, hexadecimal = match.groups()
    if named:
        return _NAMED[named]
    code = int(decimal) if decimal else int(hexadecimal, 16)
    return chr(code) if _is_xml_char(code) else match.group()


def decode_references(raw: str) -> str:
    """Decode XML character and predefined entity references and normalise line ends to ``\\n``.

    Any other ``&name;`` (an undeclared entity such as ``&xxe;``) stays as written: nothing is
    ever resolved.
    """
    return normalise_line_ends(_REFERENCE.sub(_reference_char, raw) if "&" in raw else raw)


def normalise_line_ends(raw: str) -> str:
    """``\r\n`` and a lone ``\r`` become ``\n``, as an XML parser reads them."""
    return raw.replace("\r\n", "\n").replace("\r", "\n") if "\r" in raw else raw


class Scanner:
    """Span finders over one policy text. Every method returns an index into the text, or -1
    when the span does not end before the text does."""

    __slots__ = ("_end", "_text")

    def __init__(self, text: str) -> None:
        self._text = text
        self._end = len(text)  # the end of the current scan window

    def _window(self, pos: int) -> None:
        self._end = min(len(self._text), pos + MAX_SPAN_CHARS)

    def _at(self, pos: int) -> tuple[str, int]:
        """The character at ``pos`` (a reference counts as the character it stands for) and the
        index after it; ``("", pos)`` at the end of the text."""
        if pos >= self._end:
            return "", pos
        char = self._text[pos]
        if char == "&":
            match = _REFERENCE.match(self._text, pos)
            if match:
                return _reference_char(match), match.end()
        return char, pos + 1

    def expression_end(self, pos: int) -> int:
        """End (exclusive) of the ``@(…)`` or ``@{…}`` expression whose ``@`` is at ``pos``."""
        closer = ")" if self._text[pos + 1] == "(" else "}"
        self._window(pos)
        return self.skip_code(pos + 2, closer)

    def template_end(self, pos: int) -> int:
        """End (exclusive) of the Terraform ``${…}`` or ``%{…}`` span starting at ``pos``."""
        self._window(pos)
        return self.skip_code(pos + 2, "}")

    def skip_code(self, pos: int, closer: str, depth: int = 0) -> int:
        """Skip C# code up to and including the ``closer`` (``)`` or ``}``) that balances it."""
        if depth > MAX_CODE_NESTING:
            return -1
        opener, stops = ("(", _PAREN_CODE_STOP) if closer == ")" else ("{", _BRACE_CODE_STOP)
        level = 0
        while True:
            match = stops.search(self._text, pos, self._end)
            if match is None:
                return -1
            start = match.start()
            char = match.group()
            after = start + 1
            if char == "&":
                char, after = self._at(start)
            if char == opener:
                level += 1
            elif char == closer:
                if level == 0:
                    return after
                level -= 1
            elif char == '"':
                after = self._skip_string(after, verbatim=False, interpolated=False, depth=depth)
            elif char == "'":
                after = self._skip_char_literal(after)
            elif char == "/":
                after = self._skip_comment(after)
            elif char in "@$":
                after = self._skip_prefixed_string(start, depth)
            if after < 0:
                return -1
            pos = after

    def _skip_prefixed_string(self, pos: int, depth: int) -> int:
        """At ``@``/``$``: skip a ``@"…"``, ``$"…"``, ``$@"…"`` or ``@$"…"`` literal, else the
        prefix character alone."""
        prefixes = ""
        char, after = self._at(pos)
        while char in ("@", "$") and char not in prefixes:
            prefixes += char
            char, after_char = self._at(after)
            if char == '"':
                return self._skip_string(
                    after_char, verbatim="@" in prefixes, interpolated="$" in prefixes, depth=depth
                )
            after = after_char
        return self._at(pos)[1]

    def _skip_string(self, pos: int, *, verbatim: bool, interpolated: bool, depth: int) -> int:
        """Skip a string literal body starting after its opening quote.

        A regular string ends at the end of its line even without a closing quote, as the C#
        compiler would report it there; that keeps one bad literal from swallowing the policy.
        """
        stop = _VERBATIM_STRING_STOP if verbatim else _REGULAR_STRING_STOP
        while True:
            match = stop.search(self._text, pos, self._end)
            if match is None:
                return -1
            start = match.start()
            char, after = self._at(start)
            if char == '"':
                if not verbatim:
                    return after
                following, after_pair = self._at(after)
                if following != '"':
                    return after
                after = after_pair
            elif char == "\\" and not verbatim:
                after = self._at(after)[1]
            elif char == "\n" and not verbatim:
                return start
            elif interpolated and char in "{}":
                following, after_pair = self._at(after)
                if following == char:
                    after = after_pair
                elif char == "{":
                    after = self.skip_code(after, "}", depth + 1)
                    if after < 0:
                        return -1
            pos = after

    def _skip_char_literal(self, pos: int) -> int:
        """Skip a char literal body starting after its opening ``'``; a ``'`` that starts no
        literal is skipped alone."""
        char, after = self._at(pos)
        if char == "\\":
            escaped, after = self._at(after)
            if escaped in ("u", "x", "U"):
                digits = _HEX_DIGITS.match(self._text, after, self._end)
                after = digits.end() if digits else after
        elif char in ("'", "\n", ""):
            return pos
        closing, after_closing = self._at(after)
        return after_closing if closing == "'" else pos

    def _skip_comment(self, pos: int) -> int:
        """After a ``/``: skip a ``//`` or ``/* */`` comment; a lone ``/`` is skipped alone."""
        char = self._text[pos] if pos < self._end else ""
        if char == "/":
            line_end = _LINE_END.search(self._text, pos, self._end)
            return line_end.start() if line_end else -1
        if char == "*":
            end = self._text.find("*/", pos + 1, self._end)
            return end + 2 if end >= 0 else -1
        return pos

    def closing_quote(self, pos: int, quote: str) -> int:
        """The first ``quote`` from ``pos`` that can end an attribute value: one followed by the
        end of the tag, another attribute or the end of the text. Quotes inside a value (the
        documented ``subject="…, O="Contoso, Inc.", CN=…"``) are passed over."""
        text = self._text
        self._window(pos)
        index = text.find(quote, pos, self._end)
        while index >= 0:
            if _AFTER_VALUE.match(text, index + 1):
                return index
            index = text.find(quote, index + 1, self._end)
        return -1
