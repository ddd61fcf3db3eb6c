"""The sample assessment as an auditor files it: tests of controls whose counts are the
evidence's, every exception listed, causes counted once, and a headline the gate cannot change."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import lxml.html
import pytest

from mtls_audit.cli import main
from mtls_audit.evidence.causes import OPEN_STATUSES
from mtls_audit.evidence.headline import headline
from mtls_audit.evidence.schema import validate_evidence

from .test_pdf import squeeze


def _scan(folder: Path, fail_on: str, formats: str) -> dict[str, Any]:
    with pytest.raises(SystemExit):
        main(["scan", "--sample", "--fail-on", fail_on, "--format", formats, "--out", str(folder)])
    evidence: dict[str, Any] = json.loads((folder / "evidence.json").read_text("utf-8"))
    return evidence


@pytest.fixture(scope="module")
def gated(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    folder = tmp_path_factory.mktemp("gated")
    return folder, _scan(folder, "critical", "json,pdf,html")


@pytest.fixture(scope="module")
def pdf_text(gated: tuple[Path, dict[str, Any]]) -> str:
    done = subprocess.run(
        ["pdftotext", str(gated[0] / "report.pdf"), "-"], capture_output=True, check=True
    )
    return done.stdout.decode("utf-8")


def flat(words: str) -> str:
    """Text without whitespace or hyphens: a word or id may wrap at a hyphen in the PDF."""
    return squeeze(words).replace("-", "")


def _opened(evidence: dict[str, Any]) -> list[dict[str, Any]]:
    return [r for r in evidence["results"] if r["status"] in OPEN_STATUSES]


def test_every_failed_and_indeterminate_subject_is_in_the_pdf(
    gated: tuple[Path, dict[str, Any]], pdf_text: str
) -> None:
    text = flat(pdf_text)
    opened = _opened(gated[1])
    assert len(opened) > 90
    for result in opened:
        assert flat(result["subject"]) in text, result["subject"]
        assert flat(result["cause"]) in text


def test_tests_of_controls_counts_are_the_evidences(
    gated: tuple[Path, dict[str, Any]], pdf_text: str
) -> None:
    evidence = gated[1]
    text = flat(pdf_text)
    assert flat("It is not an opinion on compliance") in text
    for rule in evidence["rule_pack"]:
        counts = evidence["summary"]["by_rule"].get(rule["id"], {})
        population = sum(n for status, n in counts.items() if status != "not_applicable")
        if not population or not any(rule["controls"].values()):
            continue
        unit = rule["unit"][0] if population == 1 else rule["unit"][1]
        if counts.get("fail"):
            wording = f"Exceptions noted: {counts['fail']} of {population} {unit}"
        else:
            wording = f"{population} {unit}"
        assert flat(wording) in text, (rule["id"], wording)
    assert text.count(flat("Exceptions noted: 9 of 32 API paths")) >= 3  # IN-01 thrice
    in01 = next(r for r in evidence["rule_pack"] if r["id"] == "MTLS-IN-01")
    assert flat(in01["control_reasons"]["nist-800-53"]["SC-23"]) in text
    assert flat("Not covered by this assessment. 164.308(a)(8) Evaluation") in text


def test_the_headline_does_not_depend_on_the_gate(
    gated: tuple[Path, dict[str, Any]], tmp_path: Path
) -> None:
    ungated = _scan(tmp_path, "none", "json,html")
    assert headline(ungated) == headline(gated[1])
    assert headline(gated[1]).startswith("102 exceptions in 38 of 45 tests — ")
    assert "distinct issues affecting" in headline(gated[1])

    def shown(folder: Path, name: str) -> list[str]:
        tree: lxml.html.HtmlElement = lxml.html.fromstring((folder / "report.html").read_bytes())
        return [" ".join(e.text_content().split()) for e in tree.find_class(name)]

    assert shown(tmp_path, "headline") == shown(gated[0], "headline")
    assert len(shown(tmp_path, "headline")) == 2  # the cover and the summary
    assert shown(tmp_path, "gate") != shown(gated[0], "gate")  # the gate line says which


def test_one_policy_line_is_one_cause_across_rules(gated: tuple[Path, dict[str, Any]]) -> None:
    evidence = gated[1]
    assert validate_evidence(evidence) == []
    bypass = [
        r
        for r in _opened(evidence)
        if r["evidence"]
        and r["evidence"][0].get("line") == 6
        and str(r["evidence"][0].get("scope")) == "api:billing"
    ]
    assert {r["rule_id"] for r in bypass} >= {"MTLS-IN-01", "MTLS-IN-02", "MTLS-GW-04"}
    assert len({r["cause"] for r in bypass}) == 1
    assert all("cause" not in r for r in evidence["results"] if r["status"] == "pass")
    assert all(r["cause"].startswith("C-") for r in _opened(evidence))


def test_the_exceptions_chapter_never_reads_clean_while_failures_stand(pdf_text: str) -> None:
    text = squeeze(pdf_text)
    assert squeeze("No exceptions were recorded") not in text
    assert squeeze("failed results stand as exceptions") in text
