"""The verdict corpus: policies written for the idioms real APIM policies use, each with the
verdict of every policy rule judged from APIM semantics (``verdicts/expected.yaml``).

Each policy is the API policy of a service whose gateway negotiates client certificates (and
``NAME.global.xml`` its global policy, where present); ``pytest -k a01`` selects a policy.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml

from mtls_audit.engine.packs import builtin_pack_dir, load_directory
from mtls_audit.engine.results import Result
from mtls_audit.engine.rule import Context, Options
from mtls_audit.engine.runner import evaluate
from mtls_audit.model import build_model
from tests.rules.builder import snapshot

CORPUS = Path(__file__).parent / "verdicts"
COLUMNS = (
    *(f"MTLS-IN-{n:02d}" for n in (1, 2, 3, 4, 5, 6, 7, 8, 9, 13)),
    "MTLS-LEAK-01",
    "MTLS-LEAK-03",
)
WORST_FIRST = ("fail", "indeterminate", "pass", "not_applicable")
"""Rules that report per element (MTLS-IN-08, MTLS-IN-09) are judged by their worst result."""
STATUSES = {"pass": "pass", "fail": "fail", "ind": "indeterminate", "na": "not_applicable"}
RULES = {r.id: r for r in load_directory(builtin_pack_dir(), "builtin").rules}
NEGOTIATES = {
    "properties": {
        "hostnameConfigurations": [
            {"type": "Proxy", "hostName": "api.example.org", "negotiateClientCertificate": True}
        ]
    }
}


def expectations() -> dict[str, dict[str, Any]]:
    policies: dict[str, dict[str, Any]] = yaml.safe_load(
        (CORPUS / "expected.yaml").read_text("utf-8")
    )["policies"]
    return policies


def expected_verdicts(name: str) -> dict[str, tuple[str, str | None]]:
    """Rule id → (status, severity or None) for the policy ``name``."""
    words = expectations()[name]["verdicts"].split()
    assert len(words) == len(COLUMNS), name
    found = {}
    for rule, word in zip(COLUMNS, words, strict=True):
        status, _, severity = word.partition(":")
        found[rule] = (STATUSES[status], severity or None)
    return found


def policy_snapshot(api_policy: str, global_policy: str | None = None) -> dict[str, Any]:
    resources: list[dict[str, Any]] = [
        {"path": "apis/a", "properties": {"displayName": "a", "path": "a"}},
        {"path": "apis/a/operations/o1", "properties": {"method": "GET"}},
        {"path": "apis/a/policies/policy", "properties": {"format": "rawxml", "value": api_policy}},
    ]
    if global_policy is not None:
        resources.append(
            {"path": "policies/policy", "properties": {"format": "rawxml", "value": global_policy}}
        )
    return snapshot(NEGOTIATES, resources)


def judge(api_policy: str, global_policy: str | None = None) -> dict[str, list[Result]]:
    """Every rule of the corpus columns on one policy."""
    model = build_model(policy_snapshot(api_policy, global_policy))
    return {rule: list(evaluate(RULES[rule], Context(model, Options()))) for rule in COLUMNS}


@cache
def corpus_policy(name: str) -> tuple[str, str | None]:
    global_file = CORPUS / f"{name}.global.xml"
    return (
        (CORPUS / f"{name}.xml").read_text("utf-8"),
        global_file.read_text("utf-8") if global_file.exists() else None,
    )


def test_every_policy_has_expectations() -> None:
    files = {p.name.removesuffix(".xml") for p in CORPUS.glob("*.xml")}
    files = {name.removesuffix(".global") for name in files}
    assert files == set(expectations())
    assert len(files) >= 80


@pytest.mark.parametrize("name", sorted(expectations()))
def test_policy_verdicts(name: str) -> None:
    results = judge(*corpus_policy(name))
    wrong = []
    for rule, (status, severity) in expected_verdicts(name).items():
        got = results[rule]
        assert got, rule
        assert all(r.message.strip() for r in got), rule
        result = min(got, key=lambda r: WORST_FIRST.index(r.status.value))
        actual = (result.status.value, (result.severity or RULES[rule].severity).value)
        if actual[0] != status or (severity is not None and actual[1] != severity):
            want = f"{status} {severity or ''}"
            wrong.append(f"{rule}: expected {want}, got {actual}: {result.message}")
    assert not wrong, "\n".join(wrong)


@pytest.mark.parametrize("name", sorted(expectations()))
def test_no_message_ends_on_an_empty_reason(name: str) -> None:
    for rule, results in judge(*corpus_policy(name)).items():
        for result in results:
            assert ": ." not in result.message, (rule, result.message)
            assert not result.message.rstrip().endswith(":"), (rule, result.message)
