"""Targets scanned by several local processes: every target once, a subscription's targets in
one process, a dead worker's targets failed rather than missing, each run recorded as with one."""

from __future__ import annotations

import os
from collections import Counter
from dataclasses import replace
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from mtls_audit import workflow
from mtls_audit.audit.history import History
from mtls_audit.audit.processes import run_in_processes, split
from mtls_audit.audit.run_settings import RunSettings
from mtls_audit.audit.schedule import ScheduleConfig, Target, run_schedule


@given(st.lists(st.sampled_from("abcdefgh"), max_size=40), st.integers(1, 6))
def test_groups_hold_every_index_once_and_a_key_in_one_group(keys: list[str], count: int) -> None:
    groups = split(keys, count)
    assert sorted(i for group in groups for i in group) == list(range(len(keys)))
    assert len(groups) == min(count, len(set(keys)))
    owner = {keys[i]: n for n, group in enumerate(groups) for i in group}
    assert all(owner[keys[i]] == n for n, group in enumerate(groups) for i in group)
    # As even as whole keys allow: the groups differ by at most the largest key's size.
    if groups:
        sizes = [len(g) for g in groups]
        assert max(sizes) - min(sizes) <= max(Counter(keys).values())


def test_a_worker_that_dies_leaves_its_unreported_plans_failed_and_the_others_run() -> None:
    plans = ["a1", "a2", "b1", "dies", "c1"]
    keys = ["a", "a", "b", "d", "c"]

    def one(plan: str) -> str:
        if plan == "dies":
            os._exit(7)
        return plan.upper()

    ended = dict(
        run_in_processes(
            plans, keys, one, processes=4, workers=2, lost=lambda plan, why: f"{plan}: {why}"
        )
    )
    assert ended == {
        0: "A1",
        1: "A2",
        2: "B1",
        3: "dies: internal error: the worker process ended (exit 7)",
        4: "C1",
    }


def test_a_schedule_in_two_processes_records_every_target_once(tmp_path: Path) -> None:
    names = ("one", "two", "three")
    config = ScheduleConfig(
        source=tmp_path / "schedule.yaml",
        output=tmp_path / "runs",
        formats=("json",),
        run=RunSettings(select=("MTLS-EVID-01",)),
        sign_key=None,
        trend_runs=2,
        workers=1,
        cloud="AzureCloud",
        targets=tuple(Target(name=n, sample=True) for n in names),
        processes=2,
    )
    job = workflow.schedule_job(workflow.prepare_run(config.run), config.formats)
    parent = os.getpid()
    ended: list[str] = []
    runs = run_schedule(config, job, on_done=lambda run: ended.append(run.target.name))

    assert [r.target.name for r in runs] == list(names)  # in the targets' order
    assert sorted(ended) == sorted(names)
    assert os.getpid() == parent
    assert all(r.record.exit_code in (0, 1) and r.record.error is None for r in runs)
    assert all((r.folder / "evidence.json").is_file() for r in runs)
    recorded = History(config.output / "history.sqlite").runs()
    assert sorted(r.target for r in recorded) == sorted(names)
    # The same schedule in one process gives the same verdicts.
    alone = run_schedule(replace(config, processes=1), job)
    assert [r.verdict for r in alone] == [r.verdict for r in runs]
