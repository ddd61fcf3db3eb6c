"""The offline-files source: ARM exports, deployment templates, Bicep, Terraform plans and
APIOps folders, as the files name them (``--from-file``), read into one snapshot."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from mtls_audit import __version__, snapshot


@dataclass(frozen=True)
class FilesSource:
    """Offline files; ``subscription`` and ``resource_group`` name the place of resources
    whose files do not say it (a template deployed nowhere yet)."""

    paths: Sequence[Path]
    parameter_files: Sequence[Path] = ()
    subscription: str | None = None
    resource_group: str | None = None
    kind: str = "files"

    def load(self) -> dict[str, Any]:
        from mtls_audit.sources.arm.files import load_files

        started = _iso(datetime.now(UTC))
        place = {
            k: v
            for k, v in (
                ("subscription", self.subscription),
                ("resource_group", self.resource_group),
            )
            if v
        }
        loaded = load_files(list(self.paths), parameter_files=list(self.parameter_files), **place)
        provenance = {
            "source": self.kind,
            "tool": {"name": "mtls-audit", "version": __version__},
            "collected_at": started,
            "finished_at": _iso(datetime.now(UTC)),
            "inputs": loaded.inputs,
        }
        return snapshot.build(
            provenance=provenance,
            resources=loaded.resources,
            gaps=loaded.gaps,
            origins=loaded.origins,
        )


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")
