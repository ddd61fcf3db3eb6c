"""The HTML report: the bundled Jinja2 templates rendered to one self-contained file.

The PDF is rendered from this same HTML. Every string from the evidence is data: autoescaping is
on for every template, control and invisible characters are printed as escapes, and the document
links to nothing outside itself (its CSS is inlined).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from mtls_audit.evidence.templates import environment
from mtls_audit.report.view import build_view

REPORT_TEMPLATE = "report.html"


def render_html(
    evidence: Mapping[str, Any],
    *,
    evidence_sha256: str,
    title: str | None = None,
    printed: bool = False,
) -> str:
    """The report as an HTML document; ``evidence_sha256`` is the hash of the evidence bytes.

    ``printed`` renders the document the PDF is made from, which gives each failing rule's first
    sentence and its portal and policy fixes; the HTML report gives every word and channel.
    """
    view = build_view(evidence, evidence_sha256=evidence_sha256, title=title, printed=printed)
    return environment().get_template(REPORT_TEMPLATE).render(view=view)
