"""JUnit XML: one suite per service, statuses as JUnit outcomes, valid XML for any string."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest

from mtls_audit.report import junit
from mtls_audit.report.junit import write_junit, xml_safe

from .evidence_factory import HOSTILE_BIDI, HOSTILE_LINK, HOSTILE_MD, SUB


def suites_of(evidence: dict[str, Any], tmp_path: Path) -> tuple[ET.Element, dict[str, ET.Element]]:
    out = tmp_path / "mtls-audit.junit.xml"
    write_junit(evidence, out)
    root = ET.parse(out).getroot()
    return root, {suite.get("name", ""): suite for suite in root.findall("testsuite")}


def counts(element: ET.Element) -> tuple[int, int, int, int]:
    return tuple(int(element.get(k, "-1")) for k in ("tests", "failures", "errors", "skipped"))  # type: ignore[return-value]


def test_one_suite_per_service_with_counts_per_status(
    realistic: dict[str, Any], tmp_path: Path
) -> None:
    root, suites = suites_of(realistic, tmp_path)
    assert list(suites) == ["apim-contoso-prod", "apim-contoso-dr", "estate"]
    assert counts(suites["apim-contoso-prod"]) == (9, 5, 1, 1)
    assert counts(suites["apim-contoso-dr"]) == (4, 0, 0, 1)
    assert counts(suites["estate"]) == (1, 0, 1, 0)
    assert counts(root) == (14, 5, 2, 2)
    prop = suites["apim-contoso-dr"].find("properties/property")
    assert prop is not None
    assert prop.get("value", "").endswith("/service/apim-contoso-dr")


def test_outcomes_carry_message_evidence_and_remediation(
    realistic: dict[str, Any], tmp_path: Path
) -> None:
    _, suites = suites_of(realistic, tmp_path)
    cases = {
        (c.get("classname"), c.get("name")): c for c in suites["apim-contoso-prod"].iter("testcase")
    }
    gw = cases[("MTLS-GW-01", "client-certificates-requested: apim-contoso-prod")]
    failure = gw.find("failure")
    assert failure is not None
    assert failure.get("message") == (
        "Hostname api.contoso-health.example does not negotiate client certificates."
    )
    assert "/properties/hostnameConfigurations/1/negotiateClientCertificate: false" in (
        failure.text or ""
    )
    assert "Azure CLI: az apim update" in (failure.text or "")
    waived = cases[("MTLS-IN-04", "checks-revocation: policy")].find("skipped")
    assert waived is not None
    assert waived.get("message", "").startswith("waived: Partner CA")
    na = next(
        c for c in suites["apim-contoso-dr"].iter("testcase") if c.find("skipped") is not None
    )
    assert na.get("classname") == "MTLS-TLS-01"


def test_results_outside_every_service_and_run_errors_go_to_estate(
    realistic: dict[str, Any], tmp_path: Path
) -> None:
    failing = next(r for r in realistic["results"] if r["status"] == "fail")
    outside = dict(failing, resource_id=f"{SUB}/providers/Microsoft.KeyVault/vaults/kv")
    outside["subject"] = "kv"
    realistic["results"].append(outside)
    _, suites = suites_of(realistic, tmp_path)
    names = [c.get("name") for c in suites["estate"].iter("testcase")]
    assert names == ["evidence-complete: kv", "run-error"]
    assert counts(suites["estate"]) == (2, 1, 1, 0)


def test_hostile_strings_stay_well_formed_data(hostile: dict[str, Any], tmp_path: Path) -> None:
    _, suites = suites_of(hostile, tmp_path)
    cases = list(suites["apim-contoso-prod"].iter("testcase"))
    names = [c.get("name", "") for c in cases]
    assert f"validation-coverage: {HOSTILE_LINK}" in names
    assert any(name.startswith(f"certificate-expiry: {HOSTILE_MD} (") for name in names)
    failure = next(c for c in cases if c.get("name", "").endswith(HOSTILE_LINK)).find("failure")
    assert failure is not None
    assert "\\x00\\x1b[31m" in (failure.text or "")


def test_xml_safe_escapes_only_what_xml_cannot_carry() -> None:
    assert xml_safe("a\x00b\x1fc\td\ne\ufffe") == "a\\x00b\\x1fc\td\ne\\ufffe"
    assert xml_safe(HOSTILE_BIDI) == "invoice\\u202efdp.exe"
    assert xml_safe("<&>\"'é😀") == "<&>\"'é😀"


def pairs_of(root: ET.Element) -> list[tuple[str | None, str | None]]:
    return [(c.get("classname"), c.get("name")) for c in root.iter("testcase")]


def test_the_key_tells_apart_results_about_one_subject(
    realistic: dict[str, Any], tmp_path: Path
) -> None:
    """An operation judged on two product paths gives two cases that CI reporters keep apart."""
    first = next(r for r in realistic["results"] if r["rule_id"] == "MTLS-IN-01")
    realistic["results"] += [
        dict(first, key="product:internal-staff", fingerprint="a" * 64),
        dict(first, key="no-product", fingerprint="b" * 64),
        dict(first, fingerprint="c" * 64),
        dict(first, fingerprint="d" * 64),
    ]
    realistic["errors"].append(dict(realistic["errors"][0]))
    root, _ = suites_of(realistic, tmp_path)
    pairs = pairs_of(root)
    assert len(pairs) == len(set(pairs))
    names = {name for rule, name in pairs if rule == "MTLS-IN-01"}
    subject = f"validation-coverage: {first['subject']}"
    assert f"{subject} [product:internal-staff]" in names
    assert f"{subject} [no-product]" in names
    resource = f"{subject} ({first['resource_id']})"
    assert {f"{resource} #{'c' * 12}", f"{resource} #{'d' * 12}"} <= names
    assert {name for _, name in pairs if name and name.startswith("run-error")} == {
        "run-error",
        "run-error 2",
    }


def test_the_ascii_fast_paths_escape_as_the_patterns_do() -> None:
    """visible() and xml_safe() skip their patterns for ASCII text with nothing to escape."""
    from mtls_audit.evidence.reader import _INVISIBLE, _escape_char, visible
    from mtls_audit.report.junit import _NOT_XML

    def slow_visible(text: str) -> str:
        return _INVISIBLE.sub(_escape_char, text)

    def slow_xml_safe(text: str) -> str:
        return _NOT_XML.sub(lambda m: f"\\u{ord(m.group()):04x}", slow_visible(text))

    points = [*range(0x300), *range(0x2000, 0x2070), 0xD800, 0xDFFF, 0xFEFF, 0xFFFE, 0x1F600]
    for text in (chr(p) for p in points):
        for sample in (text, f"a {text} b", f"{text}\n"):
            assert visible(sample) == slow_visible(sample), hex(ord(text))
            assert xml_safe(sample) == slow_xml_safe(sample), hex(ord(text))


@pytest.mark.parametrize("lines_per_piece", [1, 7, 2000])
def test_the_document_has_the_bytes_elementtree_writes_for_it(
    hostile: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, lines_per_piece: int
) -> None:
    """Written as text, the document is byte for byte what ElementTree writes for the tree it
    holds, indented: read back and written again by ElementTree, nothing changes. Covered: quotes,
    markup, tabs and line breaks in attributes and text, a suite without cases, the estate, and
    the document written in pieces of any number of lines."""
    monkeypatch.setattr(junit, "_LINES_PER_PIECE", lines_per_piece)
    failing = next(r for r in hostile["results"] if r["status"] == "fail")
    failing["message"] = 'a "quoted"\tmessage\r\nover <two> & lines'
    failing["evidence"][0]["excerpt"] = 'tab\there & "there" <x/>'
    hostile["run"]["scope"]["services"].append(f"{SUB}/providers/Microsoft.ApiManagement/service/s")
    out = tmp_path / "junit.xml"
    write_junit(hostile, out)
    written = out.read_bytes()
    root = ET.parse(out).getroot()
    assert written == ET.tostring(root, encoding="utf-8", xml_declaration=True)
    assert b'message="a &quot;quoted&quot;&#09;message&#13;&#10;over &lt;two&gt; &amp; lines"' in (
        written
    )
    assert [counts(suite) for suite in root.findall("testsuite") if suite.get("name") == "s"] == [
        (0, 0, 0, 0)
    ]


def test_a_document_without_suites_is_one_empty_element(
    realistic: dict[str, Any], tmp_path: Path
) -> None:
    realistic["run"]["scope"]["services"] = []
    realistic["results"], realistic["errors"] = [], []
    out = tmp_path / "junit.xml"
    write_junit(realistic, out)
    assert out.read_bytes() == (
        b"<?xml version='1.0' encoding='utf-8'?>\n"
        b'<testsuites name="mtls-audit" tests="0" failures="0" errors="0" skipped="0" time="0" />'
    )
