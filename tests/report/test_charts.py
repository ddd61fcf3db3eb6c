"""The report's charts: drawn in the HTML as inline SVG with the evidence's numbers, and
printed in the PDF with their captions."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest
from lxml import html as lxml_html

from mtls_audit.certs.times import full_days, parse_timestamp
from mtls_audit.evidence.charts import Dated, bar_chart, timeline
from mtls_audit.report.html import render_html
from mtls_audit.report.pictures import family

from .test_pdf import squeeze


def _document(evidence: dict[str, Any]) -> Any:
    return lxml_html.fromstring(render_html(evidence, evidence_sha256="0" * 64))


def _figure(document: Any, chart_id: str) -> Any:
    (figure,) = document.xpath(f'//figure[@id="{chart_id}"]')
    return figure


def _elements(figure: Any, tag: str, css_class: str | None = None) -> list[Any]:
    found = [e for e in figure.iter() if isinstance(e.tag, str) and e.tag.endswith(tag)]
    return [e for e in found if css_class is None or e.get("class") == css_class]


def test_findings_chart_counts_failing_results_by_family_and_severity(
    realistic: dict[str, Any],
) -> None:
    failing = Counter(
        (family(r["rule_id"]), r["severity"]) for r in realistic["results"] if r["status"] == "fail"
    )
    figure = _figure(_document(realistic), "chart-findings")
    segments = _elements(figure, "rect", "segment")
    assert len(segments) == len(failing)
    assert sum(int(s.get("data-count")) for s in segments) == sum(failing.values())
    bars = _elements(figure, "g", "bar")
    assert len(bars) == len({name for name, _ in failing})
    totals = [int(bar.get("data-total")) for bar in bars]
    assert totals == sorted(totals, reverse=True)
    caption = figure.xpath(".//figcaption")[0].text_content()
    assert f"{sum(failing.values())} failing results by rule family and severity" in caption


def test_coverage_chart_gives_every_operation_path_by_verdict(realistic: dict[str, Any]) -> None:
    verdicts = Counter(row["verdict"] for row in realistic["coverage"])
    figure = _figure(_document(realistic), "chart-coverage")
    first = _elements(figure, "g", "bar")[0]
    assert first.get("data-label") == "All operation paths"
    assert int(first.get("data-total")) == len(realistic["coverage"])
    drawn = {s.get("data-key"): int(s.get("data-count")) for s in _elements(first, "rect")}
    assert drawn == {verdict: n for verdict, n in verdicts.items() if n}
    caption = figure.xpath(".//figcaption")[0].text_content()
    assert f"{len(realistic['coverage'])} operation paths judged" in caption


def test_expiry_timeline_marks_each_dated_certificate_and_the_expired_ones(
    realistic: dict[str, Any],
) -> None:
    certificates = realistic["inventory"]["certificates"]
    dated = [c for c in certificates if c.get("days_left") is not None]
    figure = _figure(_document(realistic), "chart-expiry")
    marks = _elements(figure, "g", "certificate")
    assert len(marks) == len(dated)
    as_of = parse_timestamp(realistic["run"]["as_of"])
    full = sorted(full_days(parse_timestamp(c["expiry"]), as_of) for c in dated)
    assert sorted(int(m.get("data-days")) for m in marks) == full
    expired = [m for m in marks if m.get("data-state") == "expired"]
    assert len(expired) == sum(1 for c in dated if c["days_left"] < 0)
    assert all(int(m.get("data-days")) <= 0 for m in expired)
    caption = figure.xpath(".//figcaption")[0].text_content()
    assert f"{len(expired)} expired" in caption


def test_trend_chart_is_drawn_only_when_there_is_history(realistic: dict[str, Any]) -> None:
    assert not _document(realistic).xpath('//figure[@id="chart-trend"]')
    realistic["trend"] = [
        {
            "run_id": f"run-{day}",
            "started_at": f"2026-11-{day:02d}T02:00:00Z",
            "exit_code": 1,
            "by_severity": {"critical": day, "high": 2, "medium": 1, "low": 0, "info": 0},
            "by_status": {"waived": 0},
        }
        for day in (10, 11, 12)
    ]
    figure = _figure(_document(realistic), "chart-trend")
    (critical,) = [g for g in _elements(figure, "g") if g.get("data-series") == "critical"]
    assert len(_elements(critical, "circle")) == 3
    caption = figure.xpath(".//figcaption")[0].text_content()
    assert "over 3 runs, from 2026-11-10 to 2026-11-12" in caption
    assert "the latest: 12 critical, 2 high, 1 medium" in caption


def test_bars_are_proportional_and_stack_from_the_label_column() -> None:
    chart = bar_chart(
        "t",
        [("a", {"x": 2, "y": 2}), ("b", {"x": 1})],
        [("x", "X", "#000"), ("y", "Y", "#111")],
        "",
    )
    a, b = chart.bars
    assert [s.count for s in a.segments] == [2, 2]
    assert a.segments[0].x == chart.left
    assert a.segments[1].x == pytest.approx(a.segments[0].x + a.segments[0].width)
    assert b.segments[0].width == pytest.approx(a.segments[0].width / 2)
    assert a.segments[1].x + a.segments[1].width == pytest.approx(chart.right)


def test_timeline_puts_day_zero_at_the_as_of_date_and_clamps_far_expiries() -> None:
    certificates = [
        Dated("old", "expired", -20, "expired 20 days ago"),
        Dated("far", "valid", 6000, "expires in 6000 days"),
    ]
    chart = timeline("t", certificates, 30, "2026-11-20")
    assert chart is not None
    old, far = chart.marks
    assert old.x == chart.left
    assert far.x == pytest.approx(chart.right)
    assert chart.left < chart.today < chart.warning < chart.right
    assert "old: expired 20 days ago" in chart.description
    assert "far: expires in 6000 days" in chart.description
    assert timeline("t", [], 30, "2026-11-20") is None


def test_the_pdf_prints_each_chart_caption(realistic_pdf: tuple[Any, bytes]) -> None:
    from pypdf import PdfReader

    text = squeeze(" ".join(p.extract_text() or "" for p in PdfReader(realistic_pdf[0]).pages))
    for caption in (
        "Failing results by rule family and severity.",
        "Operation paths by client certificate validation.",
        "Certificate expiry.",
    ):
        assert squeeze(caption) in text
