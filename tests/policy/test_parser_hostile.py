"""Hostile policy text is refused with a clear error; nothing is ever read or expanded."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

from mtls_audit.errors import PolicyParseError
from mtls_audit.policy.parsing.parser import (
    MAX_ATTRIBUTES,
    MAX_CHARS,
    MAX_DEPTH,
    MAX_ELEMENTS,
    MAX_PROBLEMS,
    parse_policy,
)

_opened: list[str] = []
_watched: set[str] = set()


def _record_open(event: str, args: tuple[Any, ...]) -> None:
    if event == "open" and _watched and args and str(args[0]) in _watched:
        _opened.append(str(args[0]))


def test_external_entity_is_refused_without_reading_the_file(tmp_path: Path) -> None:
    marker = tmp_path / "secret.txt"
    marker.write_text("MARKER-7f3a9c")
    sys.addaudithook(_record_open)
    text = (
        f'<?xml version="1.0"?>\n<!DOCTYPE policies [ <!ENTITY xxe SYSTEM "file://{marker}"> ]>\n'
        '<policies><inbound><set-header name="x"><value>&xxe;</value></set-header>'
        "</inbound></policies>"
    )
    _watched.update({str(marker), f"file://{marker}"})
    try:
        with pytest.raises(PolicyParseError) as refused:
            parse_policy(text, source="global.xml")
    finally:
        _watched.clear()
    assert _opened == []
    message = str(refused.value)
    assert "MARKER" not in message
    assert message.startswith("global.xml: line 2, column 1: <!DOCTYPE> declarations are refused")


def test_undeclared_entity_reference_stays_as_written() -> None:
    document = parse_policy("<value>&xxe;&lol9;</value>")
    assert document.root.text == "&xxe;&lol9;"


@pytest.mark.parametrize(
    "text",
    [
        '<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;">]>'
        "<policies>&lol2;</policies>",
        '<policies>\n<!ENTITY x SYSTEM "http://example.invalid/x">\n</policies>',
        "<!doctype policies><policies />",
        '<policies><!ATTLIST inbound a CDATA "x"></policies>',
    ],
)
def test_document_type_declarations_are_refused(text: str) -> None:
    with pytest.raises(PolicyParseError, match="declarations are refused"):
        parse_policy(text)


def test_declaration_inside_a_comment_or_string_is_harmless() -> None:
    text = (
        "<!-- <!DOCTYPE x [<!ENTITY y 'z'>]> --><set-body>@{ return \"<!DOCTYPE x>\"; }</set-body>"
    )
    assert parse_policy(text).root.text == '@{ return "<!DOCTYPE x>"; }'


def test_deeply_nested_interpolation_is_not_a_crash() -> None:
    document = parse_policy('<value>@($"' + '{$"' * 5_000 + "</value>")
    assert document.root.text.startswith('@($"{$"')
    assert [p.message for p in document.problems] == [
        "expression is not closed; read as plain text"
    ]


def test_nesting_bound() -> None:
    def nested(depth: int) -> str:
        return "<when>" * depth + "</when>" * depth

    deepest = parse_policy(nested(MAX_DEPTH))
    assert sum(1 for _ in deepest.root.iter()) == MAX_DEPTH
    with pytest.raises(PolicyParseError, match=f"nested deeper than {MAX_DEPTH}"):
        parse_policy(nested(MAX_DEPTH + 1), source="deep.xml")


def test_size_bound() -> None:
    with pytest.raises(PolicyParseError, match=r"over the \d+ limit"):
        parse_policy("<policies>" + " " * MAX_CHARS + "</policies>")


def test_element_count_bound() -> None:
    with pytest.raises(PolicyParseError, match=f"more than {MAX_ELEMENTS} elements"):
        parse_policy("<policies>" + "<base/>" * MAX_ELEMENTS + "</policies>")


@pytest.mark.parametrize(
    "text", ["", "   \n", "just text", "<!-- only a comment -->", "< policies>"]
)
def test_text_without_an_element_is_refused(text: str) -> None:
    with pytest.raises(PolicyParseError, match="no policy element found"):
        parse_policy(text, source="empty.xml")


@pytest.mark.parametrize(
    "text",
    [
        "<value>" + " @(" * 400_000 + "</value>",
        "<policies>" + '<a x="@(' * 200_000,
        "<value>" + " %{" * 400_000 + "</value>",
    ],
    ids=["text-expressions", "attribute-expressions", "directives"],
)
def test_unclosed_spans_cost_bounded_work(text: str) -> None:
    """Unclosed spans are scanned a bounded distance, and only so many times, before the text
    is refused; a few are tolerated."""
    with pytest.raises(PolicyParseError, match=r"too many unclosed|syntax problems"):
        parse_policy(text)
    document = parse_policy(text[:20] + "</value>")
    assert document.problems


def test_too_many_problems_is_refused() -> None:
    parse_policy("<policies>" + "</x>" * MAX_PROBLEMS + "</policies>")
    with pytest.raises(PolicyParseError, match=f"more than {MAX_PROBLEMS} syntax problems"):
        parse_policy("<policies>" + "</x>" * (MAX_PROBLEMS + 1) + "</policies>")


def test_attribute_count_bound() -> None:
    attributes = " ".join(f'a{i}="x"' for i in range(MAX_ATTRIBUTES + 1))
    with pytest.raises(PolicyParseError, match=f"more than {MAX_ATTRIBUTES} attributes"):
        parse_policy(f"<set-header {attributes} />")
