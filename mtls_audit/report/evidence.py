"""The evidence document (``mtls-audit/evidence/v1``): what an assessment concluded."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from mtls_audit import __version__
from mtls_audit.engine.results import Severity, Status
from mtls_audit.engine.rule import DOC_SECTIONS, Options, Rule
from mtls_audit.engine.runner import Assessment, Finding, Gate, rule_controls
from mtls_audit.engine.subjects import Certificate, Snapshot
from mtls_audit.evidence.causes import OPEN_STATUSES, cause_id
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


def _location(
    finding: Finding, origins: Mapping[str, Any], places: dict[str, dict[str, Any] | None]
) -> dict[str, Any] | None:
    """Where the result's subject, else the first resource its evidence cites, is written;
    ``places`` keeps each resource's place once (many results name one resource)."""
    if not origins:
        return None
    result = finding.result
    for rid in (result.subject, *(e.resource_id for e in result.evidence)):
        found = places[rid] if rid in places else places.setdefault(rid, _place(rid, origins))
        if found is not None:
            return dict(found)
    return None


def _place(rid: str, origins: Mapping[str, Any]) -> dict[str, Any] | None:
    origin = origins.get(ids.key(rid))
    if not isinstance(origin, Mapping) or not origin.get("file"):
        return None
    found = {"file": origin["file"], "line": int(origin.get("line") or 1)}
    if isinstance(origin.get("address"), str):  # a Terraform resource address
        found["address"] = origin["address"]
    return found


def result_entry(
    finding: Finding,
    origins: Mapping[str, Any],
    controls: dict[str, dict[str, list[str]]] | None = None,
    places: dict[str, dict[str, Any] | None] | None = None,
) -> dict[str, Any]:
    """A result as the evidence lists it; ``controls`` keeps each rule's controls once, for
    every result of the rule to share (the document is never changed in place), ``places``
    each resource's place in the files read."""
    result = finding.result
    rule_id = finding.rule.id
    mapped = None if controls is None else controls.get(rule_id)
    if mapped is None:
        mapped = {k: list(v) for k, v in rule_controls(finding.rule).items()}
        if controls is not None:
            controls[rule_id] = mapped
    entry: dict[str, Any] = {
        "rule_id": rule_id,
        "slug": finding.rule.slug,
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
        entry["cause"] = cause_id(entry)
    location = _location(finding, origins, {} if places is None else places)
    if location:
        entry["location"] = location
    return entry


def summary(findings: Sequence[Finding], gate: Gate) -> dict[str, Any]:
    by_status = {s.value: 0 for s in Status}
    by_severity = {s.value: 0 for s in Severity}
    unknown_by_severity = {s.value: 0 for s in Severity}
    by_rule: dict[str, Counter[str]] = {}
    # Counted by kind first: a few hundred kinds for tens of thousands of findings.
    kinds = Counter((f.rule.id, f.result.status, f.severity) for f in findings)
    for (rule_id, status, severity), count in kinds.items():
        by_status[status.value] += count
        if status is Status.FAIL:
            by_severity[severity.value] += count
        elif status is Status.INDETERMINATE:
            unknown_by_severity[severity.value] += count
        by_rule.setdefault(rule_id, Counter())[status.value] += count
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
    controls: dict[str, dict[str, list[str]]] = {}
    places: dict[str, dict[str, Any] | None] = {}
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
        "results": [result_entry(f, origins, controls, places) for f in assessment.findings],
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
        "summary": summary(assessment.findings, gate),
    }
