"""A schedule target's ``discover`` mapping: where Azure Resource Graph looks for instances, and
what it selects (docs/scheduling.md, "An estate")."""

from __future__ import annotations

from collections.abc import Mapping

from mtls_audit.audit.files import Entry
from mtls_audit.sources.azure.discovery import EstateScope, scope_problems

DISCOVER_FIELDS = ("subscriptions", "management_groups", "all_subscriptions", "tags", "query")


def discovery_scope(entry: Entry, source: str, where: str) -> EstateScope:
    """A target's ``discover`` mapping: where Resource Graph looks, and what it selects."""
    found = Entry(
        entry.data["discover"], source=source, where=f"{where}/discover", known=DISCOVER_FIELDS
    )
    tags = found.data.get("tags") or {}
    if not isinstance(tags, Mapping) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in tags.items()
    ):
        raise found.error("is a mapping of tag names to values (strings)", "tags")
    scope = EstateScope(
        subscriptions=found.texts("subscriptions"),
        management_groups=found.texts("management_groups"),
        all_subscriptions=found.flag("all_subscriptions"),
        tags=tuple(sorted(tags.items())),
        query=found.optional_text("query"),
    )
    problems = list(scope_problems(scope))
    if problems:
        raise found.error("; ".join(problems))
    return scope
