"""One point of a target's trend: what the history keeps of a run, and the evidence's ``trend``.

Kept apart from the history's database code, so that an assessment that only writes a trend
point never imports the database libraries.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from mtls_audit.vocabulary import SEVERITIES, STATUSES


def trend_point(evidence: Mapping[str, Any]) -> dict[str, Any]:
    """One point of the trend: a run's failing results by severity, results by status."""
    summary = evidence["summary"]
    return {
        "run_id": evidence["run"]["id"],
        "started_at": evidence["run"]["started_at"],
        "exit_code": summary["gate"]["exit_code"],
        "by_severity": {s: summary["by_severity"].get(s, 0) for s in SEVERITIES},
        "by_status": {s: summary["by_status"].get(s, 0) for s in STATUSES},
    }
