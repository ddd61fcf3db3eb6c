"""Words as people read them: counted nouns, shortened text and inline markup made plain.

Every report, rule message and chart caption counts with :func:`plural` ("1 day", "2 days",
never "day(s)"), cuts with :func:`clip` (at a token boundary, with a clean ellipsis) and prints
rule text and messages through :func:`plain` (no backticks, reST roles or Markdown emphasis).
"""

from __future__ import annotations

import re

ELLIPSIS = "…"
# Nouns whose plural is not the singular plus "s".
_IRREGULAR = {"API": "APIs", "policy": "policies", "entity": "entities", "property": "properties"}
# A cut that leaves at least this share of the limit may go back to a space; past it, to the
# nearest boundary between a word and punctuation.
_SPACE_SHARE = 0.6
_ROLE = re.compile(r":[a-z]+(?::[a-z]+)?:`~?([^`]+)`")
_LITERAL = re.compile(r"``(.+?)``|`([^`\n]+)`")
_EMPHASIS = re.compile(r"(\*\*|__)(.+?)\1")
_WORD = re.compile(r"\w")


def plural(count: int, singular: str, plural_form: str | None = None) -> str:
    """``count`` and its noun, singular for exactly one: "1 day", "2 days", "0 APIs"."""
    return f"{count} {noun(count, singular, plural_form)}"


def noun(count: int, singular: str, plural_form: str | None = None) -> str:
    """The noun alone, agreeing with ``count``: "line" for one, "lines" for any other."""
    return singular if count == 1 else plural_form or noun_plural(singular)


def noun_plural(singular: str) -> str:
    """The plural of a noun or of a noun phrase's last word: "CA certificates", "policies"."""
    head, _, word = singular.rpartition(" ")
    if word in _IRREGULAR:
        many = _IRREGULAR[word]
    elif word.endswith("y") and word[-2:-1] not in "aeiou":
        many = word[:-1] + "ies"
    elif word.endswith(("s", "x", "ch", "sh")):
        many = word + "es"
    else:
        many = word + "s"
    return f"{head} {many}" if head else many


def clip(text: str, limit: int) -> str:
    """``text`` at most ``limit`` characters long, cut between tokens with an ellipsis.

    The cut goes back to the last space when that keeps most of the text ("a && …"), else to
    the end of the last whole word ("context.Request…"), so that no identifier, number or
    keyword is split; only a word longer than the limit is cut inside.
    """
    if len(text) <= limit:
        return text
    space = text.rfind(" ", 0, limit - 1)
    if space >= (limit - 2) * _SPACE_SHARE:
        return text[:space].rstrip() + " " + ELLIPSIS
    return text[: _boundary_cut(text, limit - 1)] + ELLIPSIS


def _boundary_cut(text: str, room: int) -> int:
    """The last place at most ``room`` in where a word ends ("Certificate|.Verify")."""
    for cut in range(room, 0, -1):
        if _WORD.match(text[cut - 1]) and not _WORD.match(text[cut]):
            return cut
    return room


def plain(text: str) -> str:
    """Text with inline markup made plain: literals (```x```, ````x````, ``:role:`x```) in
    quotation marks, Markdown emphasis without its asterisks."""
    text = _ROLE.sub(lambda m: m.group(1), text)
    text = _LITERAL.sub(lambda m: f"“{m.group(1) or m.group(2)}”", text)
    return _EMPHASIS.sub(lambda m: m.group(2), text)
