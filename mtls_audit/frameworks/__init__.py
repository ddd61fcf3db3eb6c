"""Control catalogues (HIPAA, SOC 2, NIST SP 800-53) and the rule-to-control mapping, as data.

Each framework lists the controls rules may cite, with official ids verbatim, and the controls
this assessment does not cover. ``mapping.json`` says, for every built-in rule, which controls it
evidences and why (one sentence per pair) and the unit its results count. A rule the mapping
does not list (a third-party pack's) cites the controls whose topics it names.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from typing import Any

from mtls_audit.resources import package_data

FRAMEWORK_IDS = ("hipaa", "soc2", "nist-800-53")


@dataclass(frozen=True, slots=True)
class Control:
    id: str
    title: str
    topics: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Uncovered:
    """A control this assessment says it does not cover, and why."""

    id: str
    title: str
    why: str


@dataclass(frozen=True, slots=True)
class Framework:
    id: str
    name: str
    citation: str
    note: str
    controls: tuple[Control, ...]
    not_covered: tuple[Uncovered, ...]


@dataclass(frozen=True, slots=True)
class RuleMapping:
    """A catalogued rule: its controls per framework with the reason for each, and the unit
    (singular, plural) of the population it tests."""

    reasons: dict[str, dict[str, str]]
    unit: tuple[str, str]


def _read(name: str) -> Any:
    return json.loads(package_data("frameworks", name).read_text("utf-8"))


@cache
def frameworks() -> tuple[Framework, ...]:
    out = []
    for fid in FRAMEWORK_IDS:
        data = _read(f"{fid}.json")
        controls = tuple(Control(c["id"], c["title"], tuple(c["topics"])) for c in data["controls"])
        uncovered = tuple(Uncovered(c["id"], c["title"], c["why"]) for c in data["not_covered"])
        out.append(
            Framework(data["id"], data["name"], data["citation"], data["note"], controls, uncovered)
        )
    return tuple(out)


@cache
def mappings() -> dict[str, RuleMapping]:
    """The catalogued rules by id."""
    rules = _read("mapping.json")["rules"]
    return {
        rid: RuleMapping(entry["controls"], (entry["unit"][0], entry["unit"][1]))
        for rid, entry in rules.items()
    }


def topics() -> frozenset[str]:
    """The topics a rule may name: those of some control, and those mapping to none."""
    cited = {t for f in frameworks() for c in f.controls for t in c.topics}
    return frozenset(cited | set(_read("mapping.json")["unmapped_topics"]))


def controls_for(rule_id: str, rule_topics: tuple[str, ...]) -> dict[str, tuple[str, ...]]:
    """Control ids per framework, in catalogue order: the mapping's for a catalogued rule,
    else those whose topics the rule names."""
    return dict(_controls(rule_id, tuple(rule_topics)))


@cache
def _controls(
    rule_id: str, rule_topics: tuple[str, ...]
) -> tuple[tuple[str, tuple[str, ...]], ...]:
    """Computed once per rule: the evidence asks for every result of a rule."""
    mapped = mappings().get(rule_id)
    if mapped is not None:
        return tuple((f.id, _ordered(f, mapped.reasons.get(f.id, {}))) for f in frameworks())
    wanted = set(rule_topics)
    return tuple(
        (f.id, tuple(c.id for c in f.controls if wanted.intersection(c.topics)))
        for f in frameworks()
    )


def control_reasons(rule_id: str) -> dict[str, dict[str, str]]:
    """Why a catalogued rule evidences each control it cites; empty for other rules."""
    mapped = mappings().get(rule_id)
    return {fw: dict(pairs) for fw, pairs in mapped.reasons.items()} if mapped else {}


def _ordered(framework: Framework, cited: dict[str, str]) -> tuple[str, ...]:
    return tuple(c.id for c in framework.controls if c.id in cited)
