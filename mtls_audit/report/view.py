"""The template context of the PDF/HTML report, built from an evidence document.

Everything the templates show is decided here (grouping, ordering, the top-N bounds), so the
templates only lay it out. Bounds keep the report readable and its rendering time flat on large
estates; the full populations stay in evidence.json, and every cut says how much it left out.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from mtls_audit.report import controls as ctl
from mtls_audit.report.reader import (
    FRAMEWORK_SHORT,
    SEVERITIES,
    STATUSES,
    Evidence,
    EvidenceLine,
    Verdict,
    check_evidence,
    clip,
    evidence_line,
    instance_label,
    location_text,
    natural_key,
    open_by_rule,
    remediation_steps,
    resource_name,
    result_counts,
    rules_by_id,
    service_ids,
    service_relative,
    severity_rank,
    status_rank,
    status_tally,
    verdict,
    waiver_summary,
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
    fair_share,
    filled,
)

DEFAULT_TOP_N = 25
# Subjects detailed across all failing rules; past it each rule shows fewer (never under
# MIN_SUBJECTS), so the findings grow with the number of failing rules, not with the estate.
SUBJECT_BUDGET = 60
MIN_SUBJECTS = 3
TOP_RISKS = 8
TABLE_LIMIT = 25
CERTIFICATE_LIMIT = 30
INPUT_LIMIT = 50
EVIDENCE_PER_FINDING = 2
OPTION_DEFAULTS = {"fail_on": "critical", "select": [], "ignore": [], "warning_days": 30}
RULE_FIELDS = ("slug", "lifecycle", "pack", "version")
SOURCE_LABELS = {
    "azure": "Live collection through the Azure Resource Manager and Key Vault APIs",
    "files": "Offline collection from exported resources and deployment templates",
    "sample": "The bundled sample snapshot (demonstration data, not a real estate)",
}


@dataclass(frozen=True)
class Risk:
    """A failing rule in plain words: how many subjects fail, and why that matters."""

    rule_id: str
    title: str
    severity: str
    counts: str
    why: Prose


@dataclass(frozen=True)
class CatalogueRow:
    rule: Mapping[str, Any]
    controls: Sequence[tuple[str, str]]


@dataclass(frozen=True)
class FindingRow:
    rule_id: str
    subject: str
    status: str
    severity: str
    message: str
    resource_id: str
    location: str | None
    evidence: Sequence[EvidenceLine]


@dataclass(frozen=True)
class RuleFindings:
    rule_id: str
    title: str
    severity: str
    summary: Prose
    rationale: Prose
    # (channel label, text, whether the text is code: every channel but the portal's)
    remediation: Sequence[tuple[str, str, bool]]
    controls: Sequence[tuple[str, str]]
    tally: Sequence[tuple[str, int]]
    rows: Bounded[FindingRow]


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
    verdict: Verdict
    evidence: Evidence
    services: Sequence[tuple[str, str]]
    source_label: str
    collected_at: str
    options: Mapping[str, Any]
    inputs: Bounded[str]
    packs: Sequence[tuple[str, int]]
    status_counts: Sequence[tuple[str, int]]
    severity_rows: Sequence[tuple[str, int, int]]
    control_tables: Sequence[ctl.ControlTable]
    families: Sequence[ctl.FrameworkFamilies]
    top_risks: Sequence[Risk]
    findings: Sequence[RuleFindings]
    coverage: CoverageView | None
    certificates: Bounded[CertificateRow]
    waived: Bounded[tuple[FindingRow, str]]
    waivers: Sequence[Sequence[tuple[str, str]]]
    trend: Sequence[TrendRow]
    population: Sequence[tuple[str, Any]]
    gaps: Bounded[dict[str, Any]]
    errors: Bounded[dict[str, Any]]
    catalogue: Sequence[CatalogueRow]
    top_n: int
    coverage_labels: Mapping[str, str]
    coverage_headers: Mapping[str, str]


def build_view(
    evidence: Evidence,
    *,
    evidence_sha256: str,
    title: str | None = None,
    top_n: int = DEFAULT_TOP_N,
) -> ReportView:
    check_evidence(evidence)
    run = evidence["run"]
    rules = rules_by_id(evidence)
    by_rule = _results_by_rule(evidence["results"])
    ranked = _ranked(open_by_rule(evidence["results"]))
    per_rule = fair_share([len(found) for _, found in ranked], SUBJECT_BUDGET, top_n, MIN_SUBJECTS)
    statuses = ctl.rule_statuses(
        evidence["rule_pack"], {rid: result_counts(rs) for rid, rs in by_rule.items()}
    )
    tables = ctl.control_tables(evidence["rule_pack"], statuses)
    instance = instance_label(evidence)
    services = service_ids(evidence)
    by_severity = evidence["summary"].get("by_severity", {})
    indeterminate = evidence["summary"].get("indeterminate_by_severity", {})
    by_status = result_counts(evidence["results"])
    waived = [r for r in evidence["results"] if r["status"] == "waived"][:TABLE_LIMIT]
    options = {**OPTION_DEFAULTS, **run.get("options", {})}
    return ReportView(
        title=title or f"Mutual TLS compliance assessment: {instance}",
        instance=instance,
        evidence_sha256=evidence_sha256,
        verdict=verdict(evidence),
        evidence=evidence,
        services=[(resource_name(sid), sid) for sid in services],
        source_label=SOURCE_LABELS.get(run["source"]["kind"], run["source"]["kind"]),
        collected_at=_at(run["source"].get("collected_at")),
        options=options,
        inputs=bounded(list(run["source"].get("inputs", [])), INPUT_LIMIT),
        packs=_packs(evidence["rule_pack"]),
        status_counts=[(s, by_status[s]) for s in STATUSES],
        severity_rows=[(s, by_severity.get(s, 0), indeterminate.get(s, 0)) for s in SEVERITIES],
        control_tables=tables,
        families=ctl.families(tables),
        top_risks=_top_risks(ranked, by_rule, rules),
        findings=_findings(ranked, by_rule, rules, per_rule, services),
        coverage=coverage_view(evidence.get("coverage", [])),
        certificates=certificate_rows(
            evidence.get("inventory", {}).get("certificates", []),
            options["warning_days"],
            CERTIFICATE_LIMIT,
        ),
        waived=Bounded(
            [(_finding_row(r, services), waiver_summary(r)) for r in waived],
            by_status["waived"] - len(waived),
        ),
        waivers=[_pairs(w) for w in evidence.get("waivers", [])],
        trend=_trend(evidence.get("trend", [])),
        population=[(k.replace("_", " ").capitalize(), v) for k, v in run["population"].items()],
        gaps=bounded_records(evidence.get("gaps", []), GAP_FIELDS, TABLE_LIMIT),
        errors=bounded_records(evidence.get("errors", []), ERROR_FIELDS, TABLE_LIMIT),
        catalogue=[
            CatalogueRow(filled(rule, RULE_FIELDS), _controls(rule.get("controls", {})))
            for rule in sorted(evidence["rule_pack"], key=lambda r: natural_key(r["id"]))
        ],
        top_n=per_rule,
        coverage_labels=COVERAGE_VERDICTS,
        coverage_headers=COVERAGE_HEADERS,
    )


def _results_by_rule(results: Sequence[Mapping[str, Any]]) -> dict[str, list[Mapping[str, Any]]]:
    grouped: dict[str, list[Mapping[str, Any]]] = {}
    for result in results:
        grouped.setdefault(result["rule_id"], []).append(result)
    return grouped


def _packs(rule_pack: Sequence[Mapping[str, Any]]) -> list[tuple[str, int]]:
    return sorted(Counter(str(rule.get("pack", "unknown")) for rule in rule_pack).items())


def _controls(controls: Mapping[str, Sequence[str]]) -> list[tuple[str, str]]:
    return [(FRAMEWORK_SHORT.get(fw, fw), ", ".join(ids)) for fw, ids in controls.items() if ids]


def _rule_order(item: tuple[str, list[Mapping[str, Any]]]) -> tuple[int, int, Any]:
    rule_id, found = item
    return (
        status_rank(found[0]["status"]),
        severity_rank(found[0]["severity"]),
        natural_key(rule_id),
    )


def _ranked(
    opened: Mapping[str, list[Mapping[str, Any]]],
) -> list[tuple[str, list[Mapping[str, Any]]]]:
    """Rules with open results, the most serious first, each rule's results worst first."""
    ranked = [
        (
            rule_id,
            sorted(found, key=lambda r: (status_rank(r["status"]), severity_rank(r["severity"]))),
        )
        for rule_id, found in opened.items()
    ]
    return sorted(ranked, key=_rule_order)


def _top_risks(
    ranked: Sequence[tuple[str, list[Mapping[str, Any]]]],
    by_rule: Mapping[str, list[Mapping[str, Any]]],
    rules: Mapping[str, Mapping[str, Any]],
) -> list[Risk]:
    risks = []
    for rule_id, found in ranked[:TOP_RISKS]:
        rule = rules.get(rule_id, {})
        counts = result_counts(by_rule[rule_id])
        assessed = sum(counts.values()) - counts["not_applicable"]
        parts = []
        if counts["fail"]:
            parts.append(f"{counts['fail']} of {assessed} assessed subjects fail")
        if counts["indeterminate"]:
            parts.append(f"{counts['indeterminate']} could not be determined")
        why = prose(rule.get("rationale") or rule.get("summary", ""))[:1]
        risks.append(
            Risk(
                rule_id,
                rule.get("title", rule_id),
                found[0]["severity"],
                "; ".join(parts) + ".",
                why,
            )
        )
    return risks


def _findings(
    ranked: Sequence[tuple[str, list[Mapping[str, Any]]]],
    by_rule: Mapping[str, list[Mapping[str, Any]]],
    rules: Mapping[str, Mapping[str, Any]],
    top_n: int,
    services: Sequence[str],
) -> list[RuleFindings]:
    sections = []
    for rule_id, found in ranked:
        rule = rules.get(rule_id, {})
        cited: set[EvidenceLine] = set()
        sections.append(
            RuleFindings(
                rule_id=rule_id,
                title=rule.get("title", rule_id),
                severity=found[0]["severity"],
                summary=prose(rule.get("summary", "")),
                rationale=prose(rule.get("rationale", "")),
                remediation=[
                    (label, text, channel != "portal")
                    for channel, label, text in remediation_steps(rule)
                ],
                controls=_controls(rule.get("controls", {})),
                tally=status_tally(result_counts(by_rule[rule_id])),
                rows=Bounded(
                    [_finding_row(r, services, cited) for r in found[:top_n]],
                    max(0, len(found) - top_n),
                ),
            )
        )
    return sections


def _finding_row(
    result: Mapping[str, Any], services: Sequence[str], cited: set[EvidenceLine] | None = None
) -> FindingRow:
    """A result as the report lists it; resource ids are shown relative to their service.

    A citation leaves out its resource id when it is the result's own, or when it names a policy
    scope (``api:billing``), which identifies the policy document. A citation already in
    ``cited`` (shown for an earlier subject of the same rule) keeps its place but not its
    excerpt; ``cited`` grows with what is shown.
    """
    resource_id = service_relative(result["resource_id"], services)
    lines = []
    for item in result.get("evidence", [])[:EVIDENCE_PER_FINDING]:
        owner = "" if item.get("scope") else service_relative(item.get("resource_id", ""), services)
        line = replace(evidence_line(item), resource_id="" if owner == resource_id else owner)
        if cited is not None:
            if line in cited:
                line = replace(line, place=f"{line.place} (excerpt as above)", detail="")
            else:
                cited.add(line)
        lines.append(line)
    return FindingRow(
        rule_id=result["rule_id"],
        subject=result.get("subject") or resource_name(result["resource_id"]),
        status=result["status"],
        severity=result["severity"],
        message=result["message"],
        resource_id=resource_id,
        location=location_text(result),
        evidence=lines,
    )


Prose = Sequence[Sequence[tuple[str, bool]]]


def prose(text: str) -> list[list[tuple[str, bool]]]:
    """Rule text as paragraphs (split at blank lines) of (text, is_literal) runs.

    Rule docs mark literals with double backticks; the templates show those runs as code.
    """
    paragraphs = [" ".join(part.split()) for part in text.split("\n\n") if part.strip()]
    return [
        [(run, index % 2 == 1) for index, run in enumerate(par.split("``")) if run]
        for par in paragraphs
    ]


def _at(moment: str | None) -> str:
    return f"at {moment}" if moment else "at an unrecorded time"


def _pairs(record: Mapping[str, Any]) -> list[tuple[str, str]]:
    def text(value: Any) -> str:
        return ", ".join(map(str, value)) if isinstance(value, list) else str(value)

    return [
        (key.replace("_", " ").capitalize(), clip(text(value), 400))
        for key, value in record.items()
    ]


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
