"""JUnit XML for CI test tabs: one suite per service, one test case per result.

Statuses map to JUnit as: fail → ``failure``; indeterminate → ``error`` (the check could not be
made); not_applicable and waived → ``skipped``; pass → a plain test case. Results outside every
service in scope, and run-level errors (as ``error`` cases), go to a suite named "estate".

Each test case is named by the rule's slug, the subject and, when the rule judged the subject
more than once (an operation on each product path, a policy at each line), the result's key:
``validation-coverage: Billing [product:internal-staff]``. CI reporters merge cases with the same
(classname, name), so no pair repeats in the document: where one still would, the name adds the
resource id, then the result's fingerprint.

Characters XML 1.0 cannot carry are written as escapes. The document is written line by line
as it is made, escaped with :func:`xml.sax.saxutils.escape`, in exactly the bytes ElementTree
writes for the same tree indented by ``ET.indent`` (a test checks it): ElementTree's serializer,
pure Python, took most of the time on large estates, and the tree most of the memory.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import islice
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
# The outcome element of a status (a pass has none), and the count it adds to.
_OUTCOMES = {
    "fail": "failure",
    "indeterminate": "error",
    "not_applicable": "skipped",
    "waived": "skipped",
}
_COUNTED = {"failure": "failures", "error": "errors", "skipped": "skipped"}
_COUNTS = ("tests", *_COUNTED.values())
_LINES_PER_PIECE = 2000  # lines encoded and written at a time


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
    children: Iterable[str] = (),
    text: str = "",
) -> Iterator[str]:
    """An element as ElementTree writes it once indented by ``ET.indent``, line by line:
    ``children`` are the lines of its child elements, at ``depth + 1``; ``text`` (character data)
    is written when there are none."""
    pad = _INDENT * depth
    start = pad + "<" + tag
    for name, value in attributes.items():
        if _IN_ATTRIBUTE.search(value):
            value = escape(value, _ATTRIBUTE_ENTITIES)
        start += f' {name}="{value}"'
    lines = iter(children)
    first = next(lines, None)
    if first is not None:
        yield start + ">"
        yield first
        yield from lines
        yield f"{pad}</{tag}>"
    elif text:
        yield f"{start}>{escape(text)}</{tag}>"
    else:
        yield start + " />"


@dataclass
class _Suite:
    """A test suite: its name, the service it stands for, its results with their test case
    names, and the run-level errors it reports (the estate's)."""

    name: str
    service_id: str | None
    cases: list[Case] = field(default_factory=list)
    errors: Sequence[Mapping[str, Any]] = ()

    def counts(self) -> dict[str, int]:
        outcomes = Counter(_OUTCOMES.get(result["status"]) for result, _ in self.cases)
        outcomes["error"] += len(self.errors)
        counts = {"tests": len(self.cases) + len(self.errors)}
        return counts | {count: outcomes[outcome] for outcome, count in _COUNTED.items()}


def write_junit(evidence: Evidence, out: Path) -> None:
    check_evidence(evidence)
    services = service_ids(evidence)
    owners = ServiceOwners(services)
    grouped = {sid: _Suite(resource_name(sid), sid) for sid in services}
    estate = _Suite(ESTATE, None, errors=evidence.get("errors", []))
    results = evidence["results"]
    for result, name in zip(results, case_names(results), strict=True):
        owner = owners[result["resource_id"]]
        (grouped[owner] if owner else estate).cases.append((result, name))
    suites = [grouped[sid] for sid in services]
    if estate.cases or estate.errors:
        suites.append(estate)
    remedies = {rid: _remediation(rule) for rid, rule in rules_by_id(evidence).items()}
    timestamp = str(evidence["run"]["finished_at"])[:19]
    write_file(out, _encoded(_document(suites, timestamp, remedies)))


def _document(
    suites: Sequence[_Suite], timestamp: str, remedies: Mapping[str, str]
) -> Iterator[str]:
    counts = [suite.counts() for suite in suites]
    totals: Counter[str] = Counter()
    for suite_counts in counts:
        totals.update(suite_counts)
    attributes = {"name": "mtls-audit", **{key: str(totals[key]) for key in _COUNTS}}
    children = (
        line
        for suite, suite_counts in zip(suites, counts, strict=True)
        for line in _suite(suite, suite_counts, timestamp, remedies)
    )
    yield XML_DECLARATION
    yield from _element("testsuites", {**attributes, "time": "0"}, 0, children)


def _encoded(lines: Iterable[str]) -> Iterator[bytes]:
    """The lines as one document, some thousand at a time, encoded as ElementTree encodes: a
    character UTF-8 cannot carry becomes a character reference."""
    lines = iter(lines)
    separator = ""
    while piece := list(islice(lines, _LINES_PER_PIECE)):
        yield (separator + "\n".join(piece)).encode("utf-8", "xmlcharrefreplace")
        separator = "\n"


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
    suite: _Suite, counts: Mapping[str, int], timestamp: str, remedies: Mapping[str, str]
) -> Iterator[str]:
    attributes = {"name": xml_safe(suite.name), "timestamp": timestamp}
    attributes |= {key: str(value) for key, value in counts.items()}
    yield from _element("testsuite", {**attributes, "time": "0"}, 1, _cases(suite, remedies))


def _cases(suite: _Suite, remedies: Mapping[str, str]) -> Iterator[str]:
    """The lines of a suite's children: its properties, then its test cases."""
    if suite.service_id:
        value = xml_safe(suite.service_id)
        prop = _element("property", {"name": "service_id", "value": value}, 3)
        yield from _element("properties", {}, 2, prop)
    for result, case_name in suite.cases:
        yield from _case(result, case_name, remedies.get(result["rule_id"], ""))
    seen: Counter[str] = Counter()
    for error in suite.errors:
        classname = str(error.get("rule_id") or error.get("pack") or "run")
        seen[classname] += 1
        yield from _error_case(classname, seen[classname], error)


def _case(result: Mapping[str, Any], name: str, remedy: str) -> Iterator[str]:
    """A result's test case. ``remedy`` is the rule's remediation, already made XML-safe."""
    status = result["status"]
    attributes = {"classname": xml_safe(result["rule_id"]), "name": xml_safe(name), "time": "0"}
    tag = _OUTCOMES.get(status)
    if tag in ("failure", "error"):
        cited = [evidence_line(item, limit=1000).as_text() for item in result["evidence"]]
        # xml_safe() escapes character by character and leaves line breaks: line by line is the
        # same, and the remedy, shared by the rule's results, is made safe once.
        body = [xml_safe(line) for line in (str(result["resource_id"]), *cited)]
        if remedy:
            body += ["", "How to fix it:", remedy]
        outcome = {"message": xml_safe(result["message"]), "type": f"{status}:{result['severity']}"}
        child = _element(tag, outcome, 3, text="\n".join(body))
    elif status == "not_applicable":
        message = f"not applicable: {xml_safe(result['message'])}"
        child = _element("skipped", {"message": message}, 3)
    elif status == "waived":
        reason = xml_safe(waiver_summary(result))
        child = _element("skipped", {"message": f"waived: {reason}"}, 3)
    else:
        child = iter(())
    return _element("testcase", attributes, 2, child)


def _error_case(classname: str, nth: int, error: Mapping[str, Any]) -> Iterator[str]:
    """A run-level error as an ``error`` case: the n-th of its rule (or pack) is "run-error n"."""
    name = "run-error" if nth == 1 else f"run-error {nth}"
    message = {"message": xml_safe(str(error.get("message", ""))), "type": str(error.get("kind"))}
    child = _element("error", message, 3)
    attributes = {"classname": xml_safe(classname), "name": name, "time": "0"}
    return _element("testcase", attributes, 2, child)


def _remediation(rule: Mapping[str, Any]) -> str:
    """The rule's remediation per channel, made XML-safe."""
    return xml_safe("\n".join(f"{label}: {text}" for _, label, text in remediation_steps(rule)))
