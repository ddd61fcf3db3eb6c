"""Failed and indeterminate results grouped by cause, and every one of them listed once.

Results that share a cause (:mod:`mtls_audit.evidence.causes`) are one issue, however many rules
and subjects it touches; the report counts issues once and lists them worst first. The appendix
lists every failed and indeterminate result, one line each, up to a bound large enough for real
estates; past it, the cut says how many more evidence.json holds.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from mtls_audit.evidence.causes import OPEN_STATUSES, result_cause
from mtls_audit.evidence.reader import (
    evidence_line,
    natural_key,
    resource_name,
    service_relative,
    severity_rank,
    status_rank,
)
from mtls_audit.report.tables import Bounded

ISSUE_LIMIT = 40
APPENDIX_LIMIT = 400


@dataclass(frozen=True)
class Issue:
    cause: str
    place: str  # where the cause sits: a policy line or a setting, or the resource
    severity: str  # the worst of its results
    rules: Sequence[str]
    subjects: int
    results: int


@dataclass(frozen=True)
class ExceptionRow:
    rule_id: str
    subject: str
    resource: str
    severity: str
    status: str
    cause: str
    path: str  # the product path of an API or operation result, when the rule keys by it


def issues(results: Sequence[Mapping[str, Any]], services: Sequence[str]) -> Bounded[Issue]:
    grouped: dict[str, list[Mapping[str, Any]]] = {}
    for result in results:
        if result["status"] in OPEN_STATUSES:
            grouped.setdefault(result_cause(result), []).append(result)
    found = [_issue(cause, members, services) for cause, members in grouped.items()]
    found.sort(key=lambda i: (severity_rank(i.severity), -i.results, i.cause))
    return Bounded(found[:ISSUE_LIMIT], max(0, len(found) - ISSUE_LIMIT))


def exception_rows(
    results: Sequence[Mapping[str, Any]], services: Sequence[str]
) -> Bounded[ExceptionRow]:
    """Every failed, then every indeterminate result, by rule and severity."""
    listed = sorted(
        (r for r in results if r["status"] in OPEN_STATUSES),
        key=lambda r: (
            status_rank(r["status"]),
            natural_key(r["rule_id"]),
            severity_rank(r["severity"]),
        ),
    )
    rows = [
        ExceptionRow(
            rule_id=r["rule_id"],
            subject=r.get("subject") or resource_name(r["resource_id"]),
            resource=service_relative(r["resource_id"], services),
            severity=r["severity"],
            status=r["status"],
            cause=result_cause(r),
            path=_path(str(r.get("key") or "")),
        )
        for r in listed[:APPENDIX_LIMIT]
    ]
    return Bounded(rows, max(0, len(listed) - APPENDIX_LIMIT))


def _path(key: str) -> str:
    """``no product`` or ``product internal-staff`` for a result keyed by its product path."""
    if key == "no-product":
        return "no product"
    return key.replace(":", " ", 1) if key.startswith("product:") else ""


def distinct_first(found: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """Results with each subject's first result first: the same API reached through another
    product, or the same cause again, comes after every distinct subject has been shown."""
    seen_subjects: set[tuple[str, str]] = set()
    seen_causes: set[str] = set()
    first: list[Mapping[str, Any]] = []
    later: list[Mapping[str, Any]] = []
    for result in found:
        subject = (str(result["resource_id"]).lower(), str(result.get("subject", "")))
        cause = result_cause(result)
        fresh = subject not in seen_subjects and cause not in seen_causes
        (first if fresh else later).append(result)
        seen_subjects.add(subject)
        seen_causes.add(cause)
    return first + later


def _issue(cause: str, members: Sequence[Mapping[str, Any]], services: Sequence[str]) -> Issue:
    head = members[0]
    evidence = head.get("evidence") or []
    if evidence:
        line = evidence_line(evidence[0])
        owner = service_relative(line.resource_id, services) or resource_name(line.resource_id)
        place = f"{owner} {line.place}".strip()
    else:
        place = service_relative(head["resource_id"], services)
    subjects = {(str(r["resource_id"]).lower(), str(r.get("subject", ""))) for r in members}
    return Issue(
        cause=cause,
        place=place,
        severity=min((r["severity"] for r in members), key=severity_rank),
        rules=sorted({r["rule_id"] for r in members}, key=natural_key),
        subjects=len(subjects),
        results=len(members),
    )
