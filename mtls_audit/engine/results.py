"""Statuses, severities and the results a rule yields."""

from __future__ import annotations

from dataclasses import dataclass

from mtls_audit.model.cite import Evidence
from mtls_audit.vocabulary import Severity, Status

__all__ = [
    "Result",
    "Severity",
    "Status",
    "failed",
    "indeterminate",
    "not_applicable",
    "passed",
]


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
