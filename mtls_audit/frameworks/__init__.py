"""Control catalogues (HIPAA, SOC 2, NIST SP 800-53) kept as data.

Each catalogue lists controls with official ids verbatim and the checklist topics they cover;
a rule names its topics, and its controls follow from the catalogues.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache

from mtls_audit.resources import package_data

FRAMEWORK_IDS = ("hipaa", "soc2", "nist-800-53")


@dataclass(frozen=True, slots=True)
class Control:
    id: str
    title: str
    topics: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Framework:
    id: str
    name: str
    citation: str
    note: str
    controls: tuple[Control, ...]


@cache
def frameworks() -> tuple[Framework, ...]:
    out = []
    for fid in FRAMEWORK_IDS:
        data = json.loads(package_data("frameworks", f"{fid}.json").read_text("utf-8"))
        controls = tuple(Control(c["id"], c["title"], tuple(c["topics"])) for c in data["controls"])
        out.append(Framework(data["id"], data["name"], data["citation"], data["note"], controls))
    return tuple(out)


def topics() -> frozenset[str]:
    return frozenset(t for f in frameworks() for c in f.controls for t in c.topics)


def controls_for(rule_topics: tuple[str, ...]) -> dict[str, tuple[str, ...]]:
    """Control ids per framework for a rule's topics (sorted as the catalogue lists them)."""
    return dict(_controls(tuple(rule_topics)))


@cache
def _controls(rule_topics: tuple[str, ...]) -> tuple[tuple[str, tuple[str, ...]], ...]:
    """Computed once per set of topics: the evidence asks for every result of a rule."""
    wanted = set(rule_topics)
    return tuple(
        (f.id, tuple(c.id for c in f.controls if wanted.intersection(c.topics)))
        for f in frameworks()
    )
