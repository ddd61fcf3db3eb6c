"""The PDF report: the HTML report paginated by WeasyPrint as PDF/A-3b, the evidence inside.

The evidence bytes are embedded as ``evidence.json`` (relationship Data) exactly as given, and
their SHA-256 is printed on the cover, so the PDF an auditor files carries its own proof. Dates in
the PDF come from the run, not the clock, the embedded fonts' included (``report.pdf_fonts``), so
re-rendering the same evidence gives the same bytes.
WeasyPrint is imported inside functions, never at module level.

Writing a PDF is two steps: ``print_job`` renders the printed HTML from the evidence, and
``paginate`` turns that into the PDF. ``write_pdf`` does both in this process; the PDF worker
(``report.pdf_worker``) does the second in a process that loaded WeasyPrint ahead of time.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib
import io
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from mtls_audit.dependencies import importing
from mtls_audit.evidence.reader import ReportError
from mtls_audit.output_files import write_file
from mtls_audit.report.fetcher import bundle_fetcher
from mtls_audit.report.html import render_html
from mtls_audit.report.pdf_fonts import stamp_fonts
from mtls_audit.resources import bundled_dir

PRINT_STYLESHEET = "print.css"
EVIDENCE_NAME = "evidence.json"


@dataclass(frozen=True)
class PrintJob:
    """Everything ``paginate`` needs: plain data, so that it can be sent to another process."""

    html: str
    evidence_bytes: bytes
    evidence_sha256: str
    finished: datetime
    out: Path


def print_job(evidence: Mapping[str, Any], evidence_bytes: bytes, out: Path) -> PrintJob:
    """The printed document for ``evidence``; ``evidence_bytes`` is the evidence.json written."""
    digest = hashlib.sha256(evidence_bytes).hexdigest()
    html = render_html(evidence, evidence_sha256=digest, printed=True)
    return PrintJob(html, evidence_bytes, digest, _run_time(evidence), out)


def write_pdf(evidence: Mapping[str, Any], evidence_bytes: bytes, out: Path) -> None:
    """Write the report to ``out``; ``evidence_bytes`` is the evidence.json the run wrote."""
    paginate(print_job(evidence, evidence_bytes, out))


def paginate(job: PrintJob) -> None:
    """Lay out ``job.html`` and write it to ``job.out`` as PDF/A-3b."""
    load_renderer()
    from weasyprint import CSS, HTML, Attachment

    root = bundled_dir("report_templates")
    base_url = root.as_uri() + "/"
    fetcher = bundle_fetcher(root)
    stylesheet = CSS(
        string=(root / PRINT_STYLESHEET).read_text(encoding="utf-8"),
        base_url=base_url,
        url_fetcher=fetcher,
    )
    attachment = Attachment(
        string=job.evidence_bytes,
        name=EVIDENCE_NAME,
        description=f"mtls-audit evidence, SHA-256 {job.evidence_sha256}",
        relationship="Data",
        created=job.finished,
        modified=job.finished,
        url_fetcher=fetcher,
    )
    document = HTML(string=job.html, base_url=base_url, url_fetcher=fetcher)
    data = document.write_pdf(
        stylesheets=[stylesheet],
        attachments=[attachment],
        pdf_variant="pdf/a-3b",
        presentational_hints=False,
        finisher=stamp_fonts(job.finished),
    )
    write_file(job.out, data)


def load_renderer() -> None:
    """Import WeasyPrint now (about 0.75 s) rather than when the first PDF is paginated.

    Raises MissingDependencyError naming WeasyPrint, or the system library it could not load
    (WeasyPrint's own banner, printed on stdout in that case, is not shown).
    """
    with importing("the PDF report", "weasyprint"), contextlib.redirect_stdout(io.StringIO()):
        importlib.import_module("weasyprint")


def _run_time(evidence: Mapping[str, Any]) -> datetime:
    """When the run finished, as an aware UTC datetime (the PDF's dates)."""
    stamp = str(evidence["run"].get("finished_at", ""))
    try:
        moment = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    except ValueError as exc:
        raise ReportError(
            f"run.finished_at is not a date: {stamp!r}", where="/run/finished_at"
        ) from exc
    return moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)
