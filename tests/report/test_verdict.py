"""One verdict for every report: honest when nothing is gated, exact when a threshold is."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import lxml.html
import pytest
from pypdf import PdfReader
from rich.console import Console

from mtls_audit.evidence.reader import md_escape, verdict
from mtls_audit.report.console import print_summary
from mtls_audit.report.html import render_html
from mtls_audit.report.markdown import render_markdown

from .evidence_factory import empty_evidence, to_bytes

NOT_GATED = {"fail_on": "none", "failing": 0, "incomplete": False, "exit_code": 0}
FAILURES = "5 failed results (3 critical, 2 high) and 1 indeterminate"


@pytest.fixture
def ungated(realistic: dict[str, Any]) -> dict[str, Any]:
    realistic["summary"]["gate"] = dict(NOT_GATED)
    realistic["run"]["options"]["fail_on"] = "none"
    return realistic


def console_text(evidence: dict[str, Any]) -> str:
    console = Console(record=True, width=200, highlight=False)
    print_summary(evidence, [], console)
    return " ".join(console.export_text().split())


def test_without_a_threshold_the_failures_are_counted_not_passed(ungated: dict[str, Any]) -> None:
    result = verdict(ungated)
    assert (result.outcome, result.label) == ("not_gated", "NOT GATED")
    assert result.sentence == (f"{FAILURES}; findings are not gated by severity (fail-on none).")


def test_without_a_threshold_and_without_failures_it_says_so() -> None:
    evidence = empty_evidence()
    evidence["summary"]["gate"] = dict(NOT_GATED)
    result = verdict(evidence)
    assert result.label == "NOT GATED"
    assert result.sentence.startswith("No failed result; ")


def test_run_errors_without_a_threshold_are_incomplete(ungated: dict[str, Any]) -> None:
    ungated["summary"]["gate"].update(incomplete=True, exit_code=3)
    result = verdict(ungated)
    assert result.label == "INCOMPLETE"
    assert result.sentence.startswith("Evidence incomplete (1 gap, 1 run-level error); 5 failed")


def test_a_pass_names_the_failures_below_the_threshold(realistic: dict[str, Any]) -> None:
    realistic["summary"]["gate"] = {
        "fail_on": "critical",
        "failing": 0,
        "incomplete": False,
        "exit_code": 0,
    }
    realistic["summary"]["by_severity"] = {"critical": 0, "high": 2, "medium": 0, "low": 1}
    result = verdict(realistic)
    assert result.label == "PASS"
    assert result.sentence == (
        "No finding at or above critical severity; 3 failed results (2 high, 1 low) below it."
    )


def test_a_fail_counts_what_gates_and_what_does_not(realistic: dict[str, Any]) -> None:
    realistic["summary"]["gate"]["incomplete"] = False
    result = verdict(realistic)
    assert result.label == "FAIL"
    failing = realistic["summary"]["gate"]["failing"]
    assert result.sentence == (
        f"{failing} findings at or above critical severity; 2 failed results (2 high) below it."
    )


def test_html_markdown_and_console_state_the_same_verdict(ungated: dict[str, Any]) -> None:
    tree: lxml.html.HtmlElement = lxml.html.fromstring(
        render_html(ungated, evidence_sha256="0" * 64)
    )
    (label,) = tree.find_class("verdict-label")
    (sentence,) = tree.find_class("verdict-sentence")
    assert label.text_content() == "NOT GATED"
    assert FAILURES in sentence.text_content()
    (gate,) = tree.find_class("gate")
    assert " ".join(gate.text_content().split()).startswith(
        f"CI gate (not gated): NOT GATED. {FAILURES};"
    )

    markdown = render_markdown(ungated)
    assert markdown.startswith("## mtls-audit: NOT GATED\n")
    assert md_escape(f"{FAILURES}; findings are not gated") in markdown

    text = console_text(ungated)
    assert f"Verdict: NOT GATED — {FAILURES}; findings are not gated" in text
    assert "Assessment: 6 exceptions in 5 of 6 tests — " in text
    assert "Exit code 0." in text
    assert "PASS" not in text


def test_the_console_keeps_the_gate_words_with_a_threshold(realistic: dict[str, Any]) -> None:
    text = console_text(realistic)
    assert "Verdict: FAIL — " in text
    assert "Exit code 1." in text


def test_the_pdf_cover_is_not_a_pass_when_nothing_is_gated(
    ungated: dict[str, Any], tmp_path: Path
) -> None:
    from mtls_audit.report.pdf import write_pdf

    out = tmp_path / "ungated.pdf"
    write_pdf(ungated, to_bytes(ungated), out)
    cover = " ".join((PdfReader(out).pages[0].extract_text() or "").split())
    assert "NOT GATED" in cover
    assert "5 failed results" in cover
    assert "PASS" not in cover


def test_an_incomplete_verdict_names_the_indeterminate_results_that_gate(
    realistic: dict[str, Any],
) -> None:
    realistic["gaps"], realistic["errors"] = [], []
    realistic["summary"]["gate"] = {
        "fail_on": "high",
        "failing": 0,
        "incomplete": True,
        "exit_code": 3,
    }
    realistic["summary"]["by_severity"] = dict.fromkeys(
        ("critical", "high", "medium", "low", "info"), 0
    )
    realistic["summary"]["indeterminate_by_severity"] = {"critical": 1, "high": 2, "medium": 4}
    result = verdict(realistic)
    assert result.label == "INCOMPLETE"
    assert result.sentence == (
        "Evidence incomplete (3 indeterminate results at or above high severity)."
    )
    assert "0 gaps" not in console_text(realistic)
