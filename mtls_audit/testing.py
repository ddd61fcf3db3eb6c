"""Testing a rule pack: one rule judged over the small snapshots a cases file describes.

A cases file (YAML) names its rule and lists cases; each case gives the ARM ``resources`` of a
snapshot (as Azure returns them), optionally ``gaps`` (what could not be collected) and
``options`` (:class:`~mtls_audit.analysis.Options` fields), and ``expect``: the results in
order, each a ``status`` and optionally a ``severity``, ``key`` and ``message`` fragment.
:func:`case_problems` says how a case's results differ from what it expects (nothing when
they agree); the built-in pack's cases are checked by the same function.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml

from mtls_audit.analysis import Context, Options
from mtls_audit.engine.packs import load_directory
from mtls_audit.engine.results import Result
from mtls_audit.engine.rule import Rule
from mtls_audit.engine.runner import evaluate
from mtls_audit.model import build_model
from mtls_audit.wording import plural

COLLECTED_AT = "2026-11-20T09:00:00Z"
"""The collection time of a case's snapshot (certificate windows are judged from it)."""


def load_cases(path: Path) -> tuple[str, list[dict[str, Any]]]:
    """The rule id and the cases of a cases file."""
    spec = yaml.safe_load(path.read_text("utf-8"))
    return str(spec["rule"]), list(spec["cases"])


def pack_rule(pack: Path, rule_id: str) -> Rule:
    """The rule ``rule_id`` of the pack in the folder ``pack``."""
    rules = {r.id: r for r in load_directory(pack, pack.name).rules}
    return rules[rule_id]


def case_snapshot(
    resources: Sequence[Mapping[str, Any]],
    gaps: Sequence[Mapping[str, Any]] = (),
    keyvault: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """A snapshot document of ``resources`` (ARM wire format), collected at COLLECTED_AT."""
    return {
        "schema": "mtls-audit/snapshot/v1",
        "provenance": {"source": "files", "collected_at": COLLECTED_AT},
        "resources": [dict(r) for r in resources],
        "keyvault": dict(keyvault or {}),
        "gaps": [dict(g) for g in gaps],
    }


def judge(rule: Rule, document: Mapping[str, Any], options: Options | None = None) -> list[Result]:
    """The results of one rule over one snapshot document."""
    return list(evaluate(rule, Context(build_model(document), options)))


def case_problems(rule: Rule, case: Mapping[str, Any]) -> list[str]:
    """How the rule's results over a case's snapshot differ from the case's ``expect``."""
    document = case_snapshot(case.get("resources", []), case.get("gaps", []))
    options = Options(**case.get("options", {}))
    return expectation_problems(rule, judge(rule, document, options), case["expect"])


def expectation_problems(
    rule: Rule, results: Sequence[Result], expected: Sequence[Mapping[str, Any]]
) -> list[str]:
    """How ``results`` differ from ``expected`` (status, severity, key, message fragment)."""
    got = [(r.status.value, r.key) for r in results]
    if len(results) != len(expected):
        return [f"{plural(len(results), 'result')}, {len(expected)} expected: {got}"]
    problems = []
    for n, (result, want) in enumerate(zip(results, expected, strict=True), 1):
        severity = (result.severity or rule.severity).value
        checks = [
            ("status", result.status.value, want["status"]),
            ("severity", severity, want.get("severity", severity)),
            ("key", result.key, want.get("key", result.key)),
        ]
        problems += [f"result {n}: {what} {g!r}, expected {w!r}" for what, g, w in checks if g != w]
        fragment = want.get("message", "")
        if fragment not in result.message or not result.message.strip():
            problems.append(f"result {n}: message {result.message!r} lacks {fragment!r}")
    return problems
