"""The charts of the PDF/HTML report: validation coverage, findings by family and severity, the
certificate expiry timeline and the trend over scheduled runs.

Each chart is drawn from the same figures the report's tables give (so the two always agree)
and says its numbers in its description, which the report prints as the chart's caption.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from mtls_audit.evidence.charts import (
    BarChart,
    Chart,
    Dated,
    Timeline,
    bar_chart,
    timeline,
    trend_chart,
)
from mtls_audit.report.tables import COVERAGE_VERDICTS, Bounded, CertificateRow, CoverageView
from mtls_audit.vocabulary import SEVERITIES
from mtls_audit.wording import clip, plural

# Worst first, as the bars stack from the left.
COVERAGE_KEYS = (
    ("bypass", COVERAGE_VERDICTS["bypass"].lower(), "#7f1d1d"),
    ("not-validated", COVERAGE_VERDICTS["not-validated"].lower(), "#c0504d"),
    ("indeterminate", COVERAGE_VERDICTS["indeterminate"].lower(), "#d9a23a"),
    ("validated", COVERAGE_VERDICTS["validated"].lower(), "#3f8f55"),
)
SEVERITY_COLOURS = {
    "critical": "#7f1d1d",
    "high": "#c0504d",
    "medium": "#d9a23a",
    "low": "#5b7fa8",
    "info": "#9aa5b1",
}
# Rule families by the id's middle part (MTLS-IN-01 → IN).
FAMILY_NAMES = {
    "IN": "inbound policy",
    "GW": "gateway hostnames",
    "KV": "Key Vault",
    "CA": "CA certificates",
    "OUT": "backends",
    "LEAK": "certificate leaks",
    "TLS": "TLS settings",
    "PROBE": "live probe",
    "EVID": "evidence",
}
CHART_APIS = 12  # APIs drawn in the coverage chart, the least validated first
LABEL_CHARS = 28


@dataclass(frozen=True)
class Pictures:
    coverage: BarChart | None
    findings: BarChart | None
    expiry: Timeline | None
    trend: Chart | None


def pictures(
    results: Sequence[Mapping[str, Any]],
    coverage: CoverageView | None,
    certificates: Bounded[CertificateRow],
    trend: Sequence[tuple[str, Sequence[int]]],
    warning_days: int,
    as_of: str,
) -> Pictures:
    """The report's charts; ``trend`` is (run start, failing results by severity) per run."""
    return Pictures(
        coverage=coverage_chart(coverage) if coverage else None,
        findings=findings_chart(results),
        expiry=expiry_chart(certificates, warning_days, as_of),
        trend=trend_chart(
            "Failing results over recent scheduled runs",
            [moment for moment, _ in trend],
            [dict(zip(SEVERITIES, failing, strict=True)) for _, failing in trend],
        ),
    )


def family(rule_id: str) -> str:
    """``MTLS-IN-01`` → ``IN``; an id of another shape is its own family."""
    parts = rule_id.split("-")
    return parts[1] if len(parts) == 3 else rule_id


def coverage_chart(coverage: CoverageView) -> BarChart:
    rows = [("All operation paths", coverage.counts)]
    rows += [(clip(api.api, LABEL_CHARS), api.counts) for api in coverage.apis.shown[:CHART_APIS]]
    totals = ", ".join(f"{coverage.counts.get(key, 0)} {name}" for key, name, _ in COVERAGE_KEYS)
    by_api = "; ".join(
        f"{api.api} {api.counts.get('validated', 0)} of {api.total} validated"
        for api in coverage.apis.shown[:CHART_APIS]
    )
    left_out = len(coverage.apis.shown) - CHART_APIS + coverage.apis.more
    more = f" ({plural(left_out, 'more API')} in the table below)" if left_out > 0 else ""
    description = (
        f"{plural(coverage.total, 'operation path')} judged: {totals}. "
        f"By API, least validated first: {by_api}{more}."
    )
    return bar_chart(
        "Operation paths by client certificate validation", rows, COVERAGE_KEYS, description
    )


def findings_chart(results: Sequence[Mapping[str, Any]]) -> BarChart | None:
    """Failing results per rule family, stacked by severity; None when nothing failed."""
    counted = Counter(
        (family(r["rule_id"]), r["severity"]) for r in results if r["status"] == "fail"
    )
    if not counted:
        return None
    families: dict[str, dict[str, int]] = {}
    for (name, severity), count in counted.items():
        families.setdefault(name, {})[severity] = count
    ordered = sorted(families.items(), key=lambda item: (-sum(item[1].values()), item[0]))
    rows = [(_family_label(name), counts) for name, counts in ordered]
    keys = [(s, s, SEVERITY_COLOURS[s]) for s in SEVERITIES]
    parts = [
        f"{_family_label(name)} {sum(counts.values())} ("
        + ", ".join(f"{counts[s]} {s}" for s in SEVERITIES if counts.get(s))
        + ")"
        for name, counts in ordered
    ]
    description = (
        f"{plural(sum(counted.values()), 'failing result')} by rule family and severity: "
        + "; ".join(parts)
        + "."
    )
    return bar_chart("Failing results by rule family and severity", rows, keys, description)


def expiry_chart(
    certificates: Bounded[CertificateRow], warning_days: int, as_of: str
) -> Timeline | None:
    dated = [
        Dated(clip(str(row.certificate["name"]), LABEL_CHARS), row.state, row.days, row.phrase)
        for row in certificates.shown
        if row.days is not None
    ]
    return timeline("Certificate expiry", dated, warning_days, as_of)


def _family_label(name: str) -> str:
    return f"{name} · {FAMILY_NAMES[name]}" if name in FAMILY_NAMES else name
