"""Comparing two evidence documents result by result, keyed by fingerprint.

A *finding* is a result that needs or needed attention: ``fail``, ``indeterminate`` or
``waived`` (what SARIF emits). Between an old and a new document, by fingerprint:

- **new**: a finding now, not a finding before (it passed, did not apply, or did not exist);
- **fixed**: a finding before, not a finding now;
- **changed**: a finding in both, with another status or severity;
- **unchanged**: a finding in both, same status and severity.

Results that pass in both are left out. The same comparison gives SARIF's ``baselineState``
(new, updated, unchanged, absent) for ``--baseline``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from mtls_audit.audit.files import LoadedEvidence
from mtls_audit.evidence.reader import (
    md_escape,
    resource_name,
    service_relative,
    severity_rank,
    visible,
)

FINDING_STATUSES = ("fail", "indeterminate", "waived")
KINDS = ("new", "fixed", "changed", "unchanged")
DIFF_SCHEMA = "mtls-audit/diff/v1"
Result = Mapping[str, Any]


@dataclass(frozen=True)
class Change:
    kind: str
    fingerprint: str
    old: Result | None
    new: Result | None

    @property
    def shown(self) -> Result:
        """The side that tells the story: the old finding for a fixed one, else the new one."""
        found = self.old if self.kind == "fixed" else self.new
        assert found is not None
        return found


@dataclass(frozen=True)
class Comparison:
    changes: Sequence[Change]

    def of(self, kind: str) -> list[Change]:
        return [c for c in self.changes if c.kind == kind]

    def counts(self) -> dict[str, int]:
        return {kind: len(self.of(kind)) for kind in KINDS}


def is_finding(result: Result | None) -> bool:
    return result is not None and result.get("status") in FINDING_STATUSES


def compare(old: Sequence[Result], new: Sequence[Result]) -> Comparison:
    before = {r["fingerprint"]: r for r in old}
    after = {r["fingerprint"]: r for r in new}
    changes = []
    for fingerprint in dict.fromkeys([*after, *before]):
        o, n = before.get(fingerprint), after.get(fingerprint)
        if is_finding(n) and not is_finding(o):
            kind = "new"
        elif is_finding(o) and not is_finding(n):
            kind = "fixed"
        elif is_finding(o) and o is not None and n is not None:
            same = (o["status"], o["severity"]) == (n["status"], n["severity"])
            kind = "unchanged" if same else "changed"
        else:
            continue
        changes.append(Change(kind, fingerprint, o, n))
    changes.sort(key=_order)
    return Comparison(changes)


def _order(change: Change) -> tuple[int, str, str, str]:
    result = change.shown
    return (
        severity_rank(result["severity"]),
        result["rule_id"],
        result["resource_id"].lower(),
        change.fingerprint,
    )


def _side(result: Result | None) -> dict[str, Any] | None:
    if result is None:
        return None
    return {k: result.get(k) for k in ("status", "severity", "message")}


def _meta(loaded: LoadedEvidence) -> dict[str, Any]:
    run = loaded.document["run"]
    return {
        "file": loaded.name,
        "sha256": loaded.sha256,
        "run_id": run["id"],
        "as_of": run["as_of"],
        "services": list(run["scope"]["services"]),
    }


@dataclass(frozen=True)
class Sides:
    """The two documents compared, as the outputs name them."""

    old: dict[str, Any]
    new: dict[str, Any]

    @property
    def same_scope(self) -> bool:
        def services(side: Mapping[str, Any]) -> set[str]:
            return {s.lower() for s in side["services"]}

        return services(self.old) == services(self.new)


def diff_documents(old: LoadedEvidence, new: LoadedEvidence) -> tuple[Comparison, Sides]:
    comparison = compare(old.document["results"], new.document["results"])
    return comparison, Sides(_meta(old), _meta(new))


SCOPE_NOTE = (
    "The two documents cover different services: results outside the services they share "
    "show as new or fixed."
)


def render_json(comparison: Comparison, sides: Sides) -> str:
    document = {
        "schema": DIFF_SCHEMA,
        "old": sides.old,
        "new": sides.new,
        "same_scope": sides.same_scope,
        "counts": comparison.counts(),
        "results": {
            kind: [
                {
                    "fingerprint": c.fingerprint,
                    "rule_id": c.shown["rule_id"],
                    "resource_id": c.shown["resource_id"],
                    "subject": c.shown.get("subject") or resource_name(c.shown["resource_id"]),
                    "old": _side(c.old),
                    "new": _side(c.new),
                }
                for c in comparison.of(kind)
            ]
            for kind in KINDS
        },
    }
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def _status(change: Change) -> str:
    old = change.old["status"] if change.old else "absent"
    new = change.new["status"] if change.new else "absent"
    return new if change.kind in ("unchanged", "new") else f"{old} → {new}"


def _severity(change: Change) -> str:
    old, new = change.old, change.new
    if old and new and old["severity"] != new["severity"]:
        return f"{old['severity']} → {new['severity']}"
    return str(change.shown["severity"])


def render_text(comparison: Comparison, sides: Sides) -> str:
    counts = comparison.counts()
    lines = [
        f"old: {sides.old['file']} (run {sides.old['run_id']}, as of {sides.old['as_of']})",
        f"new: {sides.new['file']} (run {sides.new['run_id']}, as of {sides.new['as_of']})",
        "  ".join(f"{kind.capitalize()}: {counts[kind]}" for kind in KINDS),
    ]
    if not sides.same_scope:
        lines.append(f"Note: {SCOPE_NOTE}")
    marks = {"new": "+", "fixed": "-", "changed": "~", "unchanged": "="}
    services = [*sides.old["services"], *sides.new["services"]]
    for kind in KINDS:
        lines += ["", f"{kind.capitalize()} ({counts[kind]})"]
        for change in comparison.of(kind):
            result = change.shown
            where = service_relative(result["resource_id"], services)
            lines.append(
                f"  {marks[kind]} {_severity(change):<8} {result['rule_id']:<12} "
                f"{_status(change):<14} {where}"
            )
            lines.append(f"      {result['message']}")
    # Every string comes from the documents: control characters are shown, never sent.
    return visible("\n".join(lines)) + "\n"


def render_markdown(comparison: Comparison, sides: Sides) -> str:
    counts = comparison.counts()
    lines = [
        "## mtls-audit: changes between two assessments",
        "",
        f"Old: {md_escape(sides.old['file'])} (as of {md_escape(sides.old['as_of'])}) · "
        f"new: {md_escape(sides.new['file'])} (as of {md_escape(sides.new['as_of'])})",
        "",
        "| New | Fixed | Changed | Unchanged |",
        "|---:|---:|---:|---:|",
        "| " + " | ".join(str(counts[kind]) for kind in KINDS) + " |",
    ]
    if not sides.same_scope:
        lines += ["", f"**Note:** {SCOPE_NOTE}"]
    for kind in KINDS:
        found = comparison.of(kind)
        lines += ["", f"### {kind.capitalize()} ({len(found)})", ""]
        if not found:
            lines.append("None.")
            continue
        lines += ["| Severity | Rule | Status | Subject | Message |", "|---|---|---|---|---|"]
        for change in found:
            result = change.shown
            subject = result.get("subject") or resource_name(result["resource_id"])
            cells = (_severity(change), result["rule_id"], _status(change), subject)
            row = " | ".join(md_escape(str(c)) for c in (*cells, result["message"]))
            lines.append(f"| {row} |")
    return "\n".join(lines) + "\n"


RENDERERS: dict[str, Callable[[Comparison, Sides], str]] = {
    "text": render_text,
    "json": render_json,
    "markdown": render_markdown,
}
