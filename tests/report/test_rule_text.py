"""Rule docs rendered without their markup: plain text and Markdown."""

from __future__ import annotations

from mtls_audit.report.rule_text import clip_words, code_block, code_span, plain_text


def test_plain_text_drops_literal_markers_and_hard_wraps() -> None:
    doc = "Uses ``Verify()``\n    or ``validate-client-certificate``.\n\n    Second."
    assert plain_text(doc) == "Uses Verify() or validate-client-certificate.\n\nSecond."


def test_code_spans_and_blocks_hold_any_backticks() -> None:
    assert code_span("a`b") == "``a`b``"
    assert code_span("`x") == "`` `x ``"
    assert code_block("echo ```") == "````\necho ```\n````"


def test_clip_words_cuts_at_a_word_boundary() -> None:
    assert clip_words("alpha beta gamma", 100) == "alpha beta gamma"
    assert clip_words("alpha beta, gamma", 12) == "alpha beta…"
    assert len(clip_words("word " * 300, 1024)) <= 1024
