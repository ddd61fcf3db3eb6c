"""JUnit XML for CI test tabs: one suite per service, one test case per result.

Statuses map to JUnit as: fail → ``failure``; indeterminate → ``error`` (the check could not be
made); not_applicable and waived → ``skipped``; pass → a plain test case. Results outside every
service in scope, and run-level errors (as ``error`` cases), go to a suite named "estate".

Each test case is named by the rule's slug, the subject and, when the rule judged the subject
more than once (an operation on each product path, a policy at each line), the result's key:
``validation-coverage: Billing [product:internal-staff]``. CI reporters merge cases with the same
(classname, name), so no pair repeats in the document: where one still would, the name adds the
resource id, then the result's fingerprint.
The XML is built with ElementTree, and characters XML 1.0 cannot carry are written as escapes.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections import Counter
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from mtls_audit.evidence.reader import (
    Evidence,
    check_evidence,
    evidence_line,
    owning_service,
    remediation_steps,
    resource_name,
    rules_by_id,
    service_ids,
    visible,
    waiver_summary,
)
from mtls_audit.output_files import write_file

ESTATE = "estate"
Case = tuple[Mapping[str, Any], str]  # a result and its test case name
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def xml_safe(text: str) -> str:
    """Text XML 1.0 can carry: invisible characters and those XML forbids become escapes."""
    return _NOT_XML.sub(lambda match: f"\\u{ord(match.group()):04x}", visible(text))


def write_junit(evidence: Evidence, out: Path) -> None:
    check_evidence(evidence)
    services = service_ids(evidence)
    grouped: dict[str, list[Case]] = {sid: [] for sid in services}
    estate: list[Case] = []
    results = evidence["results"]
    for result, name in zip(results, case_names(results), strict=True):
        owner = owning_service(result["resource_id"], services)
        (grouped[owner] if owner else estate).append((result, name))
    remedies = {rid: _remediation(rule) for rid, rule in rules_by_id(evidence).items()}
    root = ET.Element("testsuites", {"name": "mtls-audit"})
    suites = [_suite(resource_name(sid), sid, grouped[sid], remedies) for sid in services]
    if estate or evidence.get("errors"):
        suite = _suite(ESTATE, None, estate, remedies)
        seen: Counter[str] = Counter()
        for error in evidence.get("errors", []):
            classname = str(error.get("rule_id") or error.get("pack") or "run")
            seen[classname] += 1
            _error_case(suite, classname, seen[classname], error)
        suites.append(suite)
    for suite in suites:
        suite.set("timestamp", str(evidence["run"]["finished_at"])[:19])
        root.append(suite)
    _set_counts(root, suites)
    ET.indent(root)
    write_file(out, ET.tostring(root, encoding="utf-8", xml_declaration=True))


def case_names(results: Sequence[Mapping[str, Any]]) -> list[str]:
    """A test case name per result, no (rule id, name) pair twice: slug, subject and key; the
    resource id, then the fingerprint, added where that is not enough."""
    names = [_short_name(r) for r in results]
    for widen in (_with_resource, _with_fingerprint):
        repeated = Counter(zip((r["rule_id"] for r in results), names, strict=True))
        names = [
            widen(name, r) if repeated[(r["rule_id"], name)] > 1 else name
            for r, name in zip(results, names, strict=True)
        ]
    return names


def _short_name(result: Mapping[str, Any]) -> str:
    name = (
        f"{result.get('slug', '')}: {result.get('subject') or resource_name(result['resource_id'])}"
    )
    key = result.get("key")
    shown = key and str(key).lower() != str(result.get("subject", "")).lower()
    return f"{name} [{key}]" if shown else name


def _with_resource(name: str, result: Mapping[str, Any]) -> str:
    return f"{name} ({result['resource_id']})"


def _with_fingerprint(name: str, result: Mapping[str, Any]) -> str:
    return f"{name} #{result['fingerprint'][:12]}"


def _suite(
    name: str,
    service_id: str | None,
    cases: Sequence[Case],
    remedies: Mapping[str, str],
) -> ET.Element:
    suite = ET.Element("testsuite", {"name": xml_safe(name)})
    if service_id:
        properties = ET.SubElement(suite, "properties")
        ET.SubElement(properties, "property", {"name": "service_id", "value": xml_safe(service_id)})
    for result, case_name in cases:
        _case(suite, result, case_name, remedies.get(result["rule_id"], ""))
    return suite


def _case(suite: ET.Element, result: Mapping[str, Any], name: str, remedy: str) -> None:
    case = ET.SubElement(
        suite,
        "testcase",
        {"classname": xml_safe(result["rule_id"]), "name": xml_safe(name), "time": "0"},
    )
    status, message = result["status"], xml_safe(result["message"])
    if status in ("fail", "indeterminate"):
        tag = "failure" if status == "fail" else "error"
        cited = [evidence_line(item, limit=1000).as_text() for item in result["evidence"]]
        body = [f"{result['resource_id']}", *cited]
        if remedy:
            body += ["", "How to fix it:", remedy]
        outcome = ET.SubElement(
            case, tag, {"message": message, "type": f"{status}:{result['severity']}"}
        )
        outcome.text = xml_safe("\n".join(body))
    elif status == "not_applicable":
        ET.SubElement(case, "skipped", {"message": f"not applicable: {message}"})
    elif status == "waived":
        reason = xml_safe(waiver_summary(result))
        ET.SubElement(case, "skipped", {"message": f"waived: {reason}"})


def _error_case(suite: ET.Element, classname: str, nth: int, error: Mapping[str, Any]) -> None:
    """A run-level error as an ``error`` case: the n-th of its rule (or pack) is "run-error n"."""
    name = "run-error" if nth == 1 else f"run-error {nth}"
    case = ET.SubElement(
        suite, "testcase", {"classname": xml_safe(classname), "name": name, "time": "0"}
    )
    ET.SubElement(
        case,
        "error",
        {"message": xml_safe(str(error.get("message", ""))), "type": str(error.get("kind"))},
    )


def _remediation(rule: Mapping[str, Any]) -> str:
    return "\n".join(f"{label}: {text}" for _, label, text in remediation_steps(rule))


def _set_counts(root: ET.Element, suites: Sequence[ET.Element]) -> None:
    totals: Counter[str] = Counter()
    for suite in suites:
        cases = suite.findall("testcase")
        counts = {
            "tests": len(cases),
            "failures": sum(1 for c in cases if c.find("failure") is not None),
            "errors": sum(1 for c in cases if c.find("error") is not None),
            "skipped": sum(1 for c in cases if c.find("skipped") is not None),
        }
        totals.update(counts)
        for key, value in counts.items():
            suite.set(key, str(value))
        suite.set("time", "0")
    for key in ("tests", "failures", "errors", "skipped"):
        root.set(key, str(totals[key]))
    root.set("time", "0")
