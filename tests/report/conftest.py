"""Shared fixtures: PDFs are slow to render, so each evidence document is rendered once."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from .evidence_factory import hostile_evidence, realistic_evidence, to_bytes


@pytest.fixture
def realistic() -> dict[str, Any]:
    return realistic_evidence()


@pytest.fixture
def hostile() -> dict[str, Any]:
    return hostile_evidence()


def _render(folder: Path, evidence: dict[str, Any]) -> tuple[Path, bytes]:
    from mtls_audit.report.pdf import write_pdf

    data = to_bytes(evidence)
    out = folder / "report.pdf"
    write_pdf(evidence, data, out)
    return out, data


@pytest.fixture(scope="session")
def realistic_pdf(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, bytes]:
    return _render(tmp_path_factory.mktemp("realistic"), realistic_evidence())


@pytest.fixture(scope="session")
def hostile_pdf(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, bytes]:
    return _render(tmp_path_factory.mktemp("hostile"), hostile_evidence())
