"""The headline every report opens with: what the assessment found, whatever gate a CI job set.

``102 exceptions in 30 of 45 tests — 50 distinct issues affecting 39 subjects — evidence
complete``. A test is a rule that had something to judge (a result other than not applicable);
an exception is a failed result, waived or not. The gate (``--fail-on``) is reported on its own
line by :func:`mtls_audit.evidence.reader.verdict`; nothing here reads it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from mtls_audit.evidence.causes import distinct
from mtls_audit.wording import plural

Evidence = Mapping[str, Any]
EXCEPTION_STATUSES = ("fail", "waived")


def headline(evidence: Evidence) -> str:
    results = evidence["results"]
    tested = {r["rule_id"] for r in results if r["status"] != "not_applicable"}
    excepted = [r for r in results if r["status"] in EXCEPTION_STATUSES]
    failing_tests = {r["rule_id"] for r in excepted}
    parts = [
        f"{plural(len(excepted), 'exception')} in {len(failing_tests)} of "
        f"{plural(len(tested), 'test')}"
    ]
    if excepted:
        issues, subjects = distinct(excepted)
        parts.append(f"{plural(issues, 'distinct issue')} affecting {plural(subjects, 'subject')}")
    unknown = sum(1 for r in results if r["status"] == "indeterminate")
    if unknown:
        parts.append(f"{plural(unknown, 'result')} not determined")
    parts.append(completeness(evidence))
    return " — ".join(parts)


def completeness(evidence: Evidence) -> str:
    """``evidence complete``, or ``evidence incomplete: 2 gaps, 1 run-level error``."""
    gaps, errors = len(evidence.get("gaps", [])), len(evidence.get("errors", []))
    missing = [
        plural(gaps, "gap") if gaps else "",
        plural(errors, "run-level error") if errors else "",
    ]
    named = ", ".join(m for m in missing if m)
    return f"evidence incomplete: {named}" if named else "evidence complete"
