"""The cause of a failed or indeterminate result: one id for every result, of any rule, that
comes from the same place.

A result's first evidence item is where its rule found the problem. Two results share a cause
when that item names the same policy document and line, or the same resource and JSON pointer
(one setting), whatever rule produced them: a ``/health`` bypass on one policy line is one issue,
however many rules and operation paths it fails. A result without evidence is its own rule's
issue on its resource. The id is a digest of that place, so it is stable across runs and the
same in every output (evidence.json, the reports, SARIF).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from typing import Any

OPEN_STATUSES = ("fail", "indeterminate")
PREFIX = "C-"


def cause_key(result: Mapping[str, Any]) -> tuple[str, ...]:
    """The place a result's problem sits, as comparable parts."""
    evidence = result.get("evidence") or []
    first = evidence[0] if evidence and isinstance(evidence[0], Mapping) else None
    if first is not None:
        owner = str(first.get("resource_id", "")).lower()
        if first.get("line") is not None:
            return ("policy", owner, str(first["line"]))
        if first.get("pointer") is not None:
            return ("setting", owner, str(first["pointer"]))
    return ("result", str(result.get("rule_id", "")), str(result.get("resource_id", "")).lower())


def cause_id(result: Mapping[str, Any]) -> str:
    """``C-`` and eight hex digits naming the result's cause."""
    return key_id(cause_key(result))


def key_id(key: tuple[str, ...]) -> str:
    """The cause id of a :func:`cause_key`."""
    digest = hashlib.sha256("\n".join(key).encode("utf-8")).hexdigest()
    return PREFIX + digest[:8]


def result_cause(result: Mapping[str, Any]) -> str:
    """The result's recorded cause, or the one computed from it (older evidence has none)."""
    recorded = result.get("cause")
    return recorded if isinstance(recorded, str) and recorded else cause_id(result)


def distinct(results: Iterable[Mapping[str, Any]]) -> tuple[int, int]:
    """How many distinct causes and distinct subjects (resource and name) the results have."""
    causes: set[str] = set()
    subjects: set[tuple[str, str]] = set()
    for result in results:
        causes.add(result_cause(result))
        subjects.add((str(result.get("resource_id", "")).lower(), str(result.get("subject", ""))))
    return len(causes), len(subjects)
