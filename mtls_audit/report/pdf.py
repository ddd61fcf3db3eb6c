"""The PDF report: the HTML report paginated by WeasyPrint as PDF/A-3b, the evidence inside.

The evidence bytes are embedded as ``evidence.json`` (relationship Data) exactly as given, and
their SHA-256 is printed on the cover, so the PDF an auditor files carries its own proof. Dates in
the PDF come from the run, not the clock, so re-rendering the same evidence gives the same text.
WeasyPrint is imported here, inside the function, and nowhere at module level.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from mtls_audit.report.fetcher import bundle_fetcher
from mtls_audit.report.html import render_html
from mtls_audit.report.reader import ReportError
from mtls_audit.resources import bundled_dir

PRINT_STYLESHEET = "print.css"
EVIDENCE_NAME = "evidence.json"


def write_pdf(evidence: Mapping[str, Any], evidence_bytes: bytes, out: Path) -> None:
    """Write the report to ``out``; ``evidence_bytes`` is the evidence.json the run wrote."""
    from weasyprint import CSS, HTML, Attachment

    digest = hashlib.sha256(evidence_bytes).hexdigest()
    html = render_html(evidence, evidence_sha256=digest, printed=True)
    root = bundled_dir("report_templates")
    base_url = root.as_uri() + "/"
    fetcher = bundle_fetcher(root)
    finished = _run_time(evidence)
    stylesheet = CSS(
        string=(root / PRINT_STYLESHEET).read_text(encoding="utf-8"),
        base_url=base_url,
        url_fetcher=fetcher,
    )
    attachment = Attachment(
        string=evidence_bytes,
        name=EVIDENCE_NAME,
        description=f"mtls-audit evidence, SHA-256 {digest}",
        relationship="Data",
        created=finished,
        modified=finished,
        url_fetcher=fetcher,
    )
    document = HTML(string=html, base_url=base_url, url_fetcher=fetcher)
    document.write_pdf(
        out,
        stylesheets=[stylesheet],
        attachments=[attachment],
        pdf_variant="pdf/a-3b",
        presentational_hints=False,
    )


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
