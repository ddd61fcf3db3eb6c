"""SARIF: valid against the official 2.1.0 schema, every result located, stable identifiers."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from mtls_audit.report.sarif import INVENTORY_NAME, write_sarif
from tests.conftest import sarif_validator


@pytest.fixture(scope="module")
def validator() -> Any:
    return sarif_validator()


def write(evidence: dict[str, Any], folder: Path) -> tuple[dict[str, Any], list[Path]]:
    written = write_sarif(evidence, folder / "mtls-audit.sarif")
    return json.loads(written[0].read_text(encoding="utf-8")), written


@pytest.mark.parametrize("kind", ["realistic", "hostile"])
def test_output_validates_against_the_sarif_schema(
    kind: str, request: pytest.FixtureRequest, validator: Any, tmp_path: Path
) -> None:
    log, _ = write(request.getfixturevalue(kind), tmp_path)
    errors = [e.message for e in validator.iter_errors(log)]
    assert errors == []


def test_results_are_the_open_and_waived_ones(realistic: dict[str, Any], tmp_path: Path) -> None:
    log, _ = write(realistic, tmp_path)
    results = log["runs"][0]["results"]
    statuses = [r["properties"]["status"] for r in results]
    assert sorted(statuses) == sorted(
        r["status"]
        for r in realistic["results"]
        if r["status"] in ("fail", "indeterminate", "waived")
    )
    by_status = {r["properties"]["status"]: r for r in results}
    # SARIF 2.1.0 §3.27.9/§3.27.10: undecided is kind open, and a kind other than fail has
    # level none.
    assert (by_status["indeterminate"]["kind"], by_status["indeterminate"]["level"]) == (
        "open",
        "none",
    )
    assert by_status["indeterminate"]["message"]["text"].startswith("Indeterminate: ")
    justification = "Partner CA publishes no CRL; compensating control: 24 h certificates."
    assert by_status["waived"]["suppressions"] == [
        {"kind": "external", "justification": justification}
    ]
    levels = {
        (r["ruleId"], r["properties"]["severity"]): r["level"]
        for r in results
        if r["properties"]["status"] == "fail"
    }
    assert levels[("MTLS-GW-01", "critical")] == "error"
    assert levels[("MTLS-KV-09/critical", "critical")] == "error"
    assert levels[("MTLS-KV-09", "high")] == "error"
    fingerprints = {r["fingerprint"] for r in realistic["results"]}
    assert all(r["partialFingerprints"]["mtlsAudit/v1"] in fingerprints for r in results)
    assert all(r["kind"] == "fail" for r in results if r["properties"]["status"] != "indeterminate")


def test_every_result_has_a_file_and_line_and_the_inventory_line_is_its_resource(
    realistic: dict[str, Any], tmp_path: Path
) -> None:
    log, written = write(realistic, tmp_path)
    assert written == [tmp_path / "mtls-audit.sarif", tmp_path / INVENTORY_NAME]
    inventory = (tmp_path / INVENTORY_NAME).read_text(encoding="utf-8").splitlines()
    assert inventory == sorted(set(inventory))
    located = 0
    for result in log["runs"][0]["results"]:
        physical = result["locations"][0]["physicalLocation"]
        uri, line = physical["artifactLocation"]["uri"], physical["region"]["startLine"]
        resource = result["locations"][0]["logicalLocations"][0]["fullyQualifiedName"]
        if uri == INVENTORY_NAME:
            assert inventory[line - 1] == resource
        else:
            located += 1
            assert (uri, line) in {("infra/apim.json", 40), ("policies/patients.xml", 3)}
    assert located == 2


def test_no_inventory_when_every_result_has_a_location(
    realistic: dict[str, Any], tmp_path: Path
) -> None:
    for result in realistic["results"]:
        result["location"] = {"file": "infra/my apim.json", "line": 7}
    log, written = write(realistic, tmp_path)
    assert written == [tmp_path / "mtls-audit.sarif"]
    assert not (tmp_path / INVENTORY_NAME).exists()
    uris = {
        r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
        for r in log["runs"][0]["results"]
    }
    assert uris == {"infra/my%20apim.json"}


def test_rules_carry_descriptions_help_severity_and_controls(
    realistic: dict[str, Any], tmp_path: Path
) -> None:
    log, _ = write(realistic, tmp_path)
    driver = log["runs"][0]["tool"]["driver"]
    assert (driver["name"], driver["version"]) == ("mtls-audit", "0.1.0")
    assert "informationUri" not in driver  # no published home page: no address is made up
    rules = {rule["id"]: rule for rule in driver["rules"]}
    # Every rule, plus MTLS-KV-09 at critical (one of its results is critical, the rule high).
    assert len(rules) == len(driver["rules"]) == len(realistic["rule_pack"]) + 1
    assert {rule["id"] for rule in realistic["rule_pack"]} <= set(rules)
    gw = rules["MTLS-GW-01"]
    assert gw["name"] == "client-certificates-requested"
    assert gw["shortDescription"]["text"] == "The gateway requests client certificates"
    assert gw["properties"]["security-severity"] == "9.5"
    assert "hipaa:164.312(d)" in gw["properties"]["tags"]
    assert "nist-800-53:IA-3" in gw["properties"]["tags"]
    assert "Azure CLI" in gw["help"]["text"]
    assert "```" in gw["help"]["markdown"]
    for result in log["runs"][0]["results"]:
        assert driver["rules"][result["ruleIndex"]]["id"] == result["ruleId"]


def test_automation_id_is_stable_across_runs(realistic: dict[str, Any], tmp_path: Path) -> None:
    first, _ = write(realistic, tmp_path)
    realistic["run"].update(id="another-run", started_at="2027-01-01T00:00:00Z")
    realistic["run"]["scope"]["services"].reverse()
    second, _ = write(realistic, tmp_path)
    assert (
        first["runs"][0]["automationDetails"]["id"] == second["runs"][0]["automationDetails"]["id"]
    )
    assert first["runs"][0]["automationDetails"]["id"].startswith("mtls-audit/")


def test_run_errors_and_gaps_are_notifications(realistic: dict[str, Any], tmp_path: Path) -> None:
    log, _ = write(realistic, tmp_path)
    invocation = log["runs"][0]["invocations"][0]
    assert invocation["executionSuccessful"] is False
    levels = [n["level"] for n in invocation["toolExecutionNotifications"]]
    assert levels == ["error", "warning"]


def test_inventory_uri_is_relative_to_the_working_directory(
    realistic: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "out").mkdir()
    log, _ = write(realistic, tmp_path / "out")
    uris = {
        r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
        for r in log["runs"][0]["results"]
    }
    assert uris == {"infra/apim.json", "policies/patients.xml", f"out/{INVENTORY_NAME}"}


def test_a_result_above_its_rule_severity_gets_a_descriptor_of_its_own(
    realistic: dict[str, Any], tmp_path: Path
) -> None:
    """GitHub reads security-severity only from the rule descriptor: an expired certificate
    (critical) of MTLS-KV-09 (high) must point to a descriptor that says critical."""
    log, _ = write(realistic, tmp_path)
    driver = log["runs"][0]["tool"]["driver"]
    rules = {rule["id"]: (position, rule) for position, rule in enumerate(driver["rules"])}
    own_index, own = rules["MTLS-KV-09"]
    split_index, split = rules["MTLS-KV-09/critical"]
    assert split_index == own_index + 1
    assert own["properties"]["security-severity"] == "8.0"
    assert split["properties"]["security-severity"] == "9.5"  # GitHub: over 9.0 is critical
    assert split["defaultConfiguration"]["level"] == "error"
    assert split["relationships"] == [
        {"target": {"id": "MTLS-KV-09", "index": own_index}, "kinds": ["subset"]}
    ]
    assert (split["name"], split["help"]) == (own["name"], own["help"])
    for result in log["runs"][0]["results"]:
        rule = driver["rules"][result["ruleIndex"]]
        assert rule["id"] == result["ruleId"]
        assert rule["properties"]["severity"] == result["properties"]["severity"]
    kv09 = {
        r["properties"]["subject"]: r["ruleId"]
        for r in log["runs"][0]["results"]
        if r["ruleId"].startswith("MTLS-KV-09")
    }
    assert kv09 == {"partner-root": "MTLS-KV-09/critical", "gateway-tls": "MTLS-KV-09"}


def test_only_severities_in_use_get_a_descriptor(realistic: dict[str, Any], tmp_path: Path) -> None:
    for result in realistic["results"]:
        result["severity"] = next(
            r["severity"] for r in realistic["rule_pack"] if r["id"] == result["rule_id"]
        )
    log, _ = write(realistic, tmp_path)
    ids = [rule["id"] for rule in log["runs"][0]["tool"]["driver"]["rules"]]
    assert ids == sorted(rule["id"] for rule in realistic["rule_pack"])


REST_DOC = """Each hostname has ``negotiateClientCertificate``
    true, and ``*.azure-api.net`` is left alone.

    A second paragraph naming ``context.Request.Certificate``."""


def test_rule_texts_carry_no_markup(realistic: dict[str, Any], tmp_path: Path) -> None:
    """Text fields are plain text; literals become code spans only in help.markdown."""
    rule = realistic["rule_pack"][1]
    rule["summary"] = REST_DOC + " " + "word " * 400
    rule["rationale"] = "Without it ``context.Request.Certificate`` is null; a *rule* [x](y)."
    log, _ = write(realistic, tmp_path)
    gw = next(r for r in log["runs"][0]["tool"]["driver"]["rules"] if r["id"] == "MTLS-GW-01")
    full = gw["fullDescription"]["text"]
    assert full.startswith(
        "Each hostname has negotiateClientCertificate true, and *.azure-api.net is left "
        "alone. A second paragraph naming context.Request.Certificate. word word"
    )
    assert len(full) <= 1024
    assert full.endswith("word…")
    for text in (gw["shortDescription"]["text"], full, gw["help"]["text"]):
        assert "``" not in text
        assert "\n    " not in text
    assert "Why it matters: Without it context.Request.Certificate is null" in gw["help"]["text"]
    markdown = gw["help"]["markdown"]
    assert "``" not in markdown.replace("```", "")
    assert "`negotiateClientCertificate` true" in markdown
    assert "`context.Request.Certificate` is null; a \\*rule\\* \\[x\\]\\(y\\)." in markdown
