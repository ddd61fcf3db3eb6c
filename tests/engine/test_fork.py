"""Rules judged in two processes give the assessment of one process, failures included."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from dataclasses import replace

import pytest

from mtls_audit.analysis import Context
from mtls_audit.engine import fork
from mtls_audit.engine.packs import builtin_pack_dir, load_directory
from mtls_audit.engine.results import Result
from mtls_audit.engine.rule import Rule
from mtls_audit.engine.runner import RunError, judged
from mtls_audit.model.build import build_model
from mtls_audit.sources.sample import SampleSource

pytestmark = pytest.mark.skipif(
    sys.platform != "linux" or len(os.sched_getaffinity(0)) < 2,
    reason="rules are judged in two processes only on Linux with two cores",
)

RULES = sorted(load_directory(builtin_pack_dir(), "builtin").rules, key=lambda r: r.id)


def _context() -> Context:
    return Context(build_model(SampleSource().load()))


def _boom(subject: object, ctx: object) -> Iterator[Result]:
    raise RuntimeError("the rule broke")


def _one_process(rules: list[Rule]) -> list[tuple[list[Result], RunError | None]]:
    ctx = _context()
    return [judged(rule, ctx) for rule in rules]


def test_two_processes_give_the_results_of_one_in_the_rules_order() -> None:
    ctx = _context()
    parent = os.getpid()
    where: dict[str, bool] = {}

    def judge(rule: Rule, c: Context) -> tuple[list[Result], RunError | None]:
        if os.getpid() == parent:
            where[rule.id] = True
        results, error = judged(rule, c)
        if os.getpid() != parent and c.memo.analysers:  # spoils the comparison below
            return results, RunError("rule-error", "the child made an inbound verdict")
        return results, error

    both = fork.judge_all(ctx, RULES, judge, min_operations=0)

    assert both == _one_process(RULES)
    # The rules that ask for inbound verdicts, the first rule among them, are judged where
    # the verdicts are made; the others in the child, which makes none.
    assert {"MTLS-CA-01", "MTLS-GW-04", "MTLS-IN-01", "MTLS-IN-07", "MTLS-IN-13"} <= set(where)
    assert RULES[0].id == "MTLS-CA-01"
    assert not {"MTLS-GW-01", "MTLS-IN-11", "MTLS-LEAK-01", "MTLS-OUT-03"} & set(where)


def test_the_inbound_verdicts_and_coverage_are_made_before_the_rules_the_parent_judges() -> None:
    ctx = _context()
    parent = os.getpid()
    ready: list[bool] = []

    def judge(rule: Rule, c: Context) -> tuple[list[Result], RunError | None]:
        if os.getpid() == parent:
            ready.append(bool(c.memo.inbound_paths) and c.memo.coverage_rows is not None)
        return judged(rule, c)

    fork.judge_all(ctx, RULES, judge, min_operations=0)

    assert ready
    assert all(ready)


def test_below_the_threshold_one_process_judges() -> None:
    parent = os.getpid()
    pids: set[int] = set()

    def judge(rule: Rule, c: Context) -> tuple[list[Result], RunError | None]:
        pids.add(os.getpid())
        return judged(rule, c)

    fork.judge_all(_context(), RULES, judge)  # the sample is far below MIN_OPERATIONS

    assert pids == {parent}


def test_a_rule_failing_in_the_child_is_a_run_level_error_as_in_one_process() -> None:
    broken = [replace(rule, judge=_boom) for rule in RULES[:6]]
    rules = [*broken, *RULES[6:]]

    both = fork.judge_all(_context(), rules, judged, min_operations=0)

    assert both == _one_process(rules)
    assert [e.rule_id for _, e in both if e is not None] == [r.id for r in broken]


def test_if_the_child_dies_the_parent_judges_what_it_took() -> None:
    parent = os.getpid()

    def judge(rule: Rule, c: Context) -> tuple[list[Result], RunError | None]:
        if os.getpid() != parent:
            os._exit(9)
        return judged(rule, c)

    assert fork.judge_all(_context(), RULES, judge, min_operations=0) == _one_process(RULES)
