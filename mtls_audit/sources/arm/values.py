"""Values of ARM template expressions: argument checks, ARM's text form and JSON equality."""

from __future__ import annotations

import json
from typing import Any

from mtls_audit.sources.arm.expression import EvaluationError, kind_of

MAX_TEXT = 16 * 1024 * 1024
"""Largest string an expression may build (guards against doubling variables)."""


def str_arg(value: Any, function: str) -> str:
    if not isinstance(value, str):
        raise EvaluationError(f"{function}() expects a string, got {kind_of(value)}")
    return value


def int_arg(value: Any, function: str) -> int:
    if type(value) is not int:
        raise EvaluationError(f"{function}() expects an integer, got {kind_of(value)}")
    return value


def limit(text: str) -> str:
    if len(text) > MAX_TEXT:
        raise EvaluationError(f"the expression builds a string over {MAX_TEXT} characters")
    return text


def text(value: Any) -> str:
    """``string()``: text as ARM renders it (.NET booleans, compact JSON for containers)."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "True" if value else "False"
    if value is None:
        return ""
    if isinstance(value, int | float):
        return str(value)
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def same(a: Any, b: Any) -> bool:
    """JSON equality where ``1`` and ``true`` differ."""
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list | dict | str) or isinstance(b, list | dict | str):
        return type(a) is type(b) and a == b
    return bool(a == b)
