"""`mtls-audit diff`: two runs of the sample, one fix and one regression between them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from mtls_audit.audit.diff import compare
from tests.audit.conftest import PARTNERS, exit_of, write_sample
from tests.cli.test_cli import run_cli


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """Evidence of the sample as bundled, and of the sample with one fix and one regression."""
    folder = tmp_path_factory.mktemp("diff")
    assert exit_of(["scan", "--sample", "--format", "json", "--out", str(folder / "old")]) == 1
    changed = write_sample(folder / "changed.json", fix=True, regress=True)
    exit_of(["assess", str(changed), "--format", "json", "--out", str(folder / "new")])
    return folder / "old" / "evidence.json", folder / "new" / "evidence.json"


def diff(
    runs: tuple[Path, Path], capsys: pytest.CaptureFixture[str], *extra: str
) -> tuple[int, str, str]:
    return run_cli(["diff", str(runs[0]), str(runs[1]), *extra], capsys)


def test_json_names_the_fix_and_the_regression(
    runs: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = diff(runs, capsys, "--format", "json")
    assert code == 0
    document = json.loads(out)
    assert document["schema"] == "mtls-audit/diff/v1"
    assert document["counts"]["new"] == 1
    assert document["counts"]["fixed"] == 1
    assert document["counts"]["changed"] == 0
    old = json.loads(runs[0].read_text())
    assert (
        document["counts"]["unchanged"]
        == sum(1 for r in old["results"] if r["status"] in ("fail", "indeterminate", "waived")) - 1
    )
    (new,) = document["results"]["new"]
    assert (new["rule_id"], new["resource_id"].rsplit("/", 1)[-1]) == (
        "MTLS-OUT-01",
        "ehr-fhir-backend",
    )
    assert new["old"]["status"] == "pass"
    assert new["new"]["severity"] == "critical"
    (fixed,) = document["results"]["fixed"]
    assert fixed["rule_id"] == "MTLS-GW-03"
    assert (fixed["old"]["status"], fixed["new"]["status"]) == ("fail", "pass")
    assert PARTNERS in fixed["old"]["message"]
    assert document["old"]["sha256"] != document["new"]["sha256"]
    assert document["same_scope"] is True


def test_text_and_markdown(runs: tuple[Path, Path], capsys: pytest.CaptureFixture[str]) -> None:
    code, text, _ = diff(runs, capsys)
    assert code == 0
    assert "New: 1  Fixed: 1  Changed: 0" in text
    assert "+ critical MTLS-OUT-01  fail" in text
    assert "- high     MTLS-GW-03   fail → pass" in text
    assert "apim-contoso-health/backends/ehr-fhir-backend" in text
    code, markdown, _ = diff(runs, capsys, "--format", "markdown")
    assert code == 0
    assert "### New (1)" in markdown
    assert "### Fixed (1)" in markdown
    assert "| critical | MTLS-OUT-01 | fail | Backend ehr-fhir-backend |" in markdown
    assert "| high | MTLS-GW-03 | fail → pass |" in markdown


def test_a_severity_change_is_changed(runs: tuple[Path, Path], tmp_path: Path) -> None:
    old = json.loads(runs[0].read_text())
    new: dict[str, Any] = json.loads(json.dumps(old))
    target = next(r for r in new["results"] if r["status"] == "fail" and r["severity"] == "high")
    target["severity"] = "critical"
    comparison = compare(old["results"], new["results"])
    (changed,) = comparison.of("changed")
    assert changed.fingerprint == target["fingerprint"]
    assert comparison.counts()["new"] == comparison.counts()["fixed"] == 0


def test_diff_refuses_what_is_not_evidence(
    runs: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    snapshot = write_sample(tmp_path / "snapshot.json")
    code, _, err = run_cli(["diff", str(runs[0]), str(snapshot)], capsys)
    assert code == 2
    assert f"{snapshot}: not an evidence document" in err
    broken = tmp_path / "broken.json"
    broken.write_text('{"schema": "mtls-audit/evidence/v1"}')
    code, _, err = run_cli(["diff", str(broken), str(runs[1])], capsys)
    assert code == 2
    assert str(broken) in err
