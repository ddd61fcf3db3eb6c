"""The bundled sample (``--sample``): a healthcare estate's snapshot, read as it is shipped."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from mtls_audit import snapshot
from mtls_audit.resources import package_data

SAMPLE = ("samples", "healthcare.json")


@dataclass(frozen=True)
class SampleSource:
    """The bundled sample snapshot."""

    kind: str = "sample"

    def load(self) -> dict[str, Any]:
        return read_sample().document


def read_sample() -> snapshot.LoadedSnapshot:
    """The sample with the hash of its bytes."""
    return snapshot.read(package_data(*SAMPLE))
