"""`--baseline`: only new failing results gate; SARIF says which results are new."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest

from mtls_audit.evidence.schema import validate_evidence
from mtls_audit.wording import plural
from tests.audit.conftest import exit_of, write_sample
from tests.cli.test_cli import run_cli
from tests.conftest import sarif_validator


@pytest.fixture(scope="module")
def baseline(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("baseline")
    assert exit_of(["scan", "--sample", "--format", "json", "--out", str(folder)]) == 1
    return folder / "evidence.json"


def load(path: Path) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(path.read_text("utf-8"))
    return document


def test_pre_existing_criticals_do_not_fail(
    baseline: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    snap = write_sample(tmp_path / "snapshot.json")
    out = tmp_path / "o"
    args = ["assess", str(snap), "--baseline", str(baseline), "--out", str(out)]
    code, stdout, _ = run_cli(args, capsys)
    assert code == 0
    evidence = load(out / "evidence.json")
    assert validate_evidence(evidence) == []
    criticals = evidence["summary"]["by_severity"]["critical"]
    assert criticals >= 1  # still failing, still counted: only the gate ignores them
    section = evidence["baseline"]
    assert section["sha256"] == hashlib.sha256(baseline.read_bytes()).hexdigest()
    assert section["run_id"] == load(baseline)["run"]["id"]
    assert (section["new"], section["updated"], section["absent"]) == (0, 0, [])
    assert section["accepted"] == criticals
    assert {r.get("baseline_state") for r in evidence["results"] if r["status"] == "fail"} == {
        "unchanged"
    }
    verb = "does" if criticals == 1 else "do"
    assert f"{plural(criticals, 'known failure')} {verb} not gate." in " ".join(stdout.split())


def test_a_new_critical_fails_and_sarif_says_it_is_new(
    baseline: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    snap = write_sample(tmp_path / "snapshot.json", fix=True, regress=True)
    out = tmp_path / "o"
    args = ["assess", str(snap), "--baseline", str(baseline), "--out", str(out)]
    code, _, _ = run_cli([*args, "--format", "json,sarif"], capsys)
    assert code == 1
    evidence = load(out / "evidence.json")
    assert evidence["summary"]["gate"]["failing"] == 1
    new = [r for r in evidence["results"] if r.get("baseline_state") == "new"]
    assert [(r["rule_id"], r["resource_id"].rsplit("/", 1)[-1]) for r in new] == [
        ("MTLS-OUT-01", "ehr-fhir-backend")
    ]
    (gone,) = evidence["baseline"]["absent"]
    assert (gone["rule_id"], gone["status_now"]) == ("MTLS-GW-03", "pass")

    sarif = load(out / "results.sarif")
    assert [e.message for e in sarif_validator().iter_errors(sarif)] == []
    run = sarif["runs"][0]
    assert run["baselineGuid"] == load(baseline)["run"]["id"]
    states = {r["partialFingerprints"]["mtlsAudit/v1"]: r["baselineState"] for r in run["results"]}
    assert len(states) == len(run["results"])  # present on every result
    assert states[new[0]["fingerprint"]] == "new"
    assert set(states.values()) == {"new", "unchanged"}


def test_severity_rising_across_the_threshold_gates(
    baseline: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    lowered = load(baseline)
    critical = next(
        r for r in lowered["results"] if r["status"] == "fail" and r["severity"] == "critical"
    )
    critical["severity"] = "high"
    edited = tmp_path / "baseline.json"
    edited.write_text(json.dumps(lowered), encoding="utf-8")
    snap = write_sample(tmp_path / "snapshot.json")
    out = tmp_path / "o"
    args = ["assess", str(snap), "--baseline", str(edited), "--out", str(out)]
    code, _, _ = run_cli(args, capsys)
    assert code == 1
    evidence = load(out / "evidence.json")
    assert evidence["summary"]["gate"]["failing"] == 1
    updated = [r for r in evidence["results"] if r.get("baseline_state") == "updated"]
    assert [r["fingerprint"] for r in updated] == [critical["fingerprint"]]


def test_a_baseline_that_is_not_evidence_is_an_input_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    snap = write_sample(tmp_path / "snapshot.json")
    code, _, err = run_cli(["assess", str(snap), "--baseline", str(snap)], capsys)
    assert code == 2
    assert f"{snap}: not an evidence document" in err
