"""What a parsed input document (JSON, YAML, TOML) may hold before the tool works on it.

Parsers accept two things nothing after them can use: a lone surrogate escape (``"\\udc80"`` in
JSON or YAML) becomes a string that no UTF-8 writer can encode, so the run would end when it
writes its first output; and nesting close to the parser's own limit exhausts the recursion of
everything that walks the document later (schema checks, redaction, the model). Both are found
here, with the JSON path of the first offender, so that the reader can refuse the input with a
clear message instead of crashing later.
"""

from __future__ import annotations

import re
from typing import Any

MAX_DEPTH = 128
"""Nesting levels an input may have; real ARM exports and templates stay far below."""
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")
_CONTAINERS = (dict, list)  # a tuple: ``isinstance`` checks it faster than ``dict | list``


def may_hold_surrogates(text: str) -> bool:
    """Whether JSON text has a surrogate escape at all (the walk can be skipped when not)."""
    return _SURROGATE_ESCAPE.search(text) is not None


def document_problem(document: Any, *, surrogates: bool = True) -> tuple[str, str] | None:
    """The first problem of a parsed document, as (message, JSON path), or None.

    Walks without recursion, so any depth the parser accepted can be measured.
    """
    if not surrogates and not _too_deep(document):
        return None  # the walk below, for the path of what is too deep
    if surrogates and isinstance(document, str) and _lone_surrogate(document):
        return _SURROGATE_MESSAGE, "/"
    stack: list[tuple[Any, int, tuple[str, ...]]] = [(document, 1, ())]
    while stack:
        value, depth, path = stack.pop()
        if not isinstance(value, dict | list):
            continue
        if depth > MAX_DEPTH:
            return f"nested deeper than {MAX_DEPTH} levels", _pointer(path)
        items = value.items() if isinstance(value, dict) else enumerate(value)
        for key, item in items:
            if isinstance(item, dict | list):
                stack.append((item, depth + 1, (*path, str(key))))
            elif surrogates and (_lone_surrogate(key) or _lone_surrogate(item)):
                return _SURROGATE_MESSAGE, _pointer((*path, str(key)))
    return None


def _too_deep(document: Any) -> bool:
    """Whether a container lies deeper than ``MAX_DEPTH``: the containers level by level,
    without a path for each (the common case, where nothing is, in half the time)."""
    level = [document] if isinstance(document, _CONTAINERS) else []
    depth = 1
    while level:
        if depth > MAX_DEPTH:
            return True
        below: list[Any] = []
        for value in level:
            items = value.values() if isinstance(value, dict) else value
            below += [item for item in items if isinstance(item, _CONTAINERS)]
        level = below
        depth += 1
    return False


_SURROGATE_MESSAGE = (
    "a string holds a lone surrogate escape (such as \\udc80), which is not a character"
)


def _lone_surrogate(text: object) -> bool:
    if not isinstance(text, str) or text.isascii():
        return False
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def _pointer(path: tuple[str, ...], limit: int = 120) -> str:
    """A JSON pointer (RFC 6901) for a message: surrogates escaped, cut at ``limit``."""
    text = "/" + "/".join(p.replace("~", "~0").replace("/", "~1") for p in path)
    text = text.encode("utf-8", "backslashreplace").decode("utf-8")
    return text if len(text) <= limit else text[: limit - 1] + "…"
