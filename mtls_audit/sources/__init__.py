"""Producers of snapshots: offline files (ARM, Terraform, APIOps), live Azure, the sample.

Each is a :class:`Source`: ``load()`` returns a snapshot document, its provenance included
(what produced it, when, from which files or calls), with secrets already redacted.
"""

from __future__ import annotations

from typing import Any, Protocol


class Source(Protocol):
    """Where a run's snapshot comes from."""

    @property
    def kind(self) -> str:
        """``files``, ``azure`` or ``sample``: the provenance's ``source``."""
        ...

    def load(self) -> dict[str, Any]:
        """The snapshot document (schema ``mtls-audit/snapshot/v1``) with its provenance."""
        ...
