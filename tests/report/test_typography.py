"""Type sizes, words and page fill of the sample report, read back from the PDF and the HTML.

The bundled sample is scanned and its evidence rendered with the current code:
body text at 9.5 pt or more, nothing under 8 pt, no inline markup and no "(s)" plurals in any
text, and no page (but the cover and the last) left mostly blank.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from collections import Counter
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
BAD_WORDS = re.compile(r"\w\(s\)|\bApis\b|\b1 more \w+s\b|\b1 (?:days|APIs|subjects|runs)\b")


@pytest.fixture(scope="module")
def sample_evidence(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    out = tmp_path_factory.mktemp("sample")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("SOURCE_DATE_EPOCH", EPOCH)
        with pytest.raises(SystemExit):
            main(["scan", "--sample", "--format", "json", "--out", str(out)])
    return (out / "evidence.json").read_bytes()


@pytest.fixture(scope="module")
def sample_pdf(sample_evidence: bytes, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("sample-pdf") / "report.pdf"
    write_pdf(json.loads(sample_evidence), sample_evidence, out)
    return out


@pytest.fixture(scope="module")
def sample_html(sample_evidence: bytes) -> str:
    evidence = json.loads(sample_evidence)
    document = lxml_html.fromstring(render_html(evidence, evidence_sha256="0" * 64))
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
