"""The template context of the PDF/HTML report, built from an evidence document.

Everything the templates show is decided here and in :mod:`mtls_audit.report.findings`
(grouping, ordering, the top-N bounds), so the templates only lay it out. Bounds keep the report
readable and its rendering time flat on large estates; the full populations stay in
evidence.json, and every cut says how much it left out.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from mtls_audit.evidence.causes import distinct
from mtls_audit.evidence.headline import headline
from mtls_audit.evidence.reader import (
    STATUSES,
    Evidence,
    Verdict,
    check_evidence,
    instance_label,
    natural_key,
    open_by_rule,
    resource_name,
    result_counts,
    rules_by_id,
    service_ids,
    verdict,
    waiver_summary,
)
from mtls_audit.report import controls as ctl
from mtls_audit.report.findings import (
    DEFAULT_TOP_N,
    FindingRow,
    Risk,
    RuleFindings,
    control_pairs,
    finding_row,
    ranked,
    rule_findings,
    subjects_per_rule,
    top_risks,
)
from mtls_audit.report.issues import ExceptionRow, Issue, distinct_first, exception_rows, issues
from mtls_audit.report.pictures import Pictures, pictures
from mtls_audit.report.scope import (
    PopulationRow,
    WaiverRow,
    limitations,
    option_rows,
    population_rows,
    provenance_rows,
    snapshot_age,
    waiver_rows,
)
from mtls_audit.report.tables import (
    COVERAGE_HEADERS,
    COVERAGE_VERDICTS,
    ERROR_FIELDS,
    GAP_FIELDS,
    Bounded,
    CertificateRow,
    CoverageView,
    bounded,
    bounded_records,
    certificate_rows,
    coverage_view,
    filled,
)
from mtls_audit.vocabulary import SEVERITIES

TABLE_LIMIT = 25
CERTIFICATE_LIMIT = 30
INPUT_LIMIT = 50
OPTION_DEFAULTS = {"fail_on": "critical", "select": [], "ignore": [], "warning_days": 30}
RULE_FIELDS = ("slug", "lifecycle", "pack", "version")
SOURCE_LABELS = {
    "azure": "Live collection through the Azure Resource Manager and Key Vault APIs",
    "files": "Offline collection from exported resources and deployment templates",
    "sample": "The bundled sample snapshot (demonstration data, not a real estate)",
}


@dataclass(frozen=True)
class CatalogueRow:
    rule: Mapping[str, Any]
    controls: Sequence[tuple[str, str]]


@dataclass(frozen=True)
class TrendRow:
    """One scheduled run in the trend: failing results by severity (in SEVERITIES order)."""

    started_at: str
    failing: Sequence[int]
    total: int
    waived: int
    exit_code: int
    current: bool


@dataclass(frozen=True)
class ReportView:
    title: str
    instance: str
    evidence_sha256: str
    headline: str  # what was found, the same whatever the gate
    verdict: Verdict  # the gate's outcome, a line of its own
    evidence: Evidence
    services: Sequence[tuple[str, str]]
    source_label: str
    collected_at: str
    endpoints_note: str | None  # set when the evidence was not collected from a known cloud
    options: Mapping[str, Any]
    inputs: Bounded[tuple[str, str | None]]  # path and SHA-256, when recorded
    packs: Sequence[tuple[str, int]]
    status_counts: Sequence[tuple[str, int]]
    severity_rows: Sequence[tuple[str, int, int]]
    control_tests: Sequence[ctl.FrameworkTests]
    reasons: Sequence[ctl.Reason]
    issues: Bounded[Issue]
    issue_counts: tuple[int, int]  # distinct causes and subjects of the open results
    exception_list: Bounded[ExceptionRow]
    top_risks: Sequence[Risk]
    findings: Sequence[RuleFindings]
    coverage: CoverageView | None
    certificates: Bounded[CertificateRow]
    waived: Bounded[tuple[FindingRow, str]]
    waivers: Sequence[WaiverRow]
    trend: Sequence[TrendRow]
    population: Sequence[PopulationRow]
    provenance: Sequence[tuple[str, str]]
    option_rows: Sequence[tuple[str, str]]
    limitations: Sequence[str]
    snapshot_age: str | None  # set when the snapshot is a day or more older than the report
    gaps: Bounded[dict[str, Any]]
    errors: Bounded[dict[str, Any]]
    catalogue: Sequence[CatalogueRow]
    top_n: int  # subjects shown per failing rule at most
    # The PDF: no rule summary (the title says it), and only the portal and policy fixes.
    printed: bool
    coverage_labels: Mapping[str, str]
    coverage_headers: Mapping[str, str]
    pictures: Pictures


def endpoints_note(source: Mapping[str, Any]) -> str | None:
    """Where a live collection read and signed in, when that is not a known cloud's endpoints:
    evidence from a private cloud (or a test double) must not pass for evidence from Azure."""
    endpoints = source.get("endpoints")
    if not isinstance(endpoints, Mapping) or endpoints.get("standard") is not False:
        return None
    return (
        f"non-standard endpoints: ARM {endpoints.get('arm')}, "
        f"authority {endpoints.get('authority')}"
    )


def build_view(
    evidence: Evidence,
    *,
    evidence_sha256: str,
    title: str | None = None,
    top_n: int = DEFAULT_TOP_N,
    printed: bool = False,
) -> ReportView:
    check_evidence(evidence)
    run = evidence["run"]
    rules = rules_by_id(evidence)
    by_rule = _results_by_rule(evidence["results"])
    worst_first = [
        (rid, distinct_first(rs)) for rid, rs in ranked(open_by_rule(evidence["results"]))
    ]
    per_rule = subjects_per_rule(worst_first, top_n)
    opened = [r for r in evidence["results"] if r["status"] in ("fail", "indeterminate")]
    instance = instance_label(evidence)
    services = service_ids(evidence)
    by_severity = evidence["summary"].get("by_severity", {})
    indeterminate = evidence["summary"].get("indeterminate_by_severity", {})
    by_status = result_counts(evidence["results"])
    waived = [r for r in evidence["results"] if r["status"] == "waived"][:TABLE_LIMIT]
    options = {**OPTION_DEFAULTS, **run.get("options", {})}
    coverage = coverage_view(evidence.get("coverage", []))
    certificates = certificate_rows(
        evidence.get("inventory", {}).get("certificates", []),
        options["warning_days"],
        CERTIFICATE_LIMIT,
        str(run.get("as_of") or ""),
    )
    trend = _trend(evidence.get("trend", []))
    return ReportView(
        title=title or f"Mutual TLS compliance assessment: {instance}",
        instance=instance,
        evidence_sha256=evidence_sha256,
        headline=headline(evidence),
        verdict=verdict(evidence),
        evidence=evidence,
        services=[(resource_name(sid), sid) for sid in services],
        source_label=SOURCE_LABELS.get(run["source"]["kind"], run["source"]["kind"]),
        collected_at=_at(run["source"].get("collected_at")),
        endpoints_note=endpoints_note(run["source"]),
        options=options,
        inputs=bounded(_inputs(run["source"]), INPUT_LIMIT),
        packs=_packs(evidence["rule_pack"]),
        status_counts=[(s, by_status[s]) for s in STATUSES],
        severity_rows=[(s, by_severity.get(s, 0), indeterminate.get(s, 0)) for s in SEVERITIES],
        control_tests=ctl.control_tests(evidence["rule_pack"], by_rule),
        reasons=ctl.reasons(evidence["rule_pack"]),
        issues=issues(opened, services),
        issue_counts=distinct(opened),
        exception_list=exception_rows(evidence["results"], services),
        top_risks=top_risks(worst_first, by_rule, rules),
        findings=rule_findings(worst_first, by_rule, rules, per_rule, services),
        coverage=coverage,
        certificates=certificates,
        waived=Bounded(
            [(finding_row(r, services), waiver_summary(r)) for r in waived],
            by_status["waived"] - len(waived),
        ),
        waivers=waiver_rows(evidence.get("waivers", [])),
        trend=trend,
        population=population_rows(run["population"]),
        provenance=provenance_rows(evidence),
        option_rows=option_rows(evidence),
        limitations=limitations(evidence),
        snapshot_age=snapshot_age(evidence),
        gaps=bounded_records(evidence.get("gaps", []), GAP_FIELDS, TABLE_LIMIT),
        errors=bounded_records(evidence.get("errors", []), ERROR_FIELDS, TABLE_LIMIT),
        catalogue=[
            CatalogueRow(filled(rule, RULE_FIELDS), control_pairs(rule.get("controls", {})))
            for rule in sorted(evidence["rule_pack"], key=lambda r: natural_key(r["id"]))
        ],
        top_n=per_rule,
        printed=printed,
        coverage_labels=COVERAGE_VERDICTS,
        coverage_headers=COVERAGE_HEADERS,
        pictures=pictures(
            evidence["results"],
            coverage,
            certificates,
            [(row.started_at, row.failing) for row in trend],
            options["warning_days"],
            str(run.get("as_of", "")),
        ),
    )


def _results_by_rule(results: Sequence[Mapping[str, Any]]) -> dict[str, list[Mapping[str, Any]]]:
    grouped: dict[str, list[Mapping[str, Any]]] = {}
    for result in results:
        grouped.setdefault(result["rule_id"], []).append(result)
    return grouped


def _packs(rule_pack: Sequence[Mapping[str, Any]]) -> list[tuple[str, int]]:
    return sorted(Counter(str(rule.get("pack", "unknown")) for rule in rule_pack).items())


def _at(moment: str | None) -> str:
    return f"at {moment}" if moment else "at an unrecorded time"


def _inputs(source: Mapping[str, Any]) -> list[tuple[str, str | None]]:
    digests = source.get("input_sha256") or {}
    return [(str(path), digests.get(path)) for path in source.get("inputs", [])]


def _trend(points: Sequence[Mapping[str, Any]]) -> list[TrendRow]:
    """The runs of the trend, oldest first; the last one is this assessment."""
    rows = []
    for position, point in enumerate(points, start=1):
        failing = [int(point.get("by_severity", {}).get(s, 0)) for s in SEVERITIES]
        rows.append(
            TrendRow(
                started_at=str(point.get("started_at", "")),
                failing=failing,
                total=sum(failing),
                waived=int(point.get("by_status", {}).get("waived", 0)),
                exit_code=int(point.get("exit_code", 0)),
                current=position == len(points),
            )
        )
    return rows
