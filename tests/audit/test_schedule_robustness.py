"""Scheduled runs that start together (the test forks processes), and a history that holds a
row of unexpected types."""

from __future__ import annotations

import json
import multiprocessing
import sqlite3
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from mtls_audit.audit.history import History
from mtls_audit.audit.schedule import (
    ScheduleConfig,
    Target,
    _folder,
    load_config,
    run_schedule,
)
from tests.audit.test_schedule import run, schedule

MOMENT = datetime(2026, 11, 20, 9, 0, 0, tzinfo=UTC)


def _job(target: Target, folder: Path, trend: list[dict[str, Any]]) -> Mapping[str, Any]:
    """Stands for collect-assess-write: the evidence fields the scheduler records (a run id is
    unique, as the evidence's UUIDs are: the history refuses one recorded twice)."""
    at = "2026-11-20T09:00:00Z"
    evidence: dict[str, Any] = {
        "run": {"id": f"{target.name}/{folder.name}", "started_at": at, "finished_at": at},
        "summary": {"gate": {"exit_code": 0}, "by_severity": {}, "by_status": {}},
    }
    (folder / "evidence.json").write_text(json.dumps(evidence), encoding="utf-8")
    return evidence


def test_a_run_folder_is_claimed_when_it_is_named(tmp_path: Path) -> None:
    """The folder is created by the call that names it, so no other run can get the same one
    (checking that a name is free and creating it later leaves a gap another run can take)."""
    target = Target(name="clinical", sample=True)
    first = _folder(tmp_path, target, MOMENT)
    second = _folder(tmp_path, target, MOMENT)
    assert first != second
    assert first.is_dir()
    assert second.is_dir()
    assert second.name == "20261120T090000Z-2"


def _one_run(config: ScheduleConfig, start: Any, failures: Any) -> None:
    start.wait()
    try:
        run_schedule(config, _job, clock=lambda: MOMENT)
    except Exception as exc:  # reported to the parent, which names it
        failures.put(f"{type(exc).__name__}: {exc}")


def test_runs_started_in_the_same_second_each_get_a_folder_and_a_history_row(
    tmp_path: Path,
) -> None:
    """Separate processes, as cron or a CI matrix would start them, all in one second."""
    config = load_config(schedule(tmp_path))
    runs = 16
    context = multiprocessing.get_context("fork")
    start, failures = context.Barrier(runs), context.Queue()
    processes = [
        context.Process(target=_one_run, args=(config, start, failures)) for _ in range(runs)
    ]
    for process in processes:
        process.start()
    for process in processes:
        process.join(120)
    reported = [failures.get() for _ in range(failures.qsize())] if not failures.empty() else []
    assert reported == []
    assert [p.exitcode for p in processes] == [0] * runs
    for target in ("clinical", "ci"):
        folders = sorted(p.name for p in (config.output / target).iterdir())
        assert len(folders) == runs
        assert folders[0] == "20261120T090000Z"
        records = History(config.output / "history.sqlite").runs(target)
        assert len(records) == runs
        assert all(r.error is None for r in records)
        assert sorted(str(r.evidence_path).rsplit("/", 2)[1] for r in records) == folders


def test_a_history_row_of_unexpected_types_is_left_out_of_the_trend(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = schedule(
        tmp_path,
        text="output: runs\nformats: [json, html]\ntargets:\n"
        "  - name: clinical\n    sample: true\n",
    )
    assert run(config, capsys)[0] == 1
    database = tmp_path / "runs" / "history.sqlite"
    with sqlite3.connect(database) as db:
        db.execute(
            "INSERT INTO runs (schedule_id, target, started_at, finished_at, exit_code, run_id, "
            "failed_critical) VALUES ('hand', 'clinical', 3, 'later', 'one', 7, 'many')"
        )
    for _ in range(2):  # not once, and not only once: the target stays usable
        code, out, _ = run(config, capsys)
        assert code == 1
        assert out.startswith("clinical: FAIL (exit 1)")
    assert len(History(database).trend("clinical", 10)) == 3


def test_a_history_planted_as_a_link_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = schedule(tmp_path)
    elsewhere = tmp_path / "elsewhere.sqlite"
    (tmp_path / "runs").mkdir()
    (tmp_path / "runs" / "history.sqlite").symlink_to(elsewhere)
    code, _, err = run(config, capsys)
    assert code == 2
    assert "the run history is a symbolic link" in err
    assert not elsewhere.exists()
