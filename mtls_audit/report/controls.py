"""Tests of controls: per framework, each criterion, the control as the entity runs it, the test
performed, the population tested with its counting unit, and the result in audit words.

A row is one rule under the criteria it evidences in that framework (the mapping catalogue says
why for each pair). The result counts the rule's results as the assessment recorded them:
"No exceptions noted", "Exceptions noted: 9 of 32 API paths", and results that could not be
determined named as such; a rule with nothing to test is listed as not performed, never as a pass.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from mtls_audit.evidence.headline import EXCEPTION_STATUSES
from mtls_audit.evidence.reader import FRAMEWORK_LABELS, natural_key, result_counts
from mtls_audit.frameworks import frameworks

TEST_LIMIT = 170  # characters of the test's wording printed in the PDF
_LITERAL = re.compile(r"``?([^`]*)``?")
_SENTENCE_END = re.compile(r"(?<=[a-z0-9)\]\"'])\.\s+(?=[A-Z(])")


@dataclass(frozen=True)
class ControlTest:
    criteria: Sequence[str]  # control ids of the framework, in catalogue order
    rule_id: str
    control: str  # the rule's title: the control as the entity runs it
    test: str  # what the rule checks, in plain words
    short_test: str  # its first sentences, at most TEST_LIMIT characters
    population: int
    unit: str  # the counting unit, plural or singular to agree with the population
    exceptions: int
    unknown: int
    waived: int
    first: bool = True  # the rule's first row across the frameworks' tables

    @property
    def result(self) -> str:
        if not self.population:
            return "Not performed: nothing in scope"
        of = f"of {self.population} {self.unit}"
        if self.exceptions:
            text = f"Exceptions noted: {self.exceptions} {of}"
            if self.waived:
                text += f" ({self.waived} under risk acceptance)"
        elif self.unknown:
            text = "No exceptions noted in the results determined"
        else:
            text = "No exceptions noted"
        if self.unknown:
            text += f"; not determined: {self.unknown} {of}"
        return text


@dataclass(frozen=True)
class Criterion:
    id: str
    title: str


@dataclass(frozen=True)
class FrameworkTests:
    framework: str
    label: str
    rows: Sequence[ControlTest]  # rules with a population, by their first criterion
    not_performed: Sequence[str]  # rule ids citing the framework with nothing to test
    criteria: Sequence[Criterion]  # the criteria cited, with titles
    not_covered: Sequence[tuple[str, str, str]]  # (id, title, why)


def plain(text: str) -> str:
    """Rule text without its literal markup, on one line."""
    return " ".join(_LITERAL.sub(r"\1", text).split())


def first_sentences(text: str, limit: int = TEST_LIMIT) -> str:
    """Whole sentences from the start that fit ``limit``; at least the first, cut at a word."""
    sentences = _SENTENCE_END.split(text)
    kept = sentences[0]
    for sentence in sentences[1:]:
        if len(kept) + len(sentence) + 2 > limit:
            break
        kept = f"{kept}. {sentence}"
    if len(kept) <= limit:
        return kept if kept.endswith(".") or kept == text else kept + "."
    return kept[: limit - 1].rsplit(" ", 1)[0].rstrip(",;:") + " …"


def control_tests(
    rule_pack: Sequence[Mapping[str, Any]], by_rule: Mapping[str, Sequence[Mapping[str, Any]]]
) -> list[FrameworkTests]:
    """One table per framework any rule cites, the known frameworks first."""
    catalogue = {f.id: f for f in frameworks()}
    cited = {fw for rule in rule_pack for fw, ids in rule.get("controls", {}).items() if ids}
    order = [fw for fw in FRAMEWORK_LABELS if fw in cited] + sorted(cited - set(FRAMEWORK_LABELS))
    tables = []
    seen: set[str] = set()
    for fw in order:
        known = catalogue.get(fw)
        titles = {c.id: c.title for c in known.controls} if known else {}
        rows: list[ControlTest] = []
        idle: list[ControlTest] = []
        criteria: set[str] = set()
        for rule in rule_pack:
            ids = sorted(rule.get("controls", {}).get(fw, []), key=natural_key)
            if not ids:
                continue
            criteria.update(ids)
            row = _row(rule, ids, by_rule.get(rule["id"], []))
            (rows if row.population else idle).append(row)
        rows.sort(key=lambda r: ([natural_key(c) for c in r.criteria], natural_key(r.rule_id)))
        rows = [replace(row, first=row.rule_id not in seen) for row in rows]
        seen.update(row.rule_id for row in rows)
        tables.append(
            FrameworkTests(
                framework=fw,
                label=FRAMEWORK_LABELS.get(fw) or fw,
                rows=rows,
                not_performed=sorted((r.rule_id for r in idle), key=natural_key),
                criteria=[
                    Criterion(c, titles.get(c, "")) for c in sorted(criteria, key=natural_key)
                ],
                not_covered=[(c.id, c.title, c.why) for c in known.not_covered] if known else [],
            )
        )
    return tables


def _row(
    rule: Mapping[str, Any], criteria: Sequence[str], results: Sequence[Mapping[str, Any]]
) -> ControlTest:
    counts = result_counts(results)
    population = sum(counts.values()) - counts["not_applicable"]
    one, many = _unit(rule)
    test = plain(str(rule.get("summary", ""))) or "The rule pack does not describe this test."
    return ControlTest(
        criteria=criteria,
        rule_id=rule["id"],
        control=str(rule.get("title", rule["id"])),
        test=test,
        short_test=first_sentences(test),
        population=population,
        unit=one if population == 1 else many,
        exceptions=sum(counts[s] for s in EXCEPTION_STATUSES),
        unknown=counts["indeterminate"],
        waived=counts["waived"],
    )


def _unit(rule: Mapping[str, Any]) -> tuple[str, str]:
    unit = rule.get("unit")
    if isinstance(unit, list) and len(unit) == 2:
        return str(unit[0]), str(unit[1])
    return "subject", "subjects"


@dataclass(frozen=True)
class Reason:
    """Why some rules evidence a criterion: rules sharing the same sentence are listed together."""

    framework: str
    criterion: str
    rules: Sequence[str]
    why: str


def reasons(rule_pack: Sequence[Mapping[str, Any]]) -> list[Reason]:
    """The mapping's reasons, per framework and criterion, each sentence once."""
    grouped: dict[tuple[str, str, str], list[str]] = {}
    for rule in rule_pack:
        for fw, pairs in (rule.get("control_reasons") or {}).items():
            for criterion, why in pairs.items():
                grouped.setdefault((fw, criterion, str(why)), []).append(rule["id"])
    order = {fw: index for index, fw in enumerate(FRAMEWORK_LABELS)}
    ranked = sorted(
        grouped.items(),
        key=lambda item: (order.get(item[0][0], len(order)), item[0][0], natural_key(item[0][1])),
    )
    return [
        Reason(FRAMEWORK_LABELS.get(fw) or fw, criterion, sorted(ids, key=natural_key), why)
        for (fw, criterion, why), ids in ranked
    ]
