"""The Jinja2 environment over the bundled templates, shared by the reports and the dashboard:
autoescaped, strict about names, every printed string shown safely."""

from __future__ import annotations

from functools import cache
from typing import Any

import jinja2
import markupsafe

from mtls_audit.evidence.reader import STATUS_LABELS, visible
from mtls_audit.resources import bundled_dir
from mtls_audit.wording import noun_plural, plain, plural


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
    env.filters.update(plural=plural, noun_plural=noun_plural, plain=plain)
    return env


def _shown(value: Any) -> Any:
    """Every value a template prints, with invisible characters made visible (markup kept)."""
    if isinstance(value, str) and not isinstance(value, markupsafe.Markup):
        return visible(value)
    return value
