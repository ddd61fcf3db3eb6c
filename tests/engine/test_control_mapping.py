"""The mapping catalogue: every built-in rule's controls, each pair with its reason."""

from __future__ import annotations

import json

from mtls_audit.engine.packs import builtin_pack_dir, load_directory
from mtls_audit.engine.rule import Rule
from mtls_audit.engine.runner import rule_controls
from mtls_audit.engine.subjects import Certificate, Service
from mtls_audit.frameworks import control_reasons, controls_for, frameworks, mappings, topics
from mtls_audit.report.evidence import population_unit, rule_entry
from mtls_audit.resources import package_data

RULES = load_directory(builtin_pack_dir(), "builtin").rules


def _cited(framework: str) -> set[str]:
    return {c for rule in RULES for c in rule_controls(rule)[framework]}


def test_every_builtin_rule_is_catalogued_with_a_unit() -> None:
    assert {r.id for r in RULES} == set(mappings())
    for rule in RULES:
        one, many = mappings()[rule.id].unit
        assert one, rule.id
        assert many != one, rule.id


def test_every_pair_has_a_one_sentence_reason() -> None:
    known = {f.id: {c.id for c in f.controls} for f in frameworks()}
    for rule in RULES:
        reasons = control_reasons(rule.id)
        for framework, ids in rule_controls(rule).items():
            assert set(ids) == set(reasons.get(framework, {})), (rule.id, framework)
            assert set(ids) <= known[framework], (rule.id, framework)
            for control in ids:
                reason = reasons[framework][control]
                assert reason.endswith("."), (rule.id, control)
                assert ". " not in reason, (rule.id, control)


def test_the_tools_own_completeness_maps_to_no_control() -> None:
    evid = next(r for r in RULES if r.id == "MTLS-EVID-01")
    assert not any(rule_controls(evid).values())


def test_session_and_service_authentication_are_mapped() -> None:
    nist = _cited("nist-800-53")
    assert {"SC-23", "IA-9"} <= nist
    in01 = next(r for r in RULES if r.id == "MTLS-IN-01")
    assert "SC-23" in rule_controls(in01)["nist-800-53"]
    out03 = next(r for r in RULES if r.id == "MTLS-OUT-03")
    assert "IA-9" in rule_controls(out03)["nist-800-53"]


def test_nist_items_are_written_as_nist_writes_them() -> None:
    text = "".join(
        package_data("frameworks", name).read_text("utf-8")
        for name in ("mapping.json", "nist-800-53.json")
    )
    assert "SC-17(b)" not in text
    assert "SC-17b" in _cited("nist-800-53")


def test_disclosure_rules_do_not_fail_detection_or_access_control() -> None:
    for rule in RULES:
        controls = rule_controls(rule)
        assert "CC7.1" not in controls["soc2"], rule.id
        if rule.id.startswith("MTLS-LEAK-"):
            assert "CC6.7" in controls["soc2"], rule.id
            assert "CC6.1" not in controls["soc2"], rule.id
            assert "164.312(a)(1)" not in controls["hipaa"], rule.id
    access = [r.id for r in RULES if "164.312(a)(1)" in rule_controls(r)["hipaa"]]
    assert len(access) < 8, access


def test_not_covered_is_listed_per_framework() -> None:
    uncovered = {f.id: {c.id for c in f.not_covered} for f in frameworks()}
    assert {"164.312(b)", "164.308(a)(8)"} <= uncovered["hipaa"]
    assert {"CC7.2", "CC4.1"} <= uncovered["soc2"]
    assert {"AU-2", "AU-12", "CA-7"} <= uncovered["nist-800-53"]
    for framework in frameworks():
        assert all(c.why for c in framework.not_covered)
        assert not uncovered[framework.id] & _cited(framework.id)


def test_a_third_party_rule_maps_by_its_topics() -> None:
    assert {"transport", "audit"} <= topics()
    assert controls_for("ACME-X-01", ("transport",))["nist-800-53"] == ("SC-8(1)", "SC-13")
    assert not any(controls_for("ACME-X-01", ("audit",)).values())
    assert control_reasons("ACME-X-01") == {}


def test_the_rule_pack_entry_carries_reasons_and_unit() -> None:
    in01 = next(r for r in RULES if r.id == "MTLS-IN-01")
    entry = json.loads(json.dumps(rule_entry(in01)))
    assert entry["unit"] == ["API path", "API paths"]
    assert entry["control_reasons"]["nist-800-53"]["SC-23"]
    foreign = Rule("ACME-X-01", "x", "X", in01.severity, (), "", {}, in01.judge, Certificate)
    assert population_unit(foreign) == ("certificate", "certificates")
    per_service = Rule("ACME-X-02", "y", "Y", in01.severity, (), "", {}, in01.judge, Service)
    assert population_unit(per_service) == ("subject", "subjects")
