"""JUnit XML for CI test tabs: one suite per service, one test case per result.

Statuses map to JUnit as: fail → ``failure``; indeterminate → ``error`` (the check could not be
made); not_applicable and waived → ``skipped``; pass → a plain test case. Results outside every
service in scope, and run-level errors (as ``error`` cases), go to a suite named "estate".

Each test case is named by the rule's slug, the subject and, when the rule judged the subject
more than once (an operation on each product path, a policy at each line), the result's key:
``validation-coverage: Billing [product:internal-staff]``. CI reporters merge cases with the same
(classname, name), so no pair repeats in the document: where one still would, the name adds the
resource id, then the result's fingerprint.

Characters XML 1.0 cannot carry are written as escapes. The document is written element by
element as text, escaped with :func:`xml.sax.saxutils.escape`, in exactly the bytes ElementTree
writes for the same tree indented by ``ET.indent`` (a test checks it): ElementTree's serializer,
pure Python, took most of the time on large estates.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

from mtls_audit.evidence.reader import (
    Evidence,
    ServiceOwners,
    check_evidence,
    evidence_line,
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
XML_DECLARATION = "<?xml version='1.0' encoding='utf-8'?>"
_INDENT = "  "
# Beyond & < >, what ElementTree escapes in an attribute value, and how.
_ATTRIBUTE_ENTITIES = {'"': "&quot;", "\r": "&#13;", "\n": "&#10;", "\t": "&#09;"}
_IN_ATTRIBUTE = re.compile('[&<>"\r\n\t]')  # most values have none: then one search is all
_COUNTED = {"failure": "failures", "error": "errors", "skipped": "skipped"}  # outcome: count
_COUNTS = ("tests", "failures", "errors", "skipped")


def xml_safe(text: str) -> str:
    """Text XML 1.0 can carry: invisible characters and those XML forbids become escapes."""
    if text.isascii() and text.isprintable():  # most text: nothing to escape, found in C
        return text
    shown = visible(text)
    if shown.isascii():  # visible() has escaped every ASCII character XML forbids
        return shown
    return _NOT_XML.sub(lambda match: f"\\u{ord(match.group()):04x}", shown)


def _element(
    tag: str,
    attributes: Mapping[str, str],
    depth: int,
    children: Sequence[str] = (),
    text: str = "",
) -> list[str]:
    """An element as ElementTree writes it once indented by ``ET.indent``, as lines: ``children``
    are the lines of its child elements, at ``depth + 1``; ``text`` (character data) is written
    when there are none. Joining the lines of a whole document at once spares copying it at
    each level."""
    pad = _INDENT * depth
    start = pad + "<" + tag
    for name, value in attributes.items():
        if _IN_ATTRIBUTE.search(value):
            value = escape(value, _ATTRIBUTE_ENTITIES)
        start += f' {name}="{value}"'
    if children:
        return [start + ">", *children, f"{pad}</{tag}>"]
    if text:
        return [f"{start}>{escape(text)}</{tag}>"]
    return [start + " />"]


@dataclass
class _Suite:
    """A test suite: its name and properties, the lines of its children, and what they count."""

    attributes: dict[str, str]
    children: list[str] = field(default_factory=list)
    counts: Counter[str] = field(default_factory=Counter)

    def add(self, case: list[str], outcome: str | None) -> None:
        self.children += case
        self.counts["tests"] += 1
        if outcome:
            self.counts[_COUNTED[outcome]] += 1

    def lines(self, timestamp: str) -> list[str]:
        counts = {key: str(self.counts[key]) for key in _COUNTS}
        attributes = {**self.attributes, "timestamp": timestamp, **counts, "time": "0"}
        return _element("testsuite", attributes, 1, self.children)


def write_junit(evidence: Evidence, out: Path) -> None:
    check_evidence(evidence)
    services = service_ids(evidence)
    owners = ServiceOwners(services)
    grouped: dict[str, list[Case]] = {sid: [] for sid in services}
    estate: list[Case] = []
    results = evidence["results"]
    for result, name in zip(results, case_names(results), strict=True):
        owner = owners[result["resource_id"]]
        (grouped[owner] if owner else estate).append((result, name))
    remedies = {rid: _remediation(rule) for rid, rule in rules_by_id(evidence).items()}
    suites = [_suite(resource_name(sid), sid, grouped[sid], remedies) for sid in services]
    if estate or evidence.get("errors"):
        suite = _suite(ESTATE, None, estate, remedies)
        seen: Counter[str] = Counter()
        for error in evidence.get("errors", []):
            classname = str(error.get("rule_id") or error.get("pack") or "run")
            seen[classname] += 1
            suite.add(_error_case(classname, seen[classname], error), "error")
        suites.append(suite)
    timestamp = str(evidence["run"]["finished_at"])[:19]
    totals: Counter[str] = sum((suite.counts for suite in suites), Counter())
    attributes = {"name": "mtls-audit"}
    attributes.update({key: str(totals[key]) for key in _COUNTS})
    children = [line for suite in suites for line in suite.lines(timestamp)]
    root = _element("testsuites", {**attributes, "time": "0"}, 0, children)
    # As ElementTree encodes: a character UTF-8 cannot carry becomes a character reference.
    write_file(out, "\n".join([XML_DECLARATION, *root]).encode("utf-8", "xmlcharrefreplace"))


def case_names(results: Sequence[Mapping[str, Any]]) -> list[str]:
    """A test case name per result, no (rule id, name) pair twice: slug, subject and key; the
    resource id, then the fingerprint, added where that is not enough."""
    names = [_short_name(r) for r in results]
    for widen in (_with_resource, _with_fingerprint):
        repeated = Counter(zip((r["rule_id"] for r in results), names, strict=True))
        if len(repeated) == len(names):  # no pair repeats: nothing to widen
            break
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
) -> _Suite:
    suite = _Suite({"name": xml_safe(name)})
    if service_id:
        value = xml_safe(service_id)
        prop = _element("property", {"name": "service_id", "value": value}, 3)
        suite.children += _element("properties", {}, 2, prop)
    for result, case_name in cases:
        suite.add(*_case(result, case_name, remedies.get(result["rule_id"], "")))
    return suite


def _case(result: Mapping[str, Any], name: str, remedy: str) -> tuple[list[str], str | None]:
    """A result's test case, and the tag of its outcome (None for a pass). ``remedy`` is the
    rule's remediation, already made XML-safe."""
    status = result["status"]
    attributes = {"classname": xml_safe(result["rule_id"]), "name": xml_safe(name), "time": "0"}
    if status in ("fail", "indeterminate"):
        tag = "failure" if status == "fail" else "error"
        cited = [evidence_line(item, limit=1000).as_text() for item in result["evidence"]]
        # xml_safe() escapes character by character and leaves line breaks: line by line is the
        # same, and the remedy, shared by the rule's results, is made safe once.
        body = [xml_safe(line) for line in (str(result["resource_id"]), *cited)]
        if remedy:
            body += ["", "How to fix it:", remedy]
        message = xml_safe(result["message"])
        outcome = {"message": message, "type": f"{status}:{result['severity']}"}
        child = _element(tag, outcome, 3, text="\n".join(body))
    elif status == "not_applicable":
        message = f"not applicable: {xml_safe(result['message'])}"
        tag, child = "skipped", _element("skipped", {"message": message}, 3)
    elif status == "waived":
        reason = xml_safe(waiver_summary(result))
        tag, child = "skipped", _element("skipped", {"message": f"waived: {reason}"}, 3)
    else:
        return _element("testcase", attributes, 2), None
    return _element("testcase", attributes, 2, child), tag


def _error_case(classname: str, nth: int, error: Mapping[str, Any]) -> list[str]:
    """A run-level error as an ``error`` case: the n-th of its rule (or pack) is "run-error n"."""
    name = "run-error" if nth == 1 else f"run-error {nth}"
    message = {"message": xml_safe(str(error.get("message", ""))), "type": str(error.get("kind"))}
    child = _element("error", message, 3)
    attributes = {"classname": xml_safe(classname), "name": name, "time": "0"}
    return _element("testcase", attributes, 2, child)


def _remediation(rule: Mapping[str, Any]) -> str:
    """The rule's remediation per channel, made XML-safe."""
    return xml_safe("\n".join(f"{label}: {text}" for _, label, text in remediation_steps(rule)))
