"""The HTML report: the bundled Jinja2 templates rendered to one self-contained file.

The PDF is rendered from this same HTML. Every string from the evidence is data: autoescaping is
on for every template, control and invisible characters are printed as escapes, and the document
links to nothing outside itself (its CSS is inlined).
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from typing import Any

import jinja2
import markupsafe

from mtls_audit.report.reader import STATUS_LABELS, visible
from mtls_audit.report.view import build_view
from mtls_audit.resources import bundled_dir

REPORT_TEMPLATE = "report.html"


@cache
def environment() -> jinja2.Environment:
    """The template environment: bundled templates only, autoescaped, strict about names."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(bundled_dir("report_templates")),
        autoescape=jinja2.select_autoescape(("html", "xml"), default_for_string=True, default=True),
        undefined=jinja2.StrictUndefined,
        finalize=_shown,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.globals["status_labels"] = STATUS_LABELS
    return env


def _shown(value: Any) -> Any:
    """Every value a template prints, with invisible characters made visible (markup kept)."""
    if isinstance(value, str) and not isinstance(value, markupsafe.Markup):
        return visible(value)
    return value


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
