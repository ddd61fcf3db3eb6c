"""Control views of an assessment: which rules evidence each control, and how they fared.

A control's status is the worst status of the rules citing it, and a rule's status the worst of
its results, as the assessment recorded them. Controls are grouped into families (NIST families,
HIPAA sections, SOC 2 criteria series) whose short titles are kept here as data.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from mtls_audit.evidence.reader import (
    FRAMEWORK_LABELS,
    NOT_EVALUATED,
    STATUSES,
    natural_key,
    status_tally,
    worst_status,
)

FAMILY_TITLES = {
    "hipaa": {
        "164.308": "Administrative safeguards",
        "164.310": "Physical safeguards",
        "164.312": "Technical safeguards",
        "164.314": "Organizational requirements",
        "164.316": "Policies, procedures and documentation",
    },
    "soc2": {
        "CC1": "Control environment",
        "CC2": "Communication and information",
        "CC3": "Risk assessment",
        "CC4": "Monitoring activities",
        "CC5": "Control activities",
        "CC6": "Logical and physical access controls",
        "CC7": "System operations",
        "CC8": "Change management",
        "CC9": "Risk mitigation",
    },
    "nist-800-53": {
        "AC": "Access Control",
        "AU": "Audit and Accountability",
        "CA": "Assessment, Authorization, and Monitoring",
        "CM": "Configuration Management",
        "IA": "Identification and Authentication",
        "SC": "System and Communications Protection",
        "SI": "System and Information Integrity",
    },
}
_FAMILY_PATTERNS = {
    "hipaa": re.compile(r"^\d+\.\d+"),
    "soc2": re.compile(r"^[A-Z]+\d+"),
    "nist-800-53": re.compile(r"^[A-Z]+"),
}
_FALLBACK_PATTERN = re.compile(r"^[A-Za-z]+|^\d+(?:\.\d+)?")


@dataclass(frozen=True)
class RuleStatus:
    """A rule as the control tables show it: its results per status and the worst one."""

    rule_id: str
    counts: Mapping[str, int]
    status: str


@dataclass(frozen=True)
class ControlRow:
    control: str
    rules: Sequence[RuleStatus]
    status: str

    @property
    def tally(self) -> list[tuple[str, int]]:
        """How many of its evidencing rules have each status, worst first."""
        return status_tally(Counter(rule.status for rule in self.rules))


@dataclass(frozen=True)
class ControlTable:
    framework: str
    label: str
    rows: Sequence[ControlRow]


@dataclass(frozen=True)
class Family:
    """A control family and the rules citing any of its controls, grouped by their worst result."""

    code: str
    title: str
    rules: Sequence[RuleStatus]
    status: str

    @property
    def by_status(self) -> list[tuple[str, list[RuleStatus]]]:
        """The family's rules per worst result, worst first; results without rules left out."""
        order = [*STATUSES, NOT_EVALUATED]
        grouped = {status: [r for r in self.rules if r.status == status] for status in order}
        return [(status, rules) for status, rules in grouped.items() if rules]


@dataclass(frozen=True)
class FrameworkFamilies:
    framework: str
    label: str
    families: Sequence[Family]


def rule_statuses(
    rule_pack: Sequence[Mapping[str, Any]], counts_by_rule: Mapping[str, Mapping[str, int]]
) -> dict[str, RuleStatus]:
    """Every rule of the pack with its result counts; rules without results are not evaluated."""
    statuses = {}
    for rule in rule_pack:
        counts = {**dict.fromkeys(STATUSES, 0), **counts_by_rule.get(rule["id"], {})}
        worst = worst_status(status for status, count in counts.items() if count)
        statuses[rule["id"]] = RuleStatus(rule["id"], counts, worst or NOT_EVALUATED)
    return statuses


def control_tables(
    rule_pack: Sequence[Mapping[str, Any]], statuses: Mapping[str, RuleStatus]
) -> list[ControlTable]:
    """Per framework, each control any rule cites, its rules and their worst status."""
    cited: dict[str, dict[str, list[RuleStatus]]] = {}
    for rule in rule_pack:
        for framework, ids in rule.get("controls", {}).items():
            for control in ids:
                cited.setdefault(framework, {}).setdefault(control, []).append(statuses[rule["id"]])
    known = [key for key in FRAMEWORK_LABELS if key in cited]
    others = sorted(key for key in cited if key not in FRAMEWORK_LABELS)
    tables = []
    for framework in known + others:
        rows = [
            ControlRow(control, rules, _worst_of(rules))
            for control, rules in sorted(cited[framework].items(), key=lambda i: natural_key(i[0]))
        ]
        tables.append(ControlTable(framework, FRAMEWORK_LABELS.get(framework, framework), rows))
    return tables


def families(tables: Sequence[ControlTable]) -> list[FrameworkFamilies]:
    """Per framework and control family, each rule citing the family once, in rule order."""
    grouped = []
    for table in tables:
        cited: dict[str, dict[str, RuleStatus]] = {}
        for row in table.rows:
            family = cited.setdefault(family_code(table.framework, row.control), {})
            family.update((rule.rule_id, rule) for rule in row.rules)
        titles = FAMILY_TITLES.get(table.framework, {})
        members = []
        for code, by_rule in sorted(cited.items(), key=lambda item: natural_key(item[0])):
            ordered = [by_rule[rule_id] for rule_id in sorted(by_rule, key=natural_key)]
            members.append(Family(code, titles.get(code, ""), ordered, _worst_of(ordered)))
        grouped.append(FrameworkFamilies(table.framework, table.label, members))
    return grouped


def family_code(framework: str, control: str) -> str:
    """The family a control id belongs to: ``164.312(d)`` → 164.312, CC6.1 → CC6, SC-8 → SC."""
    pattern = _FAMILY_PATTERNS.get(framework, _FALLBACK_PATTERN)
    match = pattern.match(control)
    return match.group(0) if match else control


def _worst_of(rules: Sequence[RuleStatus]) -> str:
    evaluated = (rule.status for rule in rules if rule.status != NOT_EVALUATED)
    return worst_status(evaluated) or NOT_EVALUATED
