"""Rule documentation as plain text or as Markdown.

Rule docs are hard-wrapped paragraphs with literals between double backticks (``Verify()``).
Plain-text outputs show the words alone, each paragraph on one line; Markdown outputs show the
literals as code spans and escape everything else, so no markup of the docs leaks into either.
"""

from __future__ import annotations

import re

from mtls_audit.evidence.reader import md_escape, visible
from mtls_audit.report.findings import prose

_BACKTICKS = re.compile("`+")


def plain_text(text: str) -> str:
    """Paragraphs separated by a blank line, without literal markers or hard wraps."""
    return "\n\n".join(visible("".join(run for run, _ in par)) for par in prose(text))


def markdown_text(text: str) -> str:
    """Paragraphs as Markdown: literals as code spans, every other character shown as written."""
    return "\n\n".join(
        "".join(code_span(run) if literal else md_escape(run) for run, literal in par)
        for par in prose(text)
    )


def code_span(text: str) -> str:
    """``text`` as one Markdown code span, whatever backticks it holds."""
    shown = visible(text)
    fence = "`" * (1 + max((len(run) for run in _BACKTICKS.findall(shown)), default=0))
    pad = " " if shown.startswith("`") or shown.endswith("`") else ""
    return f"{fence}{pad}{shown}{pad}{fence}"


def code_block(text: str) -> str:
    """``text`` as a fenced Markdown code block, the fence longer than any backtick run in it."""
    shown = visible(text.replace("\r\n", "\n"))
    fence = "`" * max(3, 1 + max((len(run) for run in _BACKTICKS.findall(shown)), default=0))
    return f"{fence}\n{shown}\n{fence}"


def clip_words(text: str, limit: int) -> str:
    """``text`` cut at the last word boundary that fits ``limit`` characters with an ellipsis."""
    if len(text) <= limit:
        return text
    head = text[: limit - 1]
    cut = len(head) if text[len(head)] == " " else head.rfind(" ")
    return (head[:cut] if cut > 0 else head).rstrip(" ,;:") + "…"
