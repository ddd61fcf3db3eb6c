"""Counted nouns, cuts at token boundaries and plain text: the words every output shares."""

from __future__ import annotations

import pytest

from mtls_audit.wording import clip, noun, noun_plural, plain, plural


@pytest.mark.parametrize(
    ("count", "noun", "expected"),
    [
        (1, "day", "1 day"),
        (0, "day", "0 days"),
        (19, "day", "19 days"),
        (1, "API", "1 API"),
        (3, "API", "3 APIs"),
        (2, "policy", "2 policies"),
        (2, "CA certificate", "2 CA certificates"),
    ],
)
def test_plural_counts_nouns(count: int, noun: str, expected: str) -> None:
    assert plural(count, noun) == expected


def test_noun_alone_agrees_with_its_count() -> None:
    assert [noun(n, "line") for n in (0, 1, 2)] == ["lines", "line", "lines"]
    assert noun(3, "policy") == "policies"
    assert noun(2, "person", "people") == "people"


def test_plural_takes_an_explicit_plural_for_phrases() -> None:
    assert plural(2, "subject of this rule", "subjects of this rule") == ("2 subjects of this rule")
    assert noun_plural("gateway hostname") == "gateway hostnames"
    assert noun_plural("key") == "keys"


EXPRESSION = (
    '<when condition="@(context.Request.Certificate == null || '
    '!context.Request.Certificate.VerifyNoRevocation() && context.Request.Url.Path != "/x")">'
)


def test_clip_keeps_short_text_whole() -> None:
    assert clip(EXPRESSION, len(EXPRESSION)) == EXPRESSION


@pytest.mark.parametrize("limit", range(40, len(EXPRESSION)))
def test_clip_cuts_between_tokens_with_one_ellipsis(limit: int) -> None:
    cut = clip(EXPRESSION, limit)
    assert len(cut) <= limit
    assert cut.endswith("…")
    assert cut.count("…") == 1
    kept = cut.removesuffix("…").rstrip()
    assert EXPRESSION.startswith(kept)
    assert len(kept) >= limit // 2
    # No identifier, keyword or number is split: the cut falls where a word ends.
    following = EXPRESSION[len(kept)]
    assert not (kept[-1].isalnum() and following.isalnum()), (kept, following)
    assert not kept.endswith("."), kept


def test_clip_prefers_a_space_when_it_keeps_most_of_the_text() -> None:
    assert clip(EXPRESSION, 70) == ('<when condition="@(context.Request.Certificate == null || …')


def test_clip_without_spaces_cuts_at_a_word_boundary() -> None:
    text = "context.Request.Certificate.VerifyNoRevocation().ToString().Length"
    assert clip(text, 40) == "context.Request.Certificate…"
    assert clip("x" * 30, 10) == "xxxxxxxxx…"  # one token longer than the limit


def test_plain_removes_inline_markup() -> None:
    assert plain("run `mtls-audit probe` now") == "run “mtls-audit probe” now"
    assert plain("``Verify()`` and ``validate-trust``") == "“Verify()” and “validate-trust”"
    assert plain("see :ref:`rules` and :py:func:`~a.b`") == "see rules and a.b"
    assert plain("**not** __this__") == "not this"
    assert plain("a * b ** c") == "a * b ** c"  # no pair, no emphasis
