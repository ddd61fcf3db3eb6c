"""Type sizes, words and page fill of the sample report, read back from the PDF and the HTML.

The bundled sample is scanned and its evidence rendered with the current code:
body text at 9.5 pt or more, nothing under 8 pt, no inline markup and no "(s)" plurals in any
text, and no page (but the cover and the last) left mostly blank.
"""

from __future__ import annotations

import io
import json
import re
import shutil
import subprocess
import xml.etree.ElementTree as ET
from collections import Counter
from contextlib import redirect_stdout
from pathlib import Path
from typing import Any

import pytest
from lxml import html as lxml_html
from pypdf import PdfReader

from mtls_audit.cli import main
from mtls_audit.report.html import render_html
from mtls_audit.report.pdf import write_pdf

from .test_sample_reports import EPOCH

BODY_PT = 9.5
SMALLEST_PT = 8.0
# A page other than the cover and the last holds at least this many lines of text.
MIN_LINES = 20
MARKUP = re.compile(r"`|\*\*|:(?:ref|class|func|mod|data|attr):")
FAX_RELAY = "fax-relay-client"
TEXT_FORMATS = "text,sarif,junit,markdown"
BAD_WORDS = re.compile(r"\w\(s\)|\bApis\b|\b1 more \w+s\b|\b1 (?:days|APIs|subjects|runs)\b")


@pytest.fixture(scope="module")
def sample_outputs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """The sample's text outputs by name ("console" for what the scan printed)."""
    out = tmp_path_factory.mktemp("sample")
    printed = io.StringIO()
    with pytest.MonkeyPatch.context() as patch, redirect_stdout(printed):
        patch.setenv("SOURCE_DATE_EPOCH", EPOCH)
        with pytest.raises(SystemExit):
            main(["scan", "--sample", "--format", f"json,{TEXT_FORMATS}", "--out", str(out)])
    files = {p.name: p.read_text(encoding="utf-8") for p in out.iterdir() if p.is_file()}
    return {"console": printed.getvalue(), **files}


@pytest.fixture(scope="module")
def sample_evidence(sample_outputs: dict[str, str]) -> bytes:
    return sample_outputs["evidence.json"].encode("utf-8")


@pytest.fixture(scope="module")
def sample_pdf(sample_evidence: bytes, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("sample-pdf") / "report.pdf"
    write_pdf(json.loads(sample_evidence), sample_evidence, out)
    return out


@pytest.fixture(scope="module")
def sample_html(sample_evidence: bytes) -> str:
    evidence = json.loads(sample_evidence)
    document: Any = lxml_html.fromstring(render_html(evidence, evidence_sha256="0" * 64))
    # What a reader sees: no style sheet, and the charts' words are checked in their captions.
    for hidden in list(document.iter("style", "title", "svg")):
        parent = hidden.getparent()
        if parent is not None:
            parent.remove(hidden)
    return str(lxml_html.tostring(document, method="text", encoding="unicode"))


def _sizes(path: Path, shown: str = "") -> Counter[float]:
    """Characters of text (that contains ``shown``) per font size as printed, in points: the
    font's size scaled by the text and page matrices, to a tenth of a point."""
    sizes: Counter[float] = Counter()

    def visit(text: str, cm: Any, tm: Any, font: Any, size: float) -> None:
        if text.strip() and shown in text:
            scale = (tm[2] ** 2 + tm[3] ** 2) ** 0.5 * (cm[2] ** 2 + cm[3] ** 2) ** 0.5
            sizes[round(size * scale, 1)] += len(text.strip())

    for page in PdfReader(path).pages:
        page.extract_text(visitor_text=visit)
    return sizes


def _pdf_text(path: Path, page: int | None = None) -> str:
    pages = ["-f", str(page), "-l", str(page)] if page else []
    done = subprocess.run(
        ["pdftotext", "-layout", *pages, str(path), "-"], capture_output=True, check=True
    )
    return done.stdout.decode("utf-8")


needs_poppler = pytest.mark.skipif(not shutil.which("pdftotext"), reason="poppler not installed")


def test_body_text_is_at_least_9_5_pt_and_nothing_under_8_pt(sample_pdf: Path) -> None:
    sizes = _sizes(sample_pdf)
    assert min(sizes) >= SMALLEST_PT, sorted(sizes)
    # Body text is what most of the report is set in.
    most, _ = sizes.most_common(1)[0]
    assert most >= BODY_PT, sizes.most_common(5)
    assert sum(n for size, n in sizes.items() if size >= BODY_PT) > sum(sizes.values()) / 2


def test_evidence_lines_are_at_least_8_pt(sample_pdf: Path) -> None:
    excerpts = _sizes(sample_pdf, "<when condition=") + _sizes(sample_pdf, "<validate-client")
    assert excerpts
    assert min(excerpts) >= SMALLEST_PT


@needs_poppler
def test_no_markup_or_parenthesised_plural_in_the_pdf(sample_pdf: Path) -> None:
    text = _pdf_text(sample_pdf)
    assert not MARKUP.findall(text)
    assert not BAD_WORDS.findall(text)
    assert "1 more subject of this rule" in text or "more subjects of this rule" in text


def test_no_markup_or_parenthesised_plural_in_the_html(sample_html: str) -> None:
    assert not MARKUP.findall(sample_html)
    assert not BAD_WORDS.findall(sample_html)
    assert "APIs" in sample_html


def test_no_parenthesised_plural_in_console_markdown_sarif_or_junit(
    sample_outputs: dict[str, str],
) -> None:
    sarif = json.loads(sample_outputs["results.sarif"])
    messages = [
        text
        for run in sarif["runs"]
        for text in _strings([run["results"], run["tool"]["driver"]["rules"]])
    ]
    junit = ET.fromstring(sample_outputs["junit.xml"].encode("utf-8"))
    texts = {
        "console": sample_outputs["console"],
        "Markdown": sample_outputs["summary.md"],
        "SARIF": "\n".join(messages),
        "JUnit": "\n".join(junit.itertext()) + "\n".join(_attributes(junit)),
    }
    assert all(texts.values()), [name for name, text in texts.items() if not text]
    found = {name: BAD_WORDS.findall(text) for name, text in texts.items()}
    assert {name: words for name, words in found.items() if words} == {}


def _strings(value: object) -> list[str]:
    """Every string inside a JSON value, keys aside."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for item in value.values() for s in _strings(item)]
    if isinstance(value, list):
        return [s for item in value for s in _strings(item)]
    return []


def _attributes(root: ET.Element) -> list[str]:
    return [value for element in root.iter() for value in element.attrib.values()]


def test_inventory_counts_days_as_the_findings_do(
    sample_outputs: dict[str, str], sample_html: str
) -> None:
    """fax-relay-client expired 2026-11-02T00:00Z; as of 2026-11-20T09:00Z that is 18 full
    days (18.4), which the evidence's days_left rounds down to -19."""
    evidence = json.loads(sample_outputs["evidence.json"])
    (entry,) = [
        c
        for c in evidence["inventory"]["certificates"]
        if c["name"] == FAX_RELAY and c["kind"] == "entity"
    ]
    assert (entry["expiry"], entry["days_left"]) == ("2026-11-02T00:00:00Z", -19)
    finding = f"Certificate {FAX_RELAY} expired 18 days ago (2026-11-02)."
    assert any(r["message"] == finding for r in evidence["results"])
    text = " ".join(sample_html.split())
    assert f"{FAX_RELAY}: expired 18 days ago" in text  # the expiry chart's caption
    assert "expired 19 days ago" not in text
    document: Any = lxml_html.fromstring(render_html(evidence, evidence_sha256="0" * 64))
    heads = [" ".join(h.text_content().split()) for h in document.find_class("cert-head")]
    assert any(h.startswith(f"-18 days {FAX_RELAY} · ") for h in heads), heads
    marks = document.xpath('//*[@id="chart-expiry"]//*[@class="certificate"]')
    expired = [m for m in marks if m.get("data-state") == "expired"]
    assert [m.get("data-days") for m in expired if FAX_RELAY in m.itertext()] == ["-18"]


@needs_poppler
def test_no_page_but_the_cover_and_the_last_is_mostly_blank(sample_pdf: Path) -> None:
    count = len(PdfReader(sample_pdf).pages)
    lines = {
        page: sum(1 for line in _pdf_text(sample_pdf, page).splitlines() if line.strip())
        for page in range(2, count)
    }
    assert all(n >= MIN_LINES for n in lines.values()), lines


@needs_poppler
def test_policy_expressions_are_whole_or_cut_between_tokens(sample_pdf: Path) -> None:
    text = _pdf_text(sample_pdf)
    assert "VerifyNoRevocation()" in text
    # An ellipsis follows a space or a whole word, never a dangling "context.".
    assert not re.findall(r"\S*\.…", text)


@needs_poppler
def test_pdf_inventory_counts_days_as_the_findings_do(sample_pdf: Path) -> None:
    text = " ".join(_pdf_text(sample_pdf).split())
    assert f"-18 days {FAX_RELAY} · entity" in text
    assert f"{FAX_RELAY}: expired 18 days ago" in text
    assert "-19 days" not in text
