"""The evidence document (``mtls-audit/evidence/v1``): what an assessment concluded."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from operator import itemgetter
from typing import Any

from mtls_audit import __version__
from mtls_audit.engine.results import Severity, Status
from mtls_audit.engine.rule import DOC_SECTIONS, Options, Rule
from mtls_audit.engine.runner import Assessment, Finding, Gate, rule_controls
from mtls_audit.engine.subjects import Certificate, Snapshot
from mtls_audit.evidence.causes import OPEN_STATUSES, cause_key, key_id
from mtls_audit.evidence.clock import run_times
from mtls_audit.frameworks import control_reasons, mappings
from mtls_audit.model import ids
from mtls_audit.model.build import Model
from mtls_audit.model.inventory import InventoryCertificate, certificate_inventory
from mtls_audit.report.population import population
from mtls_audit.report.provenance import digest, source_record

SCHEMA_ID = "mtls-audit/evidence/v1"


@dataclass(frozen=True)
class RunInfo:
    """What the evidence says about the run besides its results."""

    started_at: datetime
    finished_at: datetime
    snapshot_sha256: str
    snapshot: Mapping[str, Any]
    options: Options
    fail_on: Severity | None
    select: Sequence[str] = ()
    ignore: Sequence[str] = ()
    as_of: datetime | None = None  # --as-of when given; else the collection time is used
    rule_dirs: Sequence[str] = ()
    disabled_packs: Sequence[str] = ()


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def rule_entry(rule: Rule) -> dict[str, Any]:
    """A rule's public metadata as the evidence (and the docs) show it."""
    sections = {title: rule.section(title) for title in DOC_SECTIONS}
    return {
        "id": rule.id,
        "slug": rule.slug,
        "title": rule.title,
        "severity": rule.severity.value,
        "pack": rule.pack,
        "version": rule.version,
        "lifecycle": rule.lifecycle.value,
        "guide": rule.guide,
        "controls": {k: list(v) for k, v in rule_controls(rule).items()},
        "control_reasons": control_reasons(rule.id),
        "unit": list(population_unit(rule)),
        "summary": sections["What it checks"],
        "rationale": sections["Why it matters"],
        "remediation": dict(rule.remediation),
    }


def population_unit(rule: Rule) -> tuple[str, str]:
    """What one result of the rule counts (singular, plural): the mapping's unit, else the
    subject kind's; a service rule may judge many things per service, so those are subjects."""
    mapped = mappings().get(rule.id)
    if mapped is not None:
        return mapped.unit
    if rule.subject in (Certificate, Snapshot):
        return rule.subject.name, rule.subject.plural
    return "subject", "subjects"


class _Results:
    """The results as the evidence lists them.

    Tens of thousands of results share a few dozen rules, a few thousand subjects and a
    few thousand causes: what is the same for all the results of a rule (its controls), of a
    resource (its place in the files read) or of a cause (its id) is worked out once. The
    controls are shared by every result of a rule (the document is never changed in place).
    """

    def __init__(self, origins: Mapping[str, Any]) -> None:
        self.origins = origins
        self.controls: dict[str, dict[str, list[str]]] = {}
        self.places: dict[str, dict[str, Any] | None] = {}
        self.causes: dict[tuple[str, ...], str] = {}

    def entry(self, finding: Finding) -> dict[str, Any]:
        result = finding.result
        rule = finding.rule
        mapped = self.controls.get(rule.id)
        if mapped is None:
            mapped = self.controls[rule.id] = {k: list(v) for k, v in rule_controls(rule).items()}
        entry: dict[str, Any] = {
            "rule_id": rule.id,
            "slug": rule.slug,
            "status": result.status.value,
            "severity": finding.severity.value,
            "resource_id": result.subject,
            "subject": result.subject_name or ids.last_name(result.subject),
            "message": result.message,
            "evidence": [e.to_json() for e in result.evidence],
            "controls": mapped,
            "fingerprint": finding.fingerprint,
        }
        if result.key:  # what tells apart results about one subject, e.g. the product path
            entry["key"] = result.key
        if entry["status"] in OPEN_STATUSES:
            entry["cause"] = self._cause(entry)
        location = self._location(finding)
        if location:
            entry["location"] = location
        return entry

    def _cause(self, entry: Mapping[str, Any]) -> str:
        key = cause_key(entry)
        found = self.causes.get(key)
        if found is None:
            found = self.causes[key] = key_id(key)
        return found

    def _location(self, finding: Finding) -> dict[str, Any] | None:
        """Where the result's subject, else the first resource its evidence cites, is
        written."""
        if not self.origins:
            return None
        result = finding.result
        found = self._place(result.subject)
        for citation in result.evidence:
            if found is not None:
                break
            found = self._place(citation.resource_id)
        return None if found is None else dict(found)

    def _place(self, rid: str) -> dict[str, Any] | None:
        if rid not in self.places:
            self.places[rid] = _place(rid, self.origins)
        return self.places[rid]


def _place(rid: str, origins: Mapping[str, Any]) -> dict[str, Any] | None:
    origin = origins.get(ids.key(rid))
    if not isinstance(origin, Mapping) or not origin.get("file"):
        return None
    found = {"file": origin["file"], "line": int(origin.get("line") or 1)}
    if isinstance(origin.get("address"), str):  # a Terraform resource address
        found["address"] = origin["address"]
    return found


def summary(results: Sequence[Mapping[str, Any]], gate: Gate) -> dict[str, Any]:
    """The counts of the results (as the evidence lists them: plain strings, which count
    faster than the enum members of the findings)."""
    by_status = {s.value: 0 for s in Status}
    by_severity = {s.value: 0 for s in Severity}
    unknown_by_severity = {s.value: 0 for s in Severity}
    by_rule: dict[str, Counter[str]] = {}
    # Counted by kind first: a few hundred kinds for tens of thousands of results.
    kinds = Counter(map(itemgetter("rule_id", "status", "severity"), results))
    for (rule_id, status, severity), count in kinds.items():
        by_status[status] += count
        if status == Status.FAIL.value:
            by_severity[severity] += count
        elif status == Status.INDETERMINATE.value:
            unknown_by_severity[severity] += count
        by_rule.setdefault(rule_id, Counter())[status] += count
    return {
        "by_status": by_status,
        "by_severity": by_severity,
        "indeterminate_by_severity": unknown_by_severity,
        "by_rule": {k: dict(sorted(v.items())) for k, v in sorted(by_rule.items())},
        "gate": {
            "fail_on": gate.fail_on.value if gate.fail_on else "none",
            "failing": gate.failing,
            "incomplete": gate.incomplete,
            "exit_code": gate.exit_code,
        },
    }


def inventory(model: Model, found: Sequence[InventoryCertificate]) -> dict[str, Any]:
    certs = []
    for c in found:
        days = None
        if c.expiry is not None:
            delta = c.expiry - model.as_of
            days = delta.days
        certs.append(
            {
                "kind": c.kind,
                "resource_id": c.subject_id,
                "name": c.name,
                "thumbprint": c.thumbprint,
                "subject": c.subject,
                "expiry": _iso(c.expiry) if c.expiry else None,
                "days_left": days,
                "source": c.source,
                "key_vault_ref": c.key_vault_ref,
                "refresh_status": c.refresh_status,
                "used_by": list(c.used_by),
            }
        )
    certs.sort(key=lambda c: (c["days_left"] is None, c["days_left"] or 0, c["name"]))
    return {"certificates": certs}


def build_evidence(
    model: Model,
    assessment: Assessment,
    gate: Gate,
    info: RunInfo,
    *,
    coverage: Sequence[Mapping[str, Any]] = (),
) -> dict[str, Any]:
    started, finished, run_id = run_times(info.started_at, info.finished_at)
    provenance = info.snapshot.get("provenance", {})
    origins = info.snapshot.get("origins", {}) or {}
    certificates = certificate_inventory(model)
    rule_pack = [rule_entry(r) for r in sorted(assessment.rules, key=lambda r: r.id)]
    entries = _Results(origins)
    results = [entries.entry(f) for f in assessment.findings]
    return {
        "schema": SCHEMA_ID,
        "tool": {"name": "mtls-audit", "version": __version__},
        "run": {
            "id": run_id,
            "started_at": _iso(started),
            "finished_at": _iso(finished),
            "as_of": _iso(model.as_of),
            "source": source_record(provenance),
            "scope": {"services": sorted(s.id for s in model.services)},
            "population": population(model, certificates),
            "options": {
                "fail_on": info.fail_on.value if info.fail_on else "none",
                "select": list(info.select),
                "ignore": list(info.ignore),
                "warning_days": info.options.warning_days,
                "notice_days": info.options.notice_days,
                "as_of": _iso(info.as_of) if info.as_of else None,
                "rule_dirs": list(info.rule_dirs),
                "disabled_packs": list(info.disabled_packs),
            },
            "rule_pack_sha256": digest(rule_pack),
        },
        "snapshot": {"sha256": info.snapshot_sha256, "schema": info.snapshot.get("schema")},
        "rule_pack": rule_pack,
        "results": results,
        "gaps": [dict(gap.raw) for gap in model.gaps],
        **(
            {"ignored_gaps": [dict(gap.raw) for gap in model.ignored_gaps]}
            if model.ignored_gaps
            else {}
        ),
        "errors": [
            {
                k: v
                for k, v in (
                    ("kind", e.kind),
                    ("rule_id", e.rule_id),
                    ("pack", e.pack),
                    ("message", e.message),
                )
                if v is not None
            }
            for e in assessment.errors
        ],
        "coverage": [dict(c) for c in coverage],
        # The live probe's attempts as recorded (tests of operating effectiveness), if any ran.
        **({"probe": info.snapshot["probe"]} if "probe" in info.snapshot else {}),
        "inventory": inventory(model, certificates),
        "summary": summary(results, gate),
    }
