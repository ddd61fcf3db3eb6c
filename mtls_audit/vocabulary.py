"""The words every part of mtls-audit shares, defined once: severities, statuses, output
formats, Azure clouds and sign-in modes. Option choices, help texts, the schedule file's
checks and the evidence schema are read from (or tested against) these enums."""

from __future__ import annotations

import enum


class Status(enum.Enum):
    """The verdict of one result (``waived`` is set by the audit overlay, never by a rule)."""

    PASS = "pass"
    FAIL = "fail"
    INDETERMINATE = "indeterminate"
    NOT_APPLICABLE = "not_applicable"
    WAIVED = "waived"


class Severity(enum.Enum):
    """How bad a failure is; ``--fail-on`` gates at a severity and above. Worst first."""

    CRITICAL = "critical"
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"
    INFO = "info"

    @property
    def rank(self) -> int:
        """Higher is worse: critical 4 … info 0."""
        return len(_ORDER) - 1 - _ORDER.index(self)

    def at_least(self, threshold: Severity) -> bool:
        return self.rank >= threshold.rank


_ORDER = tuple(Severity)

NO_THRESHOLD = "none"
"""The ``--fail-on`` value that gates on nothing (only run-level errors change the exit code)."""


class OutputFormat(enum.StrEnum):
    """What an assessment writes: files, and ``text`` (the console summary)."""

    JSON = "json"
    TEXT = "text"
    PDF = "pdf"
    HTML = "html"
    SARIF = "sarif"
    JUNIT = "junit"
    MARKDOWN = "markdown"


class Cloud(enum.StrEnum):
    """The Azure clouds a live collection knows the endpoints of."""

    PUBLIC = "AzureCloud"
    US_GOVERNMENT = "AzureUSGovernment"
    CHINA = "AzureChinaCloud"


class AuthMode(enum.StrEnum):
    """How a live collection signs in to Azure."""

    DEFAULT = "default"
    CLI = "cli"
    MANAGED_IDENTITY = "managed-identity"
    WORKLOAD_IDENTITY = "workload-identity"
    ENVIRONMENT = "environment"


def values(kind: type[enum.Enum]) -> tuple[str, ...]:
    """The values of an enum, in declaration order (option choices, messages)."""
    return tuple(str(member.value) for member in kind)


SEVERITIES = values(Severity)
FAIL_ON_CHOICES = (*SEVERITIES, NO_THRESHOLD)
STATUSES = values(Status)
FORMATS = values(OutputFormat)
FILE_FORMATS = tuple(f for f in FORMATS if f != OutputFormat.TEXT)
CLOUDS = values(Cloud)
AUTH_MODES = values(AuthMode)
