"""The PDF read back: text, outline, metadata, PDF/A identification and the embedded evidence."""

from __future__ import annotations

import hashlib
import io
import re
import shutil
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from pypdf import PdfReader
from pypdf.generic import ArrayObject, DictionaryObject, PdfObject, StreamObject

from .evidence_factory import (
    HOSTILE_IMG,
    HOSTILE_LINK,
    KNOWN_MESSAGE,
    empty_evidence,
    realistic_evidence,
    to_bytes,
)

SECTIONS = (
    "Contents",
    "Executive summary",
    "Top risks",
    "Control status",
    "Results by control family",
    "Findings in detail",
    "Validation coverage",
    "Certificate inventory",
    "Exceptions and management responses",
    "Methodology and population",
    "Appendix: rule catalogue",
)


def squeeze(text: str) -> str:
    """Text without whitespace, so words wrapped across lines or cells compare whole."""
    return re.sub(r"\s+", "", text)


def dictionary(value: PdfObject) -> DictionaryObject:
    resolved = value.get_object()
    assert isinstance(resolved, DictionaryObject)
    return resolved


def pdf_text(path: Path) -> str:
    return "\n".join(page.extract_text() or "" for page in PdfReader(path).pages)


def outline_titles(items: Any) -> list[str]:
    titles: list[str] = []
    for item in items:
        titles += outline_titles(item) if isinstance(item, list) else [item.title]
    return titles


@pytest.fixture(scope="module")
def realistic_text(realistic_pdf: tuple[Path, bytes]) -> str:
    return pdf_text(realistic_pdf[0])


def test_sections_controls_and_a_known_finding_are_in_the_text(realistic_text: str) -> None:
    for title in SECTIONS:
        assert title in realistic_text
    for control in ("164.312(d)", "164.312(e)(2)(i)", "CC6.1", "CC6.7", "SC-8(1)", "IA-5(2)"):
        assert control in realistic_text
    assert squeeze(KNOWN_MESSAGE) in squeeze(realistic_text)
    assert "policies/patients.xml:3" in squeeze(realistic_text)


def test_cover_prints_hashes_versions_and_the_verdict(realistic_pdf: tuple[Path, bytes]) -> None:
    path, data = realistic_pdf
    cover = squeeze(PdfReader(path).pages[0].extract_text())
    assert hashlib.sha256(data).hexdigest() in cover
    assert "ab" * 32 in cover
    assert "apim-contoso-prod" in cover
    assert "apim-contoso-dr" in cover
    assert "mtls-audit0.1.0" in cover
    assert "builtin(6rules)" in cover
    assert "FAIL" in cover


def test_pages_carry_running_header_and_page_x_of_y(realistic_pdf: tuple[Path, bytes]) -> None:
    pages = PdfReader(realistic_pdf[0]).pages
    third = pages[2].extract_text()
    assert "CONFIDENTIAL" in third.upper()
    assert "apim-contoso-prod, apim-contoso-dr" in third
    assert f"Page 3 of {len(pages)}" in third


def test_outline_has_chapters_and_rules(realistic_pdf: tuple[Path, bytes]) -> None:
    titles = outline_titles(PdfReader(realistic_pdf[0]).outline)
    for title in ("Cover", "Executive summary", "Findings in detail", "Appendix: rule catalogue"):
        assert title in titles
    assert "MTLS-GW-01 The gateway requests client certificates" in titles


def test_metadata_comes_from_the_run(realistic_pdf: tuple[Path, bytes]) -> None:
    reader = PdfReader(realistic_pdf[0])
    meta = reader.metadata
    assert meta is not None
    assert meta.title == "Mutual TLS compliance assessment: apim-contoso-prod, apim-contoso-dr"
    assert meta.author == "mtls-audit"
    assert "HIPAA" in (meta.subject or "")
    assert "NIST SP 800-53" in str(meta.get("/Keywords"))
    assert meta.creation_date is not None
    assert meta.creation_date.strftime("%Y-%m-%dT%H:%M:%S") == "2026-11-27T10:00:09"


def test_pdf_identifies_as_pdf_a_3b(realistic_pdf: tuple[Path, bytes]) -> None:
    catalog = PdfReader(realistic_pdf[0]).root_object
    metadata = catalog["/Metadata"].get_object()
    assert isinstance(metadata, StreamObject)
    xmp = metadata.get_data().decode()
    assert re.search(r"pdfaid:part(=\"|>)3", xmp)
    assert re.search(r"pdfaid:conformance(=\"|>)B", xmp)
    assert "/OutputIntents" in catalog


def test_evidence_is_embedded_byte_identical_as_the_only_attachment(
    realistic_pdf: tuple[Path, bytes],
) -> None:
    path, data = realistic_pdf
    reader = PdfReader(path)
    assert reader.attachments == {"evidence.json": [data]}
    names = dictionary(dictionary(reader.root_object["/Names"])["/EmbeddedFiles"])["/Names"]
    assert isinstance(names, ArrayObject)
    assert str(dictionary(names[1])["/AFRelationship"]) == "/Data"


@pytest.mark.skipif(
    shutil.which("pdfdetach") is None,
    reason="needs pdfdetach from poppler-utils (apt-get install poppler-utils), not installed",
)
def test_poppler_extracts_the_same_evidence_bytes(
    realistic_pdf: tuple[Path, bytes], tmp_path: Path
) -> None:
    """A second, independent PDF reader finds the same attachment."""
    path, data = realistic_pdf
    subprocess.run(["pdfdetach", "-saveall", "-o", str(tmp_path), str(path)], check=True)
    assert (tmp_path / "evidence.json").read_bytes() == data


def test_hostile_names_are_text_and_nothing_is_fetched(hostile_pdf: tuple[Path, bytes]) -> None:
    path, data = hostile_pdf
    reader = PdfReader(path)
    text = squeeze(pdf_text(path))
    assert squeeze(HOSTILE_IMG) in text
    assert squeeze(HOSTILE_LINK) in text
    assert reader.attachments == {"evidence.json": [data]}
    assert all(not page.images for page in reader.pages)
    passwd = Path("/etc/passwd")
    if passwd.exists():
        first_line = passwd.read_text().splitlines()[0]
        assert first_line not in text
        assert first_line.encode() not in path.read_bytes()


def test_empty_sections_say_so_honestly(tmp_path: Path) -> None:
    from mtls_audit.report.pdf import write_pdf

    evidence = empty_evidence()
    out = tmp_path / "empty.pdf"
    write_pdf(evidence, to_bytes(evidence), out)
    text = squeeze(pdf_text(out))
    for sentence in (
        "No exceptions were recorded for this assessment.",
        "No coverage was computed for this assessment",
        "No certificate inventory was recorded for this assessment",
        "the evidence has no gap.",
        "no run-level error was recorded.",
        "PASS",
    ):
        assert squeeze(sentence) in text


def test_a_bad_finish_time_is_a_clear_error(tmp_path: Path) -> None:
    from mtls_audit.evidence.reader import ReportError
    from mtls_audit.report.pdf import write_pdf

    evidence = realistic_evidence()
    evidence["run"]["finished_at"] = "yesterday"
    with pytest.raises(ReportError, match="finished_at"):
        write_pdf(evidence, to_bytes(evidence), tmp_path / "x.pdf")
    assert not (tmp_path / "x.pdf").exists()


def test_renderers_other_than_pdf_do_not_import_weasyprint() -> None:
    code = (
        "import sys\n"
        "import mtls_audit.report.html, mtls_audit.report.sarif, mtls_audit.report.junit\n"
        "import mtls_audit.report.markdown, mtls_audit.report.view, mtls_audit.report.pdf\n"
        "import mtls_audit.report.fetcher\n"
        "assert 'weasyprint' not in sys.modules, 'weasyprint was imported'\n"
    )
    root = Path(__file__).resolve().parents[2]
    subprocess.run([sys.executable, "-c", code], check=True, cwd=root)


def test_write_pdf_confines_weasyprint_even_if_markup_got_through(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Defence in depth: were escaping ever bypassed, the renderer would still load nothing."""
    from mtls_audit.report import pdf

    markup = (
        '<html><head><link rel="attachment" href="file:///etc/passwd">'
        '<style>p { background: url("file:///etc/passwd"); }</style></head>'
        '<body><p>x</p><img src="file:///etc/passwd"><img src="../../../../etc/passwd">'
        '<a rel="attachment" href="file:///etc/hostname">a</a></body></html>'
    )
    monkeypatch.setattr(pdf, "render_html", lambda *args, **kwargs: markup)
    evidence = realistic_evidence()
    data = to_bytes(evidence)
    out = tmp_path / "raw.pdf"
    pdf.write_pdf(evidence, data, out)
    reader = PdfReader(out)
    assert reader.attachments == {"evidence.json": [data]}
    assert not reader.pages[0].images


@pytest.mark.parametrize("subsetter", ["harfbuzz", "fonttools"])
def test_the_same_evidence_gives_the_same_pdf_bytes(
    subsetter: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Whichever library subsets the fonts, and whenever it runs: fontTools (used when the
    system has no HarfBuzz-Subset) dates each subset font with the clock, or with
    SOURCE_DATE_EPOCH, which here stands for two runs years apart."""
    import weasyprint.pdf.fonts

    from mtls_audit.report.pdf import write_pdf

    if subsetter == "fonttools":
        monkeypatch.setattr(weasyprint.pdf.fonts, "harfbuzz_subset", None)
    elif weasyprint.pdf.fonts.harfbuzz_subset is None:
        pytest.skip("HarfBuzz-Subset (libharfbuzz-subset0) is not installed")
    evidence = realistic_evidence()
    data = to_bytes(evidence)
    renderings = []
    for epoch in ("1000000000", "2000000000"):
        monkeypatch.setenv("SOURCE_DATE_EPOCH", epoch)
        write_pdf(evidence, data, tmp_path / f"{epoch}.pdf")
        renderings.append((tmp_path / f"{epoch}.pdf").read_bytes())
    assert renderings[0] == renderings[1]
    finished = datetime.fromisoformat(evidence["run"]["finished_at"].replace("Z", "+00:00"))
    assert set(font_dates(tmp_path / "1000000000.pdf")) == {finished}


def font_dates(path: Path) -> list[datetime]:
    """The ``head.modified`` date of every font file embedded in the PDF."""
    from fontTools.misc.timeTools import epoch_diff
    from fontTools.ttLib import TTFont

    dates = []
    for page in PdfReader(path).pages:
        for font in dictionary(dictionary(page["/Resources"])["/Font"]).values():
            descendants = dictionary(font)["/DescendantFonts"]
            assert isinstance(descendants, ArrayObject)
            descriptor = dictionary(dictionary(descendants[0])["/FontDescriptor"])
            stream = descriptor["/FontFile2"].get_object()
            assert isinstance(stream, StreamObject)
            modified = TTFont(io.BytesIO(stream.get_data()))["head"].modified
            dates.append(datetime.fromtimestamp(modified + epoch_diff, UTC))
    assert dates
    return dates


def test_findings_flow_on_without_a_page_per_rule(realistic_pdf: tuple[Path, bytes]) -> None:
    pages = [squeeze(page.extract_text() or "") for page in PdfReader(realistic_pdf[0]).pages]
    titles = [
        squeeze("MTLS-GW-01 The gateway requests client certificates"),
        squeeze("MTLS-IN-01 Every operation validates the client certificate"),
        squeeze("MTLS-KV-09 Certificates are not expired or near expiry"),
    ]
    (start,) = [
        n for n, page in enumerate(pages) if squeeze("Each rule with failing or indet") in page
    ]
    # The chapter follows on from the previous one, so it may begin low on its first page; its
    # first three rules still share that page and the next, not a page each.
    two_pages = "".join(pages[start : start + 2])
    assert all(title in two_pages for title in titles)


def test_the_pdf_gives_the_portal_and_policy_fixes_and_says_where_the_rest_is(
    realistic_text: str,
) -> None:
    """The PDF is bounded: each failing rule's title, why it matters, and its portal and policy
    fixes, with a note saying where the rest is; the HTML report has every word and channel."""
    text = squeeze(realistic_text)
    pack = {rule["id"]: rule for rule in realistic_evidence()["rule_pack"]}
    portal = pack["MTLS-GW-01"]["remediation"]["portal"]
    cli = pack["MTLS-GW-01"]["remediation"]["cli"]
    assert squeeze(f"How to fix it. Azure portal: {portal}") in text
    assert squeeze(cli) not in text
    assert "What it checks." not in text
    assert squeeze("Why it matters.") in text
    assert squeeze("as Azure CLI commands, ARM template properties and Terraform") in text
    assert squeeze("mtls-audit rules explain RULE-ID") in text
