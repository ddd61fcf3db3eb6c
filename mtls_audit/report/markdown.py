"""A short Markdown summary for CI job summaries and pull-request comments.

Every string taken from the evidence is escaped for Markdown and HTML, since hosts such as GitHub
render both: a resource named ``**x** <img src=…>`` shows as those characters, not as markup.
Control and invisible characters are shown as escapes.
"""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import quote

from mtls_audit.evidence.reader import (
    STATUS_LABELS,
    STATUSES,
    Evidence,
    check_evidence,
    instance_label,
    md_escape,
    natural_key,
    open_by_rule,
    result_counts,
    rules_by_id,
    severity_rank,
    verdict,
)
from mtls_audit.vocabulary import SEVERITIES

SUBJECTS_PER_RULE = 3


def render_markdown(evidence: Evidence, *, report_links: Mapping[str, str] | None = None) -> str:
    """The summary: verdict, counts, failing rules, gaps and errors, links to the reports."""
    check_evidence(evidence)
    outcome = verdict(evidence)
    run, summary = evidence["run"], evidence["summary"]
    counts = result_counts(evidence["results"])
    lines = [
        f"## mtls-audit: {outcome.label}",
        "",
        f"**{md_escape(instance_label(evidence))}** · as of {md_escape(run['as_of'])} · "
        f"mtls-audit {md_escape(evidence['tool']['version'])}",
        "",
        md_escape(outcome.sentence),
        "",
        "| Status | Results |",
        "|---|---:|",
        *(f"| {STATUS_LABELS[s]} | {counts[s]} |" for s in STATUSES),
        "",
        "| Severity | Failed | Indeterminate |",
        "|---|---:|---:|",
        *(
            f"| {s} | {summary['by_severity'].get(s, 0)} | "
            f"{summary.get('indeterminate_by_severity', {}).get(s, 0)} |"
            for s in SEVERITIES
        ),
        "",
        *_failing_rules(evidence),
        _evidence_line(evidence),
    ]
    if report_links:
        links = " · ".join(
            f"[{md_escape(name)}]({quote(path, safe='/.-_~')})"
            for name, path in report_links.items()
        )
        lines += ["", f"Reports: {links}"]
    return "\n".join(lines) + "\n"


def _failing_rules(evidence: Evidence) -> list[str]:
    rules = rules_by_id(evidence)
    grouped = open_by_rule(evidence["results"])
    if not grouped:
        return ["No rule failed and no result was indeterminate.", ""]
    worst = {
        rid: min((r["severity"] for r in rs), key=severity_rank) for rid, rs in grouped.items()
    }
    order = sorted(grouped, key=lambda rid: (severity_rank(worst[rid]), natural_key(rid)))
    lines = [
        "### Failing rules",
        "",
        "| Rule | Title | Failed | Indeterminate | Worst severity | Subjects |",
        "|---|---|---:|---:|---|---|",
    ]
    for rule_id in order:
        found = grouped[rule_id]
        counts = result_counts(found)
        names = [md_escape(str(r.get("subject") or r["resource_id"])) for r in found]
        subjects = ", ".join(names[:SUBJECTS_PER_RULE])
        if len(names) > SUBJECTS_PER_RULE:
            subjects += f" and {len(names) - SUBJECTS_PER_RULE} more"
        title = md_escape(str(rules.get(rule_id, {}).get("title", "")))
        lines.append(
            f"| {md_escape(rule_id)} | {title} | {counts['fail']} | {counts['indeterminate']} "
            f"| {worst[rule_id]} | {subjects} |"
        )
    return [*lines, ""]


def _evidence_line(evidence: Evidence) -> str:
    gaps, errors = len(evidence.get("gaps", [])), len(evidence.get("errors", []))
    if not gaps and not errors:
        return "**Evidence:** complete (no gap, no run-level error)."
    return (
        f"**Evidence:** {gaps} gap(s), {errors} run-level error(s): conclusions about the "
        "parts concerned are not supported; see the report's methodology section."
    )
