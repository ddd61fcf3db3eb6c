"""sample_reports/ is what ``scripts/sample-reports.sh`` makes from the bundled sample."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mtls_audit.cli import main

ROOT = Path(__file__).resolve().parents[2]
SAMPLE_REPORTS = ROOT / "sample_reports"
EPOCH = "1795165200"  # the value scripts/sample-reports.sh sets


def test_regenerating_gives_the_committed_evidence(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """When this fails, run scripts/sample-reports.sh and commit sample_reports/."""
    monkeypatch.setenv("SOURCE_DATE_EPOCH", EPOCH)
    with pytest.raises(SystemExit):
        main(["scan", "--sample", "--format", "json", "--out", str(tmp_path)])
    capsys.readouterr()
    fresh = (tmp_path / "evidence.json").read_bytes()
    committed = (SAMPLE_REPORTS / "evidence.json").read_bytes()
    assert json.loads(fresh) == json.loads(committed)
    assert fresh == committed


def test_every_format_is_there() -> None:
    names = {p.name for p in SAMPLE_REPORTS.iterdir()}
    assert {
        "evidence.json",
        "snapshot.json",
        "report.pdf",
        "report.html",
        "results.sarif",
        "junit.xml",
        "summary.md",
    } <= names
