"""The findings of the report: failing and indeterminate results per rule, worst first, bounded.

Each failing rule is told once, with its text (what it checks, why it matters, how to fix it in
every channel) and its worst subjects. The subjects shown share one budget across the rules, so
that the findings grow with the number of failing rules, not with the size of the estate; every
cut says how much it left out, and evidence.json keeps every result.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from mtls_audit.evidence.reader import (
    FRAMEWORK_SHORT,
    EvidenceLine,
    evidence_line,
    location_text,
    natural_key,
    remediation_steps,
    resource_name,
    result_counts,
    service_relative,
    severity_rank,
    status_rank,
    status_tally,
)
from mtls_audit.report.tables import Bounded, fair_share
from mtls_audit.wording import plain

DEFAULT_TOP_N = 25
# Subjects detailed across all failing rules; past it each rule shows fewer, never under
# MIN_SUBJECTS.
SUBJECT_BUDGET = 60
MIN_SUBJECTS = 2
TOP_RISKS = 8
EVIDENCE_PER_FINDING = 2
PRINTED_CHANNELS = ("portal", "policy")

Results = list[Mapping[str, Any]]
Prose = Sequence[Sequence[tuple[str, bool]]]


@dataclass(frozen=True)
class Risk:
    """A failing rule in plain words: how many subjects fail, and why that matters."""

    rule_id: str
    title: str
    severity: str
    counts: str
    why: Prose


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
class Remedy:
    """One channel of a rule's fix. The PDF prints the portal step and the policy change; the
    deployment forms (CLI, ARM, Terraform) are in the HTML report and the embedded evidence."""

    label: str
    text: str
    channel: str

    @property
    def code(self) -> bool:
        return self.channel != "portal"

    @property
    def printed(self) -> bool:
        return self.channel in PRINTED_CHANNELS


@dataclass(frozen=True)
class RuleFindings:
    rule_id: str
    title: str
    severity: str
    summary: Prose
    rationale: Prose
    remediation: Sequence[Remedy]
    controls: Sequence[tuple[str, str]]
    tally: Sequence[tuple[str, int]]
    rows: Bounded[FindingRow]


def ranked(opened: Mapping[str, Results]) -> list[tuple[str, Results]]:
    """Rules with open results, the most serious first, each rule's results worst first."""
    ordered = [
        (rule_id, sorted(found, key=lambda r: (status_rank(r["status"]), _severity(r))))
        for rule_id, found in opened.items()
    ]
    return sorted(ordered, key=lambda item: (*_worst(item[1]), natural_key(item[0])))


def subjects_per_rule(ranked_rules: Sequence[tuple[str, Results]], top_n: int) -> int:
    """How many subjects each rule shows: ``top_n`` until the budget is spent, then fewer."""
    sizes = [len(found) for _, found in ranked_rules]
    return fair_share(sizes, SUBJECT_BUDGET, top_n, min(MIN_SUBJECTS, top_n))


def top_risks(
    ranked_rules: Sequence[tuple[str, Results]],
    by_rule: Mapping[str, Results],
    rules: Mapping[str, Mapping[str, Any]],
) -> list[Risk]:
    risks = []
    for rule_id, found in ranked_rules[:TOP_RISKS]:
        rule = rules.get(rule_id, {})
        counts = result_counts(by_rule[rule_id])
        assessed = sum(counts.values()) - counts["not_applicable"]
        parts = []
        if counts["fail"]:
            parts.append(f"{counts['fail']} of {assessed} assessed subjects fail")
        if counts["indeterminate"]:
            parts.append(f"{counts['indeterminate']} could not be determined")
        why = prose(rule.get("rationale") or rule.get("summary", ""))[:1]
        title = rule.get("title", rule_id)
        risks.append(Risk(rule_id, title, found[0]["severity"], "; ".join(parts) + ".", why))
    return risks


def rule_findings(
    ranked_rules: Sequence[tuple[str, Results]],
    by_rule: Mapping[str, Results],
    rules: Mapping[str, Mapping[str, Any]],
    top_n: int,
    services: Sequence[str],
) -> list[RuleFindings]:
    sections = []
    for rule_id, found in ranked_rules:
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
                    Remedy(label, text, channel) for channel, label, text in remediation_steps(rule)
                ],
                controls=control_pairs(rule.get("controls", {})),
                tally=status_tally(result_counts(by_rule[rule_id])),
                rows=Bounded(
                    [finding_row(r, services, cited) for r in found[:top_n]],
                    max(0, len(found) - top_n),
                ),
            )
        )
    return sections


def finding_row(
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


def control_pairs(controls: Mapping[str, Sequence[str]]) -> list[tuple[str, str]]:
    """A rule's controls as (framework short name, comma-separated ids)."""
    return [(FRAMEWORK_SHORT.get(fw, fw), ", ".join(ids)) for fw, ids in controls.items() if ids]


def prose(text: str) -> list[list[tuple[str, bool]]]:
    """Rule text as paragraphs (split at blank lines) of (text, is_literal) runs.

    Rule docs mark literals with double backticks; the templates quote those runs. Any other
    inline markup (single backticks, reST roles, emphasis) is made plain.
    """
    paragraphs = [" ".join(part.split()) for part in text.split("\n\n") if part.strip()]
    return [
        [
            (run if index % 2 else plain(run), index % 2 == 1)
            for index, run in enumerate(par.split("``"))
            if run
        ]
        for par in paragraphs
    ]


def _severity(result: Mapping[str, Any]) -> int:
    return severity_rank(result["severity"])


def _worst(found: Results) -> tuple[int, int]:
    return status_rank(found[0]["status"]), _severity(found[0])
