"""``mtls-audit dashboard``: the run history as a static site, for auditors and CISOs.

Read from the history (every target's runs) and from each target's latest evidence (found under
the reports root, where the schedule wrote it): every instance with its latest verdict, the
distinct failing rules across the estate, coverage of operations by client-certificate checks,
the certificates that expire soonest, and trend charts over the runs. Each instance's latest
report files are copied beside its page, so that the folder can be published as it is; nothing
in it refers to anything outside it (no script, no font or style from elsewhere).
"""

from __future__ import annotations

import json
import shutil
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from mtls_audit.audit.history import History, RunRecord
from mtls_audit.certs.times import full_days
from mtls_audit.evidence.charts import Chart, trend_chart
from mtls_audit.evidence.reader import verdict
from mtls_audit.output_files import prepare_folder, write_text
from mtls_audit.resources import bundled_dir
from mtls_audit.vocabulary import SEVERITIES

REPORT_FILES = (
    ("HTML report", "report.html"),
    ("PDF report", "report.pdf"),
    ("Evidence (JSON)", "evidence.json"),
    ("Summary (Markdown)", "summary.md"),
    ("SARIF", "results.sarif"),
    ("Discovery (JSON)", "discovery.json"),
)
SOONEST = 20  # certificates listed on the front page
_SEVERITY_ORDER = {severity: rank for rank, severity in enumerate(SEVERITIES)}


@dataclass(frozen=True)
class Certificate:
    instance: str
    name: str
    subject: str
    expiry: str
    days_left: int  # rounded down, as the evidence counts: orders and marks the expired
    full_days: int  # rounded down either way, as the findings count: printed


@dataclass
class Issue:
    rule_id: str
    title: str
    severity: str
    instances: set[str] = field(default_factory=set)
    findings: int = 0


@dataclass(frozen=True)
class Instance:
    target: str
    latest: RunRecord
    label: str  # the verdict the reports state, or ERROR
    kind: str  # fail, pass, incomplete, error…: the style of the label
    services: tuple[str, ...]
    coverage: tuple[int, int] | None  # operations validated, operations
    certificates: tuple[Certificate, ...]
    findings: tuple[Mapping[str, Any], ...]  # failing results of the latest run
    reports: tuple[tuple[str, str], ...]  # (label, link relative to the site)
    runs: tuple[RunRecord, ...]
    chart: Chart | None
    note: str | None  # why the latest evidence could not be read


def build_site(
    history: History, reports_root: Path, out: Path, *, as_of: datetime | None = None
) -> list[Path]:
    """Write the site into ``out``; returns the pages written."""
    from mtls_audit.evidence.templates import environment

    moment = as_of or datetime.now(UTC)
    by_target: dict[str, list[RunRecord]] = defaultdict(list)
    for record in history.runs():
        by_target[record.target].append(record)
    prepare_folder(out)
    instances = [
        _instance(target, runs, reports_root, out, moment)
        for target, runs in sorted(by_target.items(), key=lambda item: item[0].lower())
    ]
    issues = _issues(instances)
    certificates = sorted(
        (c for i in instances for c in i.certificates), key=lambda c: (c.days_left, c.instance)
    )
    env = environment()
    context = {
        "generated_at": moment.strftime("%Y-%m-%d %H:%M UTC"),
        "history": history.shown,
        "instances": instances,
        "issues": issues,
        "certificates": certificates[:SOONEST],
        "coverage": _coverage(instances),
        "counts": _counts(instances),
        "estate_chart": _estate_chart(by_target),
    }
    pages = [out / "index.html"]
    write_text(pages[0], env.get_template("dashboard/index.html").render(root="", **context))
    template = env.get_template("dashboard/instance.html")
    for instance in instances:
        page = out / "instances" / f"{instance.target}.html"
        write_text(page, template.render(i=instance, root="../", **context))
        pages.append(page)
    shutil.copyfile(
        bundled_dir("report_templates") / "dashboard" / "dashboard.css", out / "dashboard.css"
    )
    return pages


def _instance(
    target: str, runs: list[RunRecord], root: Path, out: Path, moment: datetime
) -> Instance:
    latest = runs[-1]
    evidence, note = _evidence(latest, root)
    reports = _copy_reports(target, latest, root, out)
    assessed = [r for r in runs if r.run_id is not None]
    chart = trend_chart(
        f"Failing results of {target} over its runs",
        [r.started_at for r in assessed],
        [r.by_severity for r in assessed],
    )
    if evidence is None:
        label = "ERROR" if latest.error else "NO EVIDENCE"
        if latest.run_id is None and latest.error is None:
            label = "DISCOVERED"
        return Instance(
            target, latest, label, "error" if latest.error else "none", (), None, (), (),
            reports, tuple(runs), chart, note,
        )  # fmt: skip
    stated = verdict(evidence)
    rows = evidence.get("coverage") or []
    coverage = (
        (sum(1 for r in rows if r.get("verdict") == "validated"), len(rows)) if rows else None
    )
    findings = tuple(
        sorted(
            (r for r in evidence.get("results", []) if r.get("status") == "fail"),
            key=lambda r: (_SEVERITY_ORDER.get(r.get("severity", ""), 9), r.get("rule_id", "")),
        )
    )
    return Instance(
        target=target,
        latest=latest,
        label=stated.label,
        kind=stated.outcome,
        services=tuple(evidence.get("run", {}).get("scope", {}).get("services", [])),
        coverage=coverage,
        certificates=_certificates(target, evidence, moment),
        findings=findings,
        reports=reports,
        runs=tuple(runs),
        chart=chart,
        note=note,
    )


def _evidence(record: RunRecord, root: Path) -> tuple[dict[str, Any] | None, str | None]:
    if not record.evidence_path or record.run_id is None:
        return None, None
    path = root / record.evidence_path
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        return None, f"the latest evidence could not be read ({path}: {exc})"
    if not isinstance(document, dict) or "summary" not in document:
        return None, f"the latest evidence is not an evidence document ({path})"
    return document, None


def _copy_reports(
    target: str, record: RunRecord, root: Path, out: Path
) -> tuple[tuple[str, str], ...]:
    """The latest run's report files, copied to ``instances/<target>/``; their links."""
    if not record.evidence_path:
        return ()
    folder = (root / record.evidence_path).parent
    links = []
    for label, name in REPORT_FILES:
        source = folder / name
        if source.is_file() and not source.is_symlink():
            copy = out / "instances" / target / name
            copy.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, copy)
            links.append((label, f"{target}/{name}"))
    return tuple(links)


def _certificates(
    target: str, evidence: Mapping[str, Any], moment: datetime
) -> tuple[Certificate, ...]:
    found = []
    for entry in (evidence.get("inventory") or {}).get("certificates", []):
        expiry = entry.get("expiry")
        if not isinstance(expiry, str):
            continue
        try:
            when = datetime.fromisoformat(expiry.replace("Z", "+00:00"))
        except ValueError:
            continue
        name, subject = str(entry.get("name") or ""), str(entry.get("subject") or "–")
        days = (when - moment).days
        found.append(Certificate(target, name, subject, expiry, days, full_days(when, moment)))
    return tuple(sorted(found, key=lambda c: c.days_left))


def _issues(instances: Sequence[Instance]) -> list[Issue]:
    issues: dict[str, Issue] = {}
    for instance in instances:
        for finding in instance.findings:
            rule = str(finding.get("rule_id", ""))
            issue = issues.setdefault(
                rule, Issue(rule, str(finding.get("slug", "")), str(finding.get("severity", "")))
            )
            issue.instances.add(instance.target)
            issue.findings += 1
    return sorted(
        issues.values(),
        key=lambda i: (_SEVERITY_ORDER.get(i.severity, 9), -len(i.instances), i.rule_id),
    )


def _coverage(instances: Sequence[Instance]) -> tuple[int, int]:
    known = [i.coverage for i in instances if i.coverage is not None]
    return sum(c[0] for c in known), sum(c[1] for c in known)


def _counts(instances: Sequence[Instance]) -> dict[str, int]:
    counts: dict[str, int] = defaultdict(int)
    for instance in instances:
        counts[instance.label] += 1
    return dict(sorted(counts.items()))


def _estate_chart(by_target: Mapping[str, list[RunRecord]]) -> Chart | None:
    """Failing results of the whole estate by day: each target's last assessed run of the day,
    carried forward to later days until it runs again."""
    days = sorted({r.started_at[:10] for runs in by_target.values() for r in runs if r.run_id})
    totals: list[dict[str, int]] = []
    for day in days:
        total: dict[str, int] = defaultdict(int)
        for runs in by_target.values():
            upto = [r for r in runs if r.run_id and r.started_at[:10] <= day]
            if upto:
                for severity, count in upto[-1].by_severity.items():
                    total[severity] += count
        totals.append(dict(total))
    return trend_chart("Failing results across the estate, by day", days, totals)
