"""Statuses, severities and the results a rule yields."""

from __future__ import annotations

import enum
from dataclasses import dataclass

from mtls_audit.model.cite import Evidence


class Status(enum.Enum):
    """The verdict of one result (``waived`` is set by the audit overlay, never by a rule)."""

    PASS = "pass"
    FAIL = "fail"
    INDETERMINATE = "indeterminate"
    NOT_APPLICABLE = "not_applicable"
    WAIVED = "waived"


class Severity(enum.Enum):
    """How bad a failure is; ``--fail-on`` gates at a severity and above."""

    CRITICAL = "critical"
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"
    INFO = "info"

    @property
    def rank(self) -> int:
        """Higher is worse: critical 4 … info 0."""
        return _RANK[self]

    def at_least(self, threshold: Severity) -> bool:
        return self.rank >= threshold.rank


_RANK = {
    Severity.CRITICAL: 4,
    Severity.HIGH: 3,
    Severity.MEDIUM: 2,
    Severity.LOW: 1,
    Severity.INFO: 0,
}


@dataclass(frozen=True, slots=True)
class Result:
    """One judgement of one subject by one rule.

    ``subject`` is the ARM id (or Key Vault URL) of what is judged; ``key`` tells apart several
    results about one subject (a hostname, a certificate); ``severity`` overrides the rule's
    default for this subject (an expired certificate is worse than one about to expire).
    """

    status: Status
    subject: str
    message: str
    evidence: tuple[Evidence, ...] = ()
    severity: Severity | None = None
    key: str = ""
    subject_name: str | None = None


def passed(
    subject: str, message: str, *evidence: Evidence, key: str = "", name: str | None = None
) -> Result:
    """The subject meets the rule; the message says what was observed."""
    return Result(Status.PASS, subject, message, evidence, None, key, name)


def failed(
    subject: str,
    message: str,
    *evidence: Evidence,
    key: str = "",
    severity: Severity | None = None,
    name: str | None = None,
) -> Result:
    """The subject breaks the rule; ``severity`` overrides the rule's for this subject."""
    return Result(Status.FAIL, subject, message, evidence, severity, key, name)


def indeterminate(
    subject: str, message: str, *evidence: Evidence, key: str = "", name: str | None = None
) -> Result:
    """The rule cannot decide (missing or unreadable evidence): never a pass."""
    return Result(Status.INDETERMINATE, subject, message, evidence, None, key, name)


def not_applicable(
    subject: str, message: str, *evidence: Evidence, key: str = "", name: str | None = None
) -> Result:
    """The rule does not apply to the subject (the message says why)."""
    return Result(Status.NOT_APPLICABLE, subject, message, evidence, None, key, name)
