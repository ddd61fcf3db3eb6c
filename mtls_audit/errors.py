"""The exceptions of mtls-audit.

Every error a user can cause derives from :class:`MtlsAuditError`; the command line turns them
into one clear message and exit code 2, never a traceback::

    MtlsAuditError
    ├── InputError            bad input: a file, a document, an option (exit 2)
    │   ├── SnapshotError     a snapshot that cannot be read or does not match the schema
    │   ├── TemplateError     an ARM template or resource export that cannot be used at all
    │   ├── PolicyParseError  a policy document refused by the parser (hostile or unreadable)
    │   └── OutputError       an output folder or file that cannot be written
    ├── RulePackError         a rule pack that cannot be loaded (a run-level error)
    ├── CollectionError       live collection could not start (credentials, endpoint)
    └── MissingDependencyError  a library an output or a source needs is not installed (exit 2)
"""

from __future__ import annotations

from pathlib import Path


class MtlsAuditError(Exception):
    """Base of every error mtls-audit reports to a user."""


class InputError(MtlsAuditError):
    """Bad input: the message names the file and, where known, the JSON path or line."""

    def __init__(self, message: str, *, source: str | None = None, where: str | None = None):
        self.source = source
        self.where = where
        parts = [p for p in (source, where) if p]
        prefix = ": ".join(parts)
        super().__init__(f"{prefix}: {message}" if prefix else message)


class SnapshotError(InputError):
    """A snapshot document that cannot be read or does not match its schema."""


class TemplateError(InputError):
    """An ARM template or resource export that cannot be used at all."""


class PolicyParseError(InputError):
    """A policy document refused by the parser."""


class OutputError(InputError):
    """An output folder that cannot be created or written in, or an output file that cannot be
    written (a usage error: the message names the folder or file)."""


class RulePackError(MtlsAuditError):
    """A rule pack that cannot be loaded."""


class CollectionError(MtlsAuditError):
    """Live collection could not start."""


class MissingDependencyError(MtlsAuditError):
    """A Python package or system library that an output or a source needs is not installed.

    ``written`` holds the files written anyway: a missing PDF renderer stops only the PDF.
    """

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.written: list[Path] = []
