"""The dashboard's pages, read as HTML: every instance, statuses, issues, certificates, charts,
and nothing that points outside the site."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from lxml import html

from mtls_audit.audit.dashboard import build_site
from mtls_audit.audit.history import History
from mtls_audit.cli import main


def _page(path: Path) -> html.HtmlElement:
    return html.fromstring(path.read_bytes())


def test_every_target_is_listed_with_its_latest_status(site: Path) -> None:
    index = _page(site / "index.html")
    rows = index.xpath("//section[@aria-labelledby='instances']//tbody/tr")
    listed = {row.xpath("string(th)"): row.xpath("string(td[1])") for row in rows}
    assert listed == {"broken": "ERROR", "ci": "FAIL", "clinical": "FAIL"}
    assert index.xpath("string(//html/@lang)") == "en"
    assert len(index.xpath("//h1")) == 1
    for table in index.xpath("//table"):
        assert table.xpath("string(caption)").strip()
        assert table.xpath("thead/tr/th[@scope='col']")


def test_issues_count_instances_and_certificates_come_soonest_first(site: Path) -> None:
    index = _page(site / "index.html")
    issues = index.xpath("//section[@aria-labelledby='issues']//tbody/tr")
    by_rule = {row.xpath("string(th)"): row.xpath("string(td[3])") for row in issues}
    assert by_rule["MTLS-IN-01"] == "ci, clinical"  # both, once the second adopted MTLS-IN-*
    severities = [row.xpath("string(td[2])") for row in issues]
    order = ["critical", "high", "medium", "low", "info"]
    assert severities == sorted(severities, key=order.index)
    days = [
        int(row.xpath("string(td[4])"))
        for row in index.xpath("//section[@aria-labelledby='certificates']//tbody/tr")
    ]
    assert days
    assert days == sorted(days)


def test_certificate_days_are_counted_as_the_findings_count_them(
    site: Path, tmp_path: Path
) -> None:
    """fax-relay-client expired 2026-11-02T00:00Z: on 2026-11-20T09:00Z, 18 full days ago, as
    MTLS-KV-09 says, though the evidence's days_left (rounded down) is -19."""
    runs = site.parent / "runs"
    history = History(runs / "history.sqlite")
    try:
        build_site(history, runs, tmp_path / "site", as_of=datetime(2026, 11, 20, 9, tzinfo=UTC))
    finally:
        history.close()
    index = _page(tmp_path / "site" / "index.html")
    rows = index.xpath("//section[@aria-labelledby='certificates']//tbody/tr")
    fax = {
        row.xpath("string(td[4])")
        for row in rows
        if row.xpath("string(td[1])") == "fax-relay-client"
        and row.xpath("string(td[3])") == "2026-11-02"
    }
    assert fax == {"-18"}
    soonest = index.xpath("//section[@aria-labelledby='instances']//tbody/tr/td[7]/text()")
    assert "2026-11-02 (-18 d)" in soonest
    subjects = index.xpath("//section[@aria-labelledby='certificates']//tbody/tr/td[2]/text()")
    assert "None" not in subjects  # a certificate without a recorded subject shows a dash


def test_an_instance_page_has_its_trend_runs_and_reports(site: Path) -> None:
    page = _page(site / "instances" / "ci.html")
    runs = page.xpath("//section[@aria-labelledby='trend']//tbody/tr")
    assert len(runs) == 3
    critical = [int(row.xpath("string(td[2])")) for row in runs]
    assert critical[0] < critical[-1]  # more rules adopted, more found
    (chart,) = page.xpath("//svg[@role='img']")
    assert chart.xpath("string(title)") == "Failing results of ci over its runs"
    points = chart.xpath(".//g[@data-series='critical']/polyline/@points")[0].split()
    assert len(points) == 3
    links = page.xpath("//section[@aria-labelledby='reports']//a/@href")
    assert "ci/report.html" in links
    assert "ci/evidence.json" in links


def test_a_failed_target_says_why(site: Path) -> None:
    page = _page(site / "instances" / "broken.html")
    assert "missing.json" in page.xpath("string(//p[@role='note'])")


def test_every_link_and_resource_stays_in_the_site(site: Path) -> None:
    for path in site.rglob("*.html"):
        if path.parent.name not in ("site", "instances"):
            continue  # a copied report: checked by the report's own tests
        page = _page(path)
        for ref in page.xpath("//@href | //@src"):
            assert not urlsplit(ref).scheme, (path, ref)
            if ref.startswith("#"):
                assert page.xpath(f"//*[@id='{ref[1:]}']"), (path, ref)
                continue
            target = (path.parent / urlsplit(ref).path).resolve()
            assert target.is_file(), (path, ref)
            assert target.is_relative_to(site.resolve())


def test_the_command_writes_the_site_and_needs_the_reports_root_with_postgresql(
    site: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    history = site.parent / "runs" / "history.sqlite"
    with pytest.raises(SystemExit) as info:
        main(["dashboard", "--history", str(history), "--out", str(tmp_path / "site")])
    assert info.value.code == 0
    assert capsys.readouterr().out.startswith("4 pages written: ")
    assert (tmp_path / "site" / "instances" / "clinical" / "report.html").is_file()

    with pytest.raises(SystemExit) as info:
        main(["dashboard", "--history", "postgresql://audit@db/mtls", "--out", str(tmp_path)])
    assert info.value.code == 2
    assert "give --reports" in capsys.readouterr().err
