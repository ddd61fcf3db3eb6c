"""Every rule case under ``cases/`` (one YAML file per rule), run by one runner.

A case gives a service patch, extra resources, gaps or Key Vault data, and the expected
results of that rule: status, and optionally severity, key and a message fragment. The case id
is ``RULE-ID:case-name``, so ``pytest -k MTLS-GW-01`` selects a rule.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from mtls_audit.engine.packs import builtin_pack_dir, load_directory
from mtls_audit.engine.rule import Options
from mtls_audit.snapshot import validate
from mtls_audit.testing import expectation_problems, judge, load_cases
from tests.rules.builder import snapshot

CASES = Path(__file__).parent / "cases"
RULES = {r.id: r for r in load_directory(builtin_pack_dir(), "builtin").rules}


def _cases() -> list[Any]:
    params = []
    for file in sorted(CASES.glob("*.yaml")):
        rule_id, cases = load_cases(file)
        params += [pytest.param(rule_id, case, id=f"{rule_id}:{case['name']}") for case in cases]
    return params


@pytest.mark.parametrize(("rule_id", "case"), _cases())
def test_rule_case(rule_id: str, case: dict[str, Any]) -> None:
    document = snapshot(
        case.get("service"),
        case.get("resources", []),
        gaps=case.get("gaps", []),
        keyvault=case.get("keyvault"),
        with_service=case.get("with_service", True),
        probe=case.get("probe"),
    )
    if "probe" in case:
        validate(document, source=f"case {case['name']}")  # the probe section as recorded
    options = Options(**case.get("options", {}))
    rule = RULES[rule_id]
    assert expectation_problems(rule, judge(rule, document, options), case["expect"]) == []


def test_every_rule_has_cases() -> None:
    covered = {yaml.safe_load(f.read_text("utf-8"))["rule"] for f in CASES.glob("*.yaml")}
    assert sorted(set(RULES) - covered) == []


def test_every_case_file_covers_failing_and_passing() -> None:
    for file in CASES.glob("*.yaml"):
        spec = yaml.safe_load(file.read_text("utf-8"))
        statuses = {e["status"] for c in spec["cases"] for e in c["expect"]}
        assert {"pass", "fail"} <= statuses, file.name
