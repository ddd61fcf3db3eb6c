"""The HTML report: escaped, self-contained, and complete for an empty assessment."""

from __future__ import annotations

from typing import Any

import lxml.html
import pytest
from markupsafe import escape

from mtls_audit.certs.times import full_days, parse_timestamp
from mtls_audit.evidence.reader import ReportError
from mtls_audit.report.html import render_html

from .evidence_factory import (
    HOSTILE_BIDI,
    HOSTILE_IMG,
    HOSTILE_LINK,
    HOSTILE_MD,
    empty_evidence,
    sparse_evidence,
)

DIGEST = "0" * 64


def parse(source: str) -> lxml.html.HtmlElement:
    return lxml.html.fromstring(source)


def strings(tree: lxml.html.HtmlElement, path: str) -> list[str]:
    found = tree.xpath(path)
    assert isinstance(found, list)
    return [str(item) for item in found]


def test_hostile_names_are_escaped_in_the_source_and_shown_as_text(
    hostile: dict[str, Any],
) -> None:
    source = render_html(hostile, evidence_sha256=DIGEST)
    assert HOSTILE_IMG not in source
    assert HOSTILE_LINK not in source
    assert str(escape(HOSTILE_IMG)) in source
    tree = parse(source)
    assert strings(tree, "//img") == []
    assert strings(tree, "//link") == []
    text = tree.text_content()
    assert HOSTILE_IMG in text
    assert HOSTILE_LINK in text
    assert HOSTILE_MD in text
    assert HOSTILE_BIDI not in text
    assert "invoice\\u202efdp.exe" in text


def test_the_document_is_self_contained(realistic: dict[str, Any]) -> None:
    tree = parse(render_html(realistic, evidence_sha256=DIGEST))
    assert tree.get("lang") == "en"
    links = strings(tree, "//@href | //@src")
    assert links, "the contents page links to its chapters"
    assert all(link.startswith("#") for link in links)
    anchors = set(strings(tree, "//@id"))
    assert {link[1:] for link in links} <= anchors
    style = "".join(strings(tree, "//style/text()"))
    assert ".chip" in style
    assert "url(" not in style
    assert "@import" not in style


def test_title_metadata_and_hashes(realistic: dict[str, Any]) -> None:
    tree = parse(render_html(realistic, evidence_sha256=DIGEST, title="Quarterly evidence"))
    assert tree.findtext(".//title") == "Quarterly evidence"
    metas = {m.get("name"): m.get("content") for m in tree.iter("meta") if m.get("name")}
    assert metas["author"] == "mtls-audit"
    assert metas["dcterms.created"] == realistic["run"]["finished_at"]
    text = tree.text_content()
    assert DIGEST in text
    assert realistic["snapshot"]["sha256"] in text


def test_empty_assessment_states_are_honest() -> None:
    text = parse(render_html(empty_evidence(), evidence_sha256=DIGEST)).text_content()
    assert "No risk acceptance was recorded for this assessment." in text
    assert "No result failed and none was indeterminate." in text
    assert "no finding to detail" in text
    assert "No coverage was computed" in text
    assert "No certificate inventory was recorded" in text


def test_waived_results_and_their_justification_are_listed(realistic: dict[str, Any]) -> None:
    text = parse(render_html(realistic, evidence_sha256=DIGEST)).text_content()
    assert "Partner CA publishes no CRL" in text
    assert "No exceptions were recorded" not in text


def test_a_document_of_another_schema_is_refused(realistic: dict[str, Any]) -> None:
    with pytest.raises(ReportError, match="unsupported evidence schema"):
        render_html({**realistic, "schema": "mtls-audit/snapshot/v1"}, evidence_sha256=DIGEST)


def test_a_document_without_results_is_refused(realistic: dict[str, Any]) -> None:
    del realistic["results"]
    with pytest.raises(ReportError, match="lacks results"):
        render_html(realistic, evidence_sha256=DIGEST)


def test_optional_fields_may_be_absent() -> None:
    text = parse(render_html(sparse_evidence(), evidence_sha256=DIGEST)).text_content()
    assert "pack third-party failed to load" in text
    assert "collected at an unrecorded time" in text
    assert "The rule pack gives no rationale for this rule." in text
    assert "bare" in text
    assert "timed out" in text


def test_remediation_is_given_once_per_failing_rule_and_the_catalogue_is_compact(
    realistic: dict[str, Any],
) -> None:
    tree = parse(render_html(realistic, evidence_sha256=DIGEST))
    text = " ".join(tree.text_content().split())
    cli = realistic["rule_pack"][0]["remediation"]["cli"]
    findings = tree.find_class("rule-findings")
    assert len(findings) == 4
    assert text.count(cli) == len(findings)
    (catalogue,) = tree.xpath("//section[@id='catalogue']")
    entries = catalogue.find_class("catalogue-entry")
    assert len(entries) == len(realistic["rule_pack"])
    catalogue_text = catalogue.text_content()
    assert cli not in catalogue_text
    assert "Legacy TLS is off on the client side" in catalogue_text
    assert "HIPAA 164.312(e)(1)" in " ".join(catalogue_text.split())
    assert "rules explain RULE-ID" not in text  # the PDF's note on what it leaves out
    summaries = [" ".join(f.find_class("rule-summary")[0].text_content().split()) for f in findings]
    assert all(s.startswith("What it checks. ") and len(s) > 20 for s in summaries)


def test_inventory_lists_each_certificate_with_days_and_state(realistic: dict[str, Any]) -> None:
    tree = parse(render_html(realistic, evidence_sha256=DIGEST))
    (chapter,) = tree.xpath("//section[@id='inventory']")
    entries = chapter.find_class("cert")
    assert len(entries) == len(realistic["inventory"]["certificates"])
    first = entries[0]
    assert "cert-expired" in first.get("class").split()
    head = " ".join(first.find_class("cert-head")[0].text_content().split())
    certificate = min(realistic["inventory"]["certificates"], key=lambda c: c["days_left"])
    as_of = parse_timestamp(realistic["run"]["as_of"])
    days = full_days(parse_timestamp(certificate["expiry"]), as_of)
    assert head.startswith(f"{days} days {certificate['name']} · ")
    assert certificate["thumbprint"] in first.text_content()


def test_tests_of_controls_word_results_as_an_auditor_does(realistic: dict[str, Any]) -> None:
    tree = parse(render_html(realistic, evidence_sha256=DIGEST))
    (chapter,) = tree.xpath("//section[@id='controls']")
    text = " ".join(chapter.text_content().split())
    assert "not an opinion on compliance" in text
    assert len(chapter.find_class("tests")) == 3  # one table per framework
    in01 = [r for r in realistic["results"] if r["rule_id"] == "MTLS-IN-01"]
    failed = sum(r["status"] == "fail" for r in in01)
    population = sum(r["status"] != "not_applicable" for r in in01)
    assert text.count(f"Exceptions noted: {failed} of {population} subjects") == 3
    assert "No exceptions noted" in text
    for word in ("Pass", "Fail"):
        assert f" {word} " not in text
    assert "Not covered by this assessment." in text
    # the HTML words every test in full in every table
    assert text.count("Every operation validates the client certificate.") == 3


def test_the_failures_stand_in_the_risk_acceptance_chapter(realistic: dict[str, Any]) -> None:
    realistic["results"] = [r for r in realistic["results"] if r["status"] != "waived"]
    realistic.pop("waivers", None)
    tree = parse(render_html(realistic, evidence_sha256=DIGEST))
    (chapter,) = tree.xpath("//section[@id='exceptions']")
    failed = sum(r["status"] == "fail" for r in realistic["results"])
    text = " ".join(chapter.text_content().split())
    assert f"the {failed} failed results stand as exceptions" in text
    assert "No exceptions" not in text
