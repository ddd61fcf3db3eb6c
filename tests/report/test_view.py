"""The report's context: ordering, bounds, control status and verdicts read from the evidence."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from mtls_audit.evidence.reader import (
    ServiceOwners,
    natural_key,
    owning_service,
    resource_name,
    verdict,
)
from mtls_audit.report.findings import DEFAULT_TOP_N, MIN_SUBJECTS, prose
from mtls_audit.report.tables import (
    COVERAGE_GROUPS,
    OPERATIONS_PER_GROUP,
    fair_share,
)
from mtls_audit.report.view import build_view

from .evidence_factory import DR, PROD, empty_evidence


def view_of(evidence: dict[str, Any], **options: Any) -> Any:
    return build_view(evidence, evidence_sha256="0" * 64, **options)


def test_findings_are_bounded_to_top_n_and_say_how_many_more(realistic: dict[str, Any]) -> None:
    template = next(r for r in realistic["results"] if r["rule_id"] == "MTLS-KV-09")
    for index in range(30):
        extra = copy.deepcopy(template)
        extra.update(status="fail", severity="low", resource_id=f"{PROD}/certificates/c{index}")
        realistic["results"].append(extra)
    section = next(f for f in view_of(realistic).findings if f.rule_id == "MTLS-KV-09")
    assert len(section.rows.shown) == 25
    assert section.rows.more == 32 - 25
    assert section.rows.shown[0].severity == "critical"
    assert [row.severity for row in section.rows.shown[:2]] == ["critical", "high"]
    narrow = next(f for f in view_of(realistic, top_n=3).findings if f.rule_id == "MTLS-KV-09")
    assert (len(narrow.rows.shown), narrow.rows.more) == (3, 29)


def test_findings_list_failing_rules_first_then_indeterminate(realistic: dict[str, Any]) -> None:
    view = view_of(realistic)
    assert [f.rule_id for f in view.findings] == [
        "MTLS-GW-01",
        "MTLS-IN-01",
        "MTLS-KV-09",
        "MTLS-EVID-01",
    ]
    in01 = view.findings[1]
    assert [row.status for row in in01.rows.shown] == ["fail", "indeterminate"]
    assert in01.rows.shown[0].location == "policies/patients.xml:3"
    assert in01.rationale
    assert [(r.label, r.code, r.printed) for r in in01.remediation][:2] == [
        ("Azure portal", False, True),
        ("Azure CLI", True, False),
    ]


def test_tests_of_controls_count_each_rules_results(realistic: dict[str, Any]) -> None:
    tables = {t.framework: t for t in view_of(realistic).control_tests}
    assert list(tables) == ["hipaa", "soc2", "nist-800-53"]
    in01 = [r for r in realistic["results"] if r["rule_id"] == "MTLS-IN-01"]
    row = next(r for r in tables["nist-800-53"].rows if r.rule_id == "MTLS-IN-01")
    failed = sum(r["status"] == "fail" for r in in01)
    unknown = sum(r["status"] == "indeterminate" for r in in01)
    population = sum(r["status"] != "not_applicable" for r in in01)
    assert (row.exceptions, row.unknown, row.population) == (failed, unknown, population)
    assert row.result == (
        f"Exceptions noted: {failed} of {population} subjects; "
        f"not determined: {unknown} of {population} subjects"
    )
    assert row.criteria == ["IA-3", "IA-5(2)"]
    tls = next(r for r in tables["nist-800-53"].rows if r.rule_id == "MTLS-TLS-01")
    assert tls.result == "No exceptions noted"
    assert tables["nist-800-53"].not_covered


def test_a_rule_without_results_is_not_performed_and_never_passes(
    realistic: dict[str, Any],
) -> None:
    realistic["results"] = [r for r in realistic["results"] if r["rule_id"] != "MTLS-TLS-01"]
    nist = {t.framework: t for t in view_of(realistic).control_tests}["nist-800-53"]
    assert "MTLS-TLS-01" in nist.not_performed
    assert all(row.rule_id != "MTLS-TLS-01" for row in nist.rows)


def test_units_agree_with_counts_and_tests_are_plain_text(realistic: dict[str, Any]) -> None:
    realistic["rule_pack"][2]["unit"] = ["API path", "API paths"]
    realistic["rule_pack"][2]["summary"] = "Every ``validate-client-certificate`` is checked."
    row = next(r for r in view_of(realistic).control_tests[0].rows if r.rule_id == "MTLS-IN-01")
    assert row.unit == "API paths"
    assert row.test == "Every validate-client-certificate is checked."


def test_the_same_cause_is_one_issue(realistic: dict[str, Any]) -> None:
    failed = [r for r in realistic["results"] if r["status"] == "fail"]
    twin = copy.deepcopy(failed[0])
    twin.update(rule_id="MTLS-IN-04", subject="another", resource_id=f"{PROD}/apis/other")
    realistic["results"].append(twin)
    view = view_of(realistic)
    issue = next(i for i in view.issues.shown if twin["rule_id"] in i.rules)
    assert failed[0]["rule_id"] in issue.rules or not failed[0]["evidence"]
    listed = {(row.rule_id, row.subject) for row in view.exception_list.shown}
    opened = [r for r in realistic["results"] if r["status"] in ("fail", "indeterminate")]
    assert listed == {(r["rule_id"], r["subject"]) for r in opened}


def test_top_risks_describe_failures_in_words(realistic: dict[str, Any]) -> None:
    risks = view_of(realistic).top_risks
    assert risks[0].rule_id == "MTLS-GW-01"
    kv = next(r for r in risks if r.rule_id == "MTLS-KV-09")
    assert kv.counts == "2 of 3 assessed subjects fail."  # no unit in the rule pack
    realistic["rule_pack"][4]["unit"] = ["certificate", "certificates"]
    kv = next(r for r in view_of(realistic).top_risks if r.rule_id == "MTLS-KV-09")
    assert kv.counts == "2 of 3 certificates fail."
    why = "Without this control (certificate-expiry), a client that holds no trusted certificate"
    assert kv.why == [
        [(f"{why} can reach protected health information behind the gateway.", False)]
    ]
    for rule in realistic["rule_pack"]:
        del rule["rationale"]
    kv = next(r for r in view_of(realistic).top_risks if r.rule_id == "MTLS-KV-09")
    assert kv.why == [[("Certificates are not expired or near expiry.", False)]]


def test_coverage_groups_operations_problems_first_and_is_bounded(
    realistic: dict[str, Any],
) -> None:
    row = realistic["coverage"][1]  # patients / list-patients: validated, product clinical
    realistic["coverage"] += [
        {**row, "operation_id": f"{row['api_id']}/operations/op{i}", "operation": f"op{i}"}
        for i in range(100)
    ]
    realistic["coverage"] += [
        {**row, "api": f"zz{i}", "api_id": f"{row['api_id']}{i}", "operation": "get"}
        for i in range(COVERAGE_GROUPS)
    ]
    coverage = view_of(realistic).coverage
    assert coverage is not None
    assert coverage.total == 106 + COVERAGE_GROUPS
    assert coverage.counts == {
        "bypass": 1,
        "not-validated": 1,
        "indeterminate": 1,
        "validated": 103 + COVERAGE_GROUPS,
    }
    groups = coverage.groups
    assert [g.verdict for g in groups[:3]] == ["bypass", "not-validated", "indeterminate"]
    assert len(groups) == COVERAGE_GROUPS
    # list-patients, update-patient and the 100 added operations share api, product and reason.
    patients = next(g for g in groups if g.api == "patients" and g.verdict == "validated")
    assert (patients.service, patients.product, patients.reason) == (
        resource_name(PROD),
        "clinical",
        "validate-client-certificate",
    )
    assert patients.operations.shown[:3] == ["list-patients", "op0", "op1"]
    assert len(patients.operations.shown) == OPERATIONS_PER_GROUP
    assert patients.operations.more == 102 - OPERATIONS_PER_GROUP
    # 3 problem groups, then the validated groups in API order: echo, patients, zz0, zz1, …
    shown_apis = [g.api for g in groups[3:]]
    assert shown_apis[:4] == ["echo", "patients", "zz0", "zz1"]
    assert shown_apis == sorted(shown_apis, key=natural_key)
    assert coverage.more_operations == 5  # zz35..zz39, one operation each
    assert coverage.apis.shown[0].api == "billing"


def test_certificates_soonest_expiry_first_with_states(realistic: dict[str, Any]) -> None:
    realistic["inventory"]["certificates"].append(
        {"kind": "ca", "name": "unknown-expiry", "expiry": None, "days_left": None}
    )
    rows = view_of(realistic).certificates.shown
    assert [r.certificate["name"] for r in rows] == [
        "partner-root",
        "gateway-tls",
        "ehr-client",
        "unknown-expiry",
    ]
    assert [r.state for r in rows] == ["expired", "expiring", "valid", "unknown"]
    assert rows[-1].expiry_date == "unknown"


def test_empty_sections_are_empty_not_missing() -> None:
    view = view_of(empty_evidence())
    assert view.coverage is None
    assert view.certificates.shown == []
    assert view.findings == []
    assert view.top_risks == []
    assert view.waived.shown == []
    assert view.waivers == []


@pytest.mark.parametrize(
    ("gate", "outcome", "words"),
    [
        (
            {"fail_on": "critical", "failing": 2, "incomplete": False, "exit_code": 1},
            "fail",
            "2 findings",
        ),
        (
            {"fail_on": "high", "failing": 1, "incomplete": True, "exit_code": 1},
            "fail",
            "incomplete",
        ),
        (
            {"fail_on": "critical", "failing": 0, "incomplete": True, "exit_code": 3},
            "incomplete",
            "1 gap",
        ),
        (
            {"fail_on": "critical", "failing": 0, "incomplete": False, "exit_code": 0},
            "pass",
            "No finding",
        ),
        (
            {"fail_on": "none", "failing": 0, "incomplete": False, "exit_code": 0},
            "not_gated",
            "not gated",
        ),
    ],
)
def test_verdict_reads_the_gate(
    realistic: dict[str, Any], gate: dict[str, Any], outcome: str, words: str
) -> None:
    realistic["summary"]["gate"] = gate
    result = verdict(realistic)
    assert result.outcome == outcome
    assert words in result.sentence


def test_owning_service_matches_ids_case_insensitively() -> None:
    assert owning_service(f"{PROD.upper()}/apis/x", [DR, PROD]) == PROD
    assert owning_service(f"{PROD}-staging/apis/x", [PROD]) is None
    assert owning_service(PROD, [PROD]) == PROD


def test_service_owners_answer_as_owning_service_and_look_each_id_up_once() -> None:
    services = [DR, PROD, f"{PROD}/apis/x"]
    owners = ServiceOwners(iter(services))  # read once: the services may be any iterable
    ids = [f"{PROD.upper()}/apis/x/operations/o", f"{PROD}-staging/apis/x", DR, f"{DR}/"]
    for resource_id in ids * 2:
        assert owners[resource_id] == owning_service(resource_id, services)
    assert owners[ids[0]] == PROD  # the first service in order that holds the id
    assert len(owners) == len(ids)


def test_rule_text_keeps_paragraphs_and_marks_literals() -> None:
    text = "Checks ``negotiateClientCertificate`` on\n  every hostname.\n\nSecond ``a`` b."
    assert prose(text) == [
        [("Checks ", False), ("negotiateClientCertificate", True), (" on every hostname.", False)],
        [("Second ", False), ("a", True), (" b.", False)],
    ]


@pytest.mark.parametrize(
    ("sizes", "budget", "share"),
    [([9, 9, 1], 10, 4), ([1, 2], 60, 25), ([100] * 40, 60, 3), ([], 60, 25)],
)
def test_fair_share_fills_small_groups_first(sizes: list[int], budget: int, share: int) -> None:
    assert fair_share(sizes, budget, 25, 3) == share


def test_many_failing_rules_show_fewer_subjects_each(realistic: dict[str, Any]) -> None:
    assert view_of(realistic).top_n == DEFAULT_TOP_N
    template = next(r for r in realistic["results"] if r["rule_id"] == "MTLS-KV-09")
    for number in range(30):
        rule = {**realistic["rule_pack"][4], "id": f"MTLS-X-{number:02d}"}
        realistic["rule_pack"].append(rule)
        for index in range(10):
            extra = copy.deepcopy(template)
            extra.update(
                rule_id=rule["id"], status="fail", resource_id=f"{PROD}/certificates/c{index}"
            )
            realistic["results"].append(extra)
    view = view_of(realistic)
    assert view.top_n == MIN_SUBJECTS
    sections = {f.rule_id: f for f in view.findings}
    assert len(sections) == 34
    assert (len(sections["MTLS-X-07"].rows.shown), sections["MTLS-X-07"].rows.more) == (
        MIN_SUBJECTS,
        10 - MIN_SUBJECTS,
    )
    assert sum(len(f.rows.shown) for f in view.findings) <= 34 * MIN_SUBJECTS


def test_citations_name_their_place_once_per_rule(realistic: dict[str, Any]) -> None:
    first = next(
        r for r in realistic["results"] if r["rule_id"] == "MTLS-IN-01" and r["status"] == "fail"
    )
    again = copy.deepcopy(first)
    again["resource_id"] = first["resource_id"].replace("get-patient", "put-patient")
    realistic["results"].append(again)
    view = view_of(realistic)
    in01 = next(f for f in view.findings if f.rule_id == "MTLS-IN-01")
    shown = in01.rows.shown[0].evidence[0]
    # The same cause on another subject comes after the distinct subjects, citation shortened.
    repeated = next(r for r in in01.rows.shown if "put-patient" in r.resource_id).evidence[0]
    assert (shown.resource_id, shown.place) == ("", "scope api:patients, line 3")
    assert shown.detail.startswith("<inbound>")
    assert repeated.place == "scope api:patients, line 3 (excerpt as above)"
    assert repeated.detail == ""
    gw01 = next(f for f in view.findings if f.rule_id == "MTLS-GW-01")
    assert gw01.rows.shown[0].evidence[0].resource_id == ""  # the result's own resource
    evid = next(f for f in view.findings if f.rule_id == "MTLS-EVID-01")
    assert evid.rows.shown[0].evidence[0].resource_id.endswith("/vaults/kv-contoso-certs")


def test_the_exception_appendix_says_how_many_it_left_out(
    realistic: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    from mtls_audit.report import issues

    monkeypatch.setattr(issues, "APPENDIX_LIMIT", 2)
    opened = [r for r in realistic["results"] if r["status"] in ("fail", "indeterminate")]
    listed = view_of(realistic).exception_list
    assert len(listed.shown) == 2
    assert listed.more == len(opened) - 2
    assert [row.status for row in listed.shown] == ["fail", "fail"]
