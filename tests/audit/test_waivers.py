"""Waivers: a waived result stops gating and every output shows it; expired and unmatched
waivers are reported; a malformed waivers file is an input error naming entry and field."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from pypdf import PdfReader

from mtls_audit.audit.waivers import apply_waivers, load_waivers
from mtls_audit.engine.results import Status, indeterminate
from mtls_audit.engine.runner import Finding, fingerprint
from mtls_audit.evidence.schema import validate_evidence
from mtls_audit.wording import plural
from mtls_audit.workflow import AssessOptions, load_rules
from tests.audit.conftest import WAIVERS_YAML, SignedRun, exit_of, write_sample
from tests.cli.test_cli import run_cli

LAB_RESULTS = ("apis/lab-results", "backends/lab-results-backend")
EVERY_OUT01 = """\
waivers:
  - rule: MTLS-OUT-01
    subjects: "*"
    justification: Every backend sits on an isolated network.
    approver: Jane Roe (CISO)
    approved_on: 2020-11-01
    expires_on: 2099-03-31
"""


def evidence_of(folder: Path) -> dict[str, Any]:
    document: dict[str, Any] = json.loads((folder / "evidence.json").read_text("utf-8"))
    return document


def waivers_file(tmp_path: Path, text: str = WAIVERS_YAML, name: str = "waivers.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_a_waived_finding_is_waived_in_every_output(signed_run: SignedRun) -> None:
    evidence = evidence_of(signed_run.folder)
    assert validate_evidence(evidence) == []
    waived = [r for r in evidence["results"] if r["status"] == "waived"]
    assert sorted(r["resource_id"].split("apim-contoso-health/")[1] for r in waived) == sorted(
        LAB_RESULTS
    )
    assert all(r["rule_id"] == "MTLS-OUT-01" for r in waived)
    waiver = waived[0]["waiver"]
    assert waiver["approver"] == "Jane Roe (CISO)"
    assert (waiver["state"], waiver["expires_on"], waiver["ticket"]) == (
        "in_force",
        "2099-03-31",
        "CHG-1042",
    )
    assert evidence["summary"]["by_status"]["waived"] == 2
    assert evidence["run"]["options"]["waivers"]["file"] == "waivers.yaml"

    sarif = json.loads((signed_run.folder / "results.sarif").read_text("utf-8"))
    results = sarif["runs"][0]["results"]
    assert all("suppressions" in r for r in results)  # all or none, as SARIF requires
    suppressed = [r for r in results if r["suppressions"]]
    assert len(suppressed) == 2
    justification = suppressed[0]["suppressions"][0]["justification"]
    assert "isolated network" in justification
    assert "Jane Roe (CISO)" in justification
    assert "2099-03-31" in justification

    cases = ET.parse(signed_run.folder / "junit.xml").getroot().iter("testcase")
    skipped = [c.find("skipped") for c in cases if c.get("classname") == "MTLS-OUT-01"]
    messages = [s.get("message", "") for s in skipped if s is not None]
    assert len(messages) == 2
    assert all(m.startswith("waived: The lab interface") and "CHG-1042" in m for m in messages)

    text = " ".join(
        (page.extract_text() or "") for page in PdfReader(signed_run.folder / "report.pdf").pages
    )
    flat = " ".join(text.split())
    assert "Risk acceptances and management responses" in flat
    assert "isolated network until the LIS upgrade" in flat
    assert "Jane Roe (CISO)" in flat
    assert "2099-03-31" in flat
    assert "expired" in flat  # the expired waiver is listed with its state


def test_a_waived_finding_no_longer_gates(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    snap = write_sample(tmp_path / "snapshot.json")
    base = ["assess", str(snap), "--select", "MTLS-OUT-01", "--format", "json,text"]
    assert exit_of([*base, "--out", str(tmp_path / "plain")]) == 1
    failing = evidence_of(tmp_path / "plain")["summary"]["gate"]["failing"]
    waivers = waivers_file(tmp_path)
    code, out, _ = run_cli([*base, "--out", str(tmp_path / "w"), "--waivers", str(waivers)], capsys)
    assert evidence_of(tmp_path / "w")["summary"]["gate"]["failing"] == failing - 2
    assert "2 results waived" in " ".join(out.split())
    every = waivers_file(tmp_path, EVERY_OUT01, "every.yaml")
    code, out, _ = run_cli([*base, "--out", str(tmp_path / "e"), "--waivers", str(every)], capsys)
    assert code == 0
    assert evidence_of(tmp_path / "e")["summary"]["gate"]["failing"] == 0
    assert f"{plural(failing, 'result')} waived" in " ".join(out.split())


def test_an_expired_waiver_fails_again_and_says_so(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    snap = write_sample(tmp_path / "snapshot.json")
    out_dir = tmp_path / "o"
    args = ["assess", str(snap), "--select", "MTLS-GW-03", "--fail-on", "high"]
    args += ["--waivers", str(waivers_file(tmp_path)), "--out", str(out_dir)]
    code, out, _ = run_cli(args, capsys)
    assert code == 1
    evidence = evidence_of(out_dir)
    failing = [r for r in evidence["results"] if r["status"] == "fail"]
    assert len(failing) == 1
    assert failing[0]["waiver"]["state"] == "expired"
    assert "waivers[1] (approved by John Doe) expired on 2021-06-30" in failing[0]["message"]
    assert "Waiver waivers[1] (MTLS-GW-03) expired on 2021-06-30." in " ".join(out.split())
    record = evidence["waivers"][1]
    assert (record["state"], record["matched"]) == ("expired", 1)


def test_a_waiver_matching_nothing_is_reported(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    snap = write_sample(tmp_path / "snapshot.json")
    args = ["assess", str(snap), "--waivers", str(waivers_file(tmp_path)), "--fail-on", "none"]
    code, out, _ = run_cli([*args, "--out", str(tmp_path / "o"), "--format", "json,text"], capsys)
    assert code == 0
    records = evidence_of(tmp_path / "o")["waivers"]
    assert [(r["rule_id"], r["matched"]) for r in records] == [
        ("MTLS-OUT-01", 2),
        ("MTLS-GW-03", 1),
        ("MTLS-TLS-01", 0),
    ]
    assert "Waiver waivers[2] (MTLS-TLS-01) matched no failing result." in " ".join(out.split())


@pytest.mark.parametrize(
    ("day", "state"),
    [
        ("2020-10-31", "pending"),
        ("2020-11-01", "in_force"),
        ("2099-03-31", "in_force"),
        ("2099-04-01", "expired"),
    ],
)
def test_waivers_are_judged_on_the_assessment_date(
    day: str, state: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    epoch = int(datetime.fromisoformat(day).replace(tzinfo=UTC).timestamp()) + 3600
    monkeypatch.setenv("SOURCE_DATE_EPOCH", str(epoch))
    snap = write_sample(tmp_path / "snapshot.json")
    args = ["assess", str(snap), "--select", "MTLS-OUT-01", "--format", "json"]
    waivers = waivers_file(tmp_path, EVERY_OUT01)
    code = exit_of([*args, "--waivers", str(waivers), "--out", str(tmp_path / "o")])
    evidence = evidence_of(tmp_path / "o")
    assert evidence["waivers"][0]["state"] == state
    assert evidence["run"]["options"]["waivers"]["judged_on"] == day
    assert code == (0 if state == "in_force" else 1)


def test_an_indeterminate_result_is_never_waived(tmp_path: Path) -> None:
    rules, _, _ = load_rules(AssessOptions(select=["MTLS-OUT-01"]))
    rule = next(r for r in rules if r.id == "MTLS-OUT-01")
    subject = "/subscriptions/x/resourceGroups/rg/providers/Microsoft.ApiManagement/service/s"
    result = indeterminate(subject, "not collected")
    finding = Finding(rule, result, fingerprint(rule.id, subject, ""))
    waivers = load_waivers(
        waivers_file(tmp_path, WAIVERS_YAML.replace('"*/apis/lab-results"', '"*/service/s"'))
    )
    applied = apply_waivers([finding], waivers, date(2026, 11, 20))
    assert applied.findings[0].status is Status.INDETERMINATE
    assert applied.records[0]["matched"] == 0


def test_a_toml_waivers_file_is_read(tmp_path: Path) -> None:
    toml = """
[[waivers]]
rule = "mtls-out-01"
subjects = ["*/apis/lab-results"]
justification = "Isolated network."
approver = "CISO"
approved_on = 2020-01-01
expires_on = "2099-01-01"
"""
    loaded = load_waivers(waivers_file(tmp_path, toml, "waivers.toml"))
    assert [(w.rule_id, w.approved_on, w.expires_on) for w in loaded.waivers] == [
        ("MTLS-OUT-01", date(2020, 1, 1), date(2099, 1, 1))
    ]


ENTRY = """\
waivers:
  - rule: MTLS-OUT-01
    subjects: "*"
    justification: ok
    approver: CISO
    approved_on: 2020-01-01
    expires_on: 2099-01-01
  - {second}
"""
GW03 = "waivers[1] (MTLS-GW-03)"
GOOD = (
    "{{rule: MTLS-GW-03, subjects: '*', justification: j, approver: a, "
    "approved_on: 2020-01-01, expires_on: 2099-01-01{extra}}}"
)


@pytest.mark.parametrize(
    ("second", "where", "words"),
    [
        (
            GOOD.format(extra="").replace("approver: a", "approver: null"),
            GW03,
            "'approver': is required",
        ),
        (
            GOOD.format(extra="").replace("2099-01-01", "31/12/2099"),
            "waivers[1] (MTLS-GW-03)",
            "'expires_on': expected a date",
        ),
        (
            GOOD.format(extra="").replace("2099-01-01", "2019-01-01"),
            "waivers[1] (MTLS-GW-03)",
            "'expires_on': 2019-01-01 is before the approval date 2020-01-01",
        ),
        (
            GOOD.format(extra=", expiry: 2099-01-01"),
            "waivers[1] (MTLS-GW-03)",
            "unknown field 'expiry' (did you mean 'expires_on'?)",
        ),
        (
            GOOD.format(extra="").replace("subjects: '*'", "subjects: []"),
            "waivers[1] (MTLS-GW-03)",
            "'subjects': is an empty list",
        ),
        (
            GOOD.format(extra="").replace("rule: MTLS-GW-03, ", ""),
            "waivers[1]:",
            "'rule': is required",
        ),
        (
            GOOD.format(extra="").replace("justification: j", "justification: 12"),
            "waivers[1] (MTLS-GW-03)",
            "'justification': expected text, found the number 12",
        ),
        ("just text", "waivers[1]:", "expected a mapping of fields"),
    ],
)
def test_a_malformed_waivers_file_names_the_entry_and_the_field(
    second: str, where: str, words: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = waivers_file(tmp_path, ENTRY.format(second=second))
    snap = write_sample(tmp_path / "snapshot.json")
    code, _, err = run_cli(
        ["assess", str(snap), "--waivers", str(path), "--out", str(tmp_path / "o")], capsys
    )
    assert code == 2
    assert f"{path}: {where}" in err
    assert words in err
    assert "Traceback" not in err
    assert not (tmp_path / "o").exists()  # nothing is assessed or written


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("waivers:\n  - rule: [unclosed\n", "not valid YAML"),
        ("waiver: []\n", "unknown field 'waiver' (did you mean 'waivers'?)"),
        ("waivers: {}\n", "field 'waivers': expected a list of waivers"),
    ],
)
def test_a_waivers_file_of_the_wrong_shape_is_an_input_error(
    text: str, words: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = waivers_file(tmp_path, text)
    code, _, err = run_cli(["assess", str(path), "--waivers", str(path)], capsys)
    assert code == 2
    assert str(path) in err
    assert words in err


def test_a_waiver_for_an_unknown_rule_is_refused_with_its_file_and_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    second = GOOD.format(extra="").replace("MTLS-GW-03", "MTLS-GW-30")
    path = waivers_file(tmp_path, ENTRY.format(second=second))
    code, _, err = run_cli(["scan", "--sample", "--waivers", str(path)], capsys)
    assert code == 2
    assert f"{path}: line 8: waivers[1] (MTLS-GW-30): field 'rule': no rule 'MTLS-GW-30'" in err
    toml = waivers_file(
        tmp_path,
        '[[waivers]]\nrule = "MTLS-NOPE-01"\nsubjects = "*"\njustification = "j"\n'
        'approver = "a"\napproved_on = 2020-01-01\nexpires_on = 2099-01-01\n',
        name="waivers.toml",
    )
    code, _, err = run_cli(["scan", "--sample", "--waivers", str(toml)], capsys)
    assert code == 2
    assert f"{toml}: waivers[0] (MTLS-NOPE-01): field 'rule': no rule 'MTLS-NOPE-01'" in err
