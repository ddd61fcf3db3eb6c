"""A tolerant parser for the APIM policy language.

Most real policies are not well-formed XML (raw C# in attributes and text, documented DN values
with inner quotes, Terraform directives), so the markup is tokenised here, with
:mod:`mtls_audit.policy.parsing.prepass` finding where expressions end. Nothing is ever resolved or
fetched: document type declarations are refused outright, so no entity can read a file or
expand, and undeclared references such as ``&name;`` stay as written.

``escaped`` says which form the text is in. ARM's ``format=xml`` payload is the policy as
well-formed XML (expressions entity-escaped, line breaks in attribute values written
``&#xA;``); with ``escaped=True`` markup is read strictly by XML quoting rules, and those
references count as line breaks so lines match the authored form. ``escaped=False`` reads
authored (``rawxml``) text. ``None`` reads expression-aware and treats the text as escaped
unless it holds something well-formed XML cannot (a raw ``<``, quote or ``&`` in a value).
"""

from __future__ import annotations

import re

from mtls_audit.errors import PolicyParseError
from mtls_audit.policy.parsing.prepass import (
    BARE_AMPERSAND,
    LINE_BREAK_REFERENCE,
    MAX_SPAN_CHARS,
    Scanner,
    decode_references,
    normalise_line_ends,
)
from mtls_audit.policy.parsing.tree import (
    SECTIONS,
    SNIPPET_TAG,
    DocumentKind,
    ElementBuilder,
    ParseProblem,
    PolicyDocument,
    position,
)

MAX_CHARS = 8 * 1024 * 1024
MAX_DEPTH = 256
MAX_ELEMENTS = 200_000
MAX_ATTRIBUTES = 1_000
MAX_PROBLEMS = 500
MAX_WASTED_CHARS = 4 * MAX_SPAN_CHARS

_NAME = re.compile(r"[A-Za-z_:][-\w:.]*")
_SPACE = re.compile(r"\s*")
_EQUALS = re.compile(r"\s*=\s*")
_UNQUOTED = re.compile(r"[^\s>]*")
_END_TAG = re.compile(r"</\s*([^\s>/<]*)\s*(>?)")
_DECLARATION = re.compile(r"<!\s*(DOCTYPE|ENTITY|ELEMENT|ATTLIST|NOTATION)\b", re.IGNORECASE)
_LINE_BREAK = re.compile(r"\r\n?|\n")
_TEXT_STOP_RAW = re.compile(r"<|@[({]|[$%]\{")
_TEXT_STOP_ESCAPED = re.compile(r"<")


def parse_policy(
    text: str, *, source: str = "<policy>", escaped: bool | None = None
) -> PolicyDocument:
    """Parse one policy document; see the module docstring for ``escaped``.

    Raises :class:`PolicyParseError` for hostile input (document type declarations, text, depth
    or element counts over the bounds) and for text that holds no element at all.
    """
    if len(text) > MAX_CHARS:
        raise PolicyParseError(
            f"policy text of {len(text)} characters is over the {MAX_CHARS} limit", source=source
        )
    return _Parser(text.removeprefix("\ufeff"), source, escaped).parse()


class _Parser:
    def __init__(self, text: str, source: str, escaped: bool | None) -> None:
        self.text = text
        self.source = source
        self.escaped = escaped
        self.aware = escaped is not True
        self.scanner = Scanner(text)
        self.document = ElementBuilder("", 0)
        self.stack = [self.document]
        self.elements = 0
        self.problems: list[tuple[int, str, bool]] = []
        self.line_breaks = [m.end() for m in _LINE_BREAK.finditer(text)]
        self.reference_breaks: list[int] = []
        self.raw_evidence = False
        self.wasted = 0

    # --- reading ---------------------------------------------------------------------------

    def parse(self) -> PolicyDocument:
        text, n = self.text, len(self.text)
        stop = _TEXT_STOP_RAW if self.aware else _TEXT_STOP_ESCAPED
        pos = segment = 0
        while True:
            match = stop.search(text, pos)
            if match is None:
                break
            i = match.start()
            char = text[i]
            if char == "<":
                self._add_text(segment, i)
                pos = segment = self._markup(i)
            elif char == "@":
                pos = self._text_expression(i, segment)
            else:
                pos = self._template(i)
        self._add_text(segment, n)
        for element in reversed(self.stack[1:]):
            self._problem(element.offset, f"<{element.tag}> is not closed")
            element.end_run()
        self.document.end_run()
        return self._finish()

    def _add_text(self, start: int, end: int) -> None:
        if start < end:
            raw = self.text[start:end]
            if "&" in raw and BARE_AMPERSAND.search(raw):
                self.raw_evidence = True
            self.stack[-1].add_text(decode_references(raw), start)

    def _text_expression(self, i: int, segment: int) -> int:
        """An ``@(``/``@{`` that starts a text segment or follows a space opens an expression,
        which may hold ``<`` and quotes."""
        text = self.text
        if not (i == segment or text[i - 1].isspace()):
            return i + 1
        end = self.scanner.expression_end(i)
        if end < 0:
            self._waste(i)
            self._problem(i, "expression is not closed; read as plain text")
            return i + 1
        if "<" in text[i:end]:
            self.raw_evidence = True
        return end

    def _template(self, i: int) -> int:
        end = self.scanner.template_end(i)
        if end < 0:
            self._waste(i)
            self._problem(i, "template placeholder is not closed; read as plain text")
            return i + 1
        if self.text[i] == "%":
            self._problem(i, "template directive kept as text: the elements it guards are all kept")
        return end

    def _markup(self, i: int) -> int:
        text = self.text
        if text.startswith("<!--", i):
            end = text.find("-->", i + 4)
            if end < 0:
                self._problem(i, "comment is not closed; the rest of the text is ignored")
                return len(text)
            return end + 3
        if text.startswith("<![CDATA[", i):
            end = text.find("]]>", i + 9)
            if end < 0:
                self._problem(i, "CDATA section is not closed")
            stop = end if end >= 0 else len(text)
            self.stack[-1].add_text(normalise_line_ends(text[i + 9 : stop]), i + 9)
            return stop + 3 if end >= 0 else stop
        if text.startswith("<!", i):
            return self._declaration(i)
        if text.startswith("<?", i):
            return self._instruction(i)
        if text.startswith("</", i):
            return self._end_tag(i)
        name = _NAME.match(text, i + 1)
        if name:
            return self._start_tag(i, name)
        self.raw_evidence = True
        self._problem(i, "'<' starts no tag; kept as text")
        self.stack[-1].add_text("<", i)
        return i + 1

    def _declaration(self, i: int) -> int:
        declaration = _DECLARATION.match(self.text, i)
        if declaration:
            raise self._refusal(
                i,
                f"<!{declaration.group(1).upper()}> declarations are refused: "
                "entities could read files or expand without bound",
            )
        self._problem(i, "markup declaration ignored")
        end = self.text.find(">", i)
        return end + 1 if end >= 0 else len(self.text)

    def _instruction(self, i: int) -> int:
        if self.text.startswith("<?xml", i) and not self.text[i + 5 : i + 6].strip():
            if i > 0:
                self._problem(i, "XML declaration is not at the start of the text; ignored")
        else:
            self._problem(i, "processing instruction ignored")
        end = self.text.find("?>", i + 2)
        if end < 0:
            self._problem(i, "processing instruction is not closed")
            end = self.text.find(">", i + 2)
            return end + 1 if end >= 0 else len(self.text)
        return end + 2

    def _end_tag(self, i: int) -> int:
        match = _END_TAG.match(self.text, i)
        assert match is not None  # the pattern matches any "</"
        tag, closed = match.group(1), match.group(2)
        if not closed:
            self._problem(i, f"closing tag </{tag}> has no '>'")
        for depth in range(len(self.stack) - 1, 0, -1):
            if self.stack[depth].tag == tag:
                for unclosed in self.stack[depth + 1 :]:
                    self._problem(
                        unclosed.offset, f"<{unclosed.tag}> is not closed before </{tag}>"
                    )
                    unclosed.end_run()
                self.stack[depth].end_run()
                del self.stack[depth:]
                return match.end()
        self._problem(i, f"closing tag </{tag}> matches no open element; ignored")
        return match.end()

    def _start_tag(self, i: int, name: re.Match[str]) -> int:
        text, n = self.text, len(self.text)
        self.elements += 1
        if self.elements > MAX_ELEMENTS:
            raise self._refusal(i, f"more than {MAX_ELEMENTS} elements")
        parent = self.stack[-1]
        parent.end_run()
        element = ElementBuilder(name.group(), i)
        parent.children.append(element)
        pos, junk_reported, self_closing = name.end(), False, False
        while True:
            pos = _SPACE.match(text, pos).end()  # type: ignore[union-attr]
            if pos >= n:
                self._problem(i, f"start tag <{element.tag}> is not closed by '>'")
                break
            char = text[pos]
            if char == ">":
                pos += 1
                break
            if text.startswith("/>", pos):
                pos, self_closing = pos + 2, True
                break
            attribute = _NAME.match(text, pos)
            if attribute:
                pos = self._attribute(element, attribute)
            elif self.aware and text.startswith(("%{", "${"), pos):
                pos = self._template(pos)
            elif char == "<":
                self._problem(i, f"start tag <{element.tag}> is not closed by '>'")
                break
            else:
                if not junk_reported:
                    self._problem(pos, f"unexpected {char!r} in start tag <{element.tag}>")
                    junk_reported = True
                pos += 1
        if not self_closing:
            self.stack.append(element)
            if len(self.stack) - 1 > MAX_DEPTH:
                raise self._refusal(i, f"elements nested deeper than {MAX_DEPTH}")
        return pos

    def _attribute(self, element: ElementBuilder, attribute: re.Match[str]) -> int:
        text, name = self.text, attribute.group()
        if name in element.attr_names:
            self._problem(attribute.start(), f"attribute {name} repeated on <{element.tag}>")
        elif len(element.attr_names) == MAX_ATTRIBUTES:
            raise self._refusal(element.offset, f"more than {MAX_ATTRIBUTES} attributes")
        element.attr_names.add(name)
        equals = _EQUALS.match(text, attribute.end())
        if equals is None:
            self._problem(attribute.start(), f"attribute {name} has no value")
            element.attrs.append((name, "", attribute.start(), attribute.end()))
            return attribute.end()
        start = equals.end()
        quote = text[start : start + 1]
        if quote not in ("'", '"'):
            self._problem(start, f"value of attribute {name} is not quoted")
            end = _UNQUOTED.match(text, start).end()  # type: ignore[union-attr]
            if text.startswith("/>", end - 1):
                end -= 1
            after = end
        else:
            start += 1
            end = self._value_end(start, quote, name)
            after = min(end + 1, len(text))
        raw = text[start:end]
        if "&#" in raw:
            self.reference_breaks.extend(
                m.end() for m in LINE_BREAK_REFERENCE.finditer(text, start, end)
            )
        if (quote and quote in raw) or "<" in raw or ("&" in raw and BARE_AMPERSAND.search(raw)):
            self.raw_evidence = True
        element.attrs.append((name, decode_references(raw), attribute.start(), start))
        return after

    def _value_end(self, start: int, quote: str, name: str) -> int:
        """Index of the quote that ends the value starting at ``start``."""
        text = self.text
        if not self.aware:
            end = text.find(quote, start)
        else:
            search_from = _SPACE.match(text, start).end()  # type: ignore[union-attr]
            if text.startswith(("@(", "@{"), search_from):
                expression_end = self.scanner.expression_end(search_from)
                if expression_end < 0:
                    self._waste(search_from)
                    self._problem(search_from, f"expression in attribute {name} is not closed")
                else:
                    search_from = expression_end
            end = self.scanner.closing_quote(search_from, quote)
            if end < 0:
                self._waste(search_from)
                end = text.find(quote, start)
            elif quote in text[search_from:end]:
                self._problem(start, f"value of attribute {name} holds its own quote character")
        if end < 0:
            self._problem(start, f"value of attribute {name} is not closed")
            tag_end = text.find(">", start)
            end = tag_end if tag_end >= 0 else len(text)
        return end

    # --- bookkeeping -----------------------------------------------------------------------

    def _problem(self, offset: int, message: str, note: bool = False) -> None:
        if len(self.problems) == MAX_PROBLEMS:
            raise self._refusal(offset, f"more than {MAX_PROBLEMS} syntax problems: not a policy")
        self.problems.append((offset, message, note))

    def _waste(self, start: int) -> None:
        """Count a scan from ``start`` that found no end: unclosed spans cost a bounded total."""
        self.wasted += min(len(self.text) - start, MAX_SPAN_CHARS)
        if self.wasted > MAX_WASTED_CHARS:
            raise self._refusal(start, "too many unclosed expressions or attribute values")

    def _refusal(self, offset: int, message: str) -> PolicyParseError:
        line, column = position(self.line_breaks, offset)
        return PolicyParseError(message, source=self.source, where=f"line {line}, column {column}")

    # --- building --------------------------------------------------------------------------

    def _finish(self) -> PolicyDocument:
        escaped = self.escaped if self.escaped is not None else not self.raw_evidence
        breaks = self.line_breaks
        if escaped and self.reference_breaks:
            breaks = sorted(breaks + self.reference_breaks)
        tops = self.document.children
        if not tops:
            raise self._refusal(0, "no policy element found")
        if self.document.texts:
            self._problem(self.document.text_offset, "text outside the root element ignored")
        if tops[0].tag in ("policies", "fragment") or len(tops) == 1:
            root = tops[0]
            for extra in tops[1:]:
                self._problem(extra.offset, f"<{extra.tag}> after the root element ignored")
        else:
            root = ElementBuilder(SNIPPET_TAG, tops[0].offset)
            root.children = tops
            self._problem(tops[0].offset, "several top-level elements; read as one snippet")
        if root.tag == "policies":
            self._check_sections(root)
        node = root.freeze(breaks)
        found = [
            ParseProblem(*position(breaks, at), message, note)
            for at, message, note in self.problems
        ]
        found.sort(key=lambda problem: (problem.line, problem.column))
        kind: DocumentKind = "element"
        if node.tag in ("policies", "fragment"):
            kind = "policies" if node.tag == "policies" else "fragment"
        return PolicyDocument(node, kind, tuple(found), self.source, escaped)

    def _check_sections(self, policies: ElementBuilder) -> None:
        """Report unknown, repeated and out-of-order sections of a ``<policies>`` root."""
        latest, seen = -1, set()
        for child in policies.children:
            if child.tag not in SECTIONS:
                self._problem(child.offset, f"unknown section <{child.tag}>")
                continue
            if child.tag in seen:
                self._problem(child.offset, f"section <{child.tag}> repeated")
            order = SECTIONS.index(child.tag)
            if order < latest:
                self._problem(
                    child.offset, f"section <{child.tag}> comes after <{SECTIONS[latest]}>", True
                )
            seen.add(child.tag)
            latest = max(latest, order)
