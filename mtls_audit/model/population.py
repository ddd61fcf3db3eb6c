"""What a snapshot holds when it holds nothing to audit: the message that says so.

An input without an API Management service (an empty list, a storage-only template, a listing
of backends whose service is elsewhere) must never read as a pass. Every source reaches the
rules through the model, so the check lives here and the engine turns it into a run-level
error (exit 3) whatever produced the snapshot.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from mtls_audit.model import ids

SERVICE_TYPE = "Microsoft.ApiManagement/service"


def nothing_to_audit(resources: Iterable[Mapping[str, Any]], gaps: int) -> str | None:
    """Why the snapshot holds nothing to audit, naming what it holds instead; None when it
    holds an API Management service."""
    counts: dict[str, int] = {}
    spelling: dict[str, str] = {}
    orphans: dict[str, str] = {}
    for resource in resources:
        rtype = str(resource.get("type", "")) or "(untyped)"
        if rtype.lower() == SERVICE_TYPE.lower():
            return None
        key = rtype.lower()
        spelling.setdefault(key, rtype)
        counts[key] = counts.get(key, 0) + 1
        owner = ids.service_of(str(resource.get("id", "")))
        if owner:
            orphans.setdefault(ids.key(owner), ids.last_name(owner))
    found = ", ".join(
        f"{n} {spelling[key]} resource{'' if n == 1 else 's'}"
        for key, n in sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    )
    parts = [f"found {found or 'no resources'}"]
    if gaps:
        parts.append(f"{gaps} gap{'' if gaps == 1 else 's'}")
    text = ", ".join(parts) + f"; no {SERVICE_TYPE}"
    if orphans:
        names = ", ".join(sorted(orphans.values()))
        text += (
            f" (the input has parts of {names} but not the service itself: add its export "
            "with another --from-file)"
        )
    return text + ": nothing to audit"
