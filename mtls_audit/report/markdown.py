"""A short Markdown summary for CI job summaries and pull-request comments.

Every string taken from the evidence is escaped for Markdown and HTML, since hosts such as GitHub
render both: a resource named ``**x** <img src=…>`` shows as those characters, not as markup.
Control and invisible characters are shown as escapes.

A pull-request comment is read in the conversation, so a table longer than ``FOLD_ROWS`` rows is
folded in a ``<details>`` block that opens on a click, and the summary holds no link: a relative
link resolves against the pull request's page, not the CI run's files, so the files written
beside the summary are named instead.
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence

from mtls_audit.evidence.headline import headline
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
    visible,
)
from mtls_audit.report.rule_text import code_span, plain_text
from mtls_audit.vocabulary import SEVERITIES
from mtls_audit.wording import plural

SUBJECTS_PER_RULE = 3
FOLD_ROWS = 10


def render_markdown(evidence: Evidence, *, report_files: Mapping[str, str] | None = None) -> str:
    """The summary: verdict, counts, failing rules, gaps and errors, and the report files (by
    label) written beside it."""
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
        f"**{md_escape(headline(evidence))}**",
        "",
        f"CI gate: {md_escape(outcome.sentence)}",
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
    if report_files:
        files = ", ".join(
            f"{md_escape(label)} {code_span(name)}" for label, name in report_files.items()
        )
        lines += ["", f"Reports, in the output folder beside this summary: {files}."]
    return "\n".join(lines) + "\n"


def folded(summary: str, table: Sequence[str]) -> list[str]:
    """A table (header, rule, rows) as lines, in a closed ``<details>`` block when it is long."""
    if len(table) - 2 <= FOLD_ROWS:
        return list(table)
    shown = html.escape(visible(summary), quote=False)
    return [f"<details><summary>{shown}</summary>", "", *table, "", "</details>"]


def _failing_rules(evidence: Evidence) -> list[str]:
    rules = rules_by_id(evidence)
    grouped = open_by_rule(evidence["results"])
    if not grouped:
        return ["No rule failed and no result was indeterminate.", ""]
    worst = {
        rid: min((r["severity"] for r in rs), key=severity_rank) for rid, rs in grouped.items()
    }
    order = sorted(grouped, key=lambda rid: (severity_rank(worst[rid]), natural_key(rid)))
    table = [
        "| Rule | Title | Failed | Indeterminate | Worst severity | Subjects |",
        "|---|---|---:|---:|---|---|",
    ]
    for rule_id in order:
        found = grouped[rule_id]
        counts = result_counts(found)
        names = list(dict.fromkeys(str(r.get("subject") or r["resource_id"]) for r in found))
        subjects = ", ".join(md_escape(name) for name in names[:SUBJECTS_PER_RULE])
        if len(names) > SUBJECTS_PER_RULE:
            subjects += f" and {len(names) - SUBJECTS_PER_RULE} more"
        title = md_escape(plain_text(str(rules.get(rule_id, {}).get("title", ""))))
        table.append(
            f"| {md_escape(rule_id)} | {title} | {counts['fail']} | {counts['indeterminate']} "
            f"| {worst[rule_id]} | {subjects} |"
        )
    summary = f"{len(order)} rules with failed or indeterminate results"
    return ["### Failing rules", "", *folded(summary, table), ""]


def _evidence_line(evidence: Evidence) -> str:
    gaps, errors = len(evidence.get("gaps", [])), len(evidence.get("errors", []))
    if not gaps and not errors:
        return "**Evidence:** complete (no gap, no run-level error)."
    return (
        f"**Evidence:** {plural(gaps, 'gap')}, {plural(errors, 'run-level error')}: conclusions "
        "about the "
        "parts concerned are not supported; see the report's methodology section."
    )
