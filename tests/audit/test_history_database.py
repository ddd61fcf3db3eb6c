"""The run history as a database: one schema on SQLite and PostgreSQL, migrations, an
existing SQLite history upgraded and copied to PostgreSQL, and concurrent writers."""

from __future__ import annotations

import multiprocessing
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, inspect

from mtls_audit.audit.files import AuditInputError
from mtls_audit.audit.history import History, RunRecord
from mtls_audit.cli import main

from .postgres import Server

# The history's table as it was before migrations existed (what an output root holds today).
LEGACY_SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    schedule_id TEXT NOT NULL, target TEXT NOT NULL, started_at TEXT NOT NULL,
    finished_at TEXT NOT NULL, exit_code INTEGER NOT NULL, run_id TEXT,
    failed_critical INTEGER NOT NULL DEFAULT 0, failed_high INTEGER NOT NULL DEFAULT 0,
    failed_medium INTEGER NOT NULL DEFAULT 0, failed_low INTEGER NOT NULL DEFAULT 0,
    failed_info INTEGER NOT NULL DEFAULT 0, results_pass INTEGER NOT NULL DEFAULT 0,
    results_fail INTEGER NOT NULL DEFAULT 0, results_indeterminate INTEGER NOT NULL DEFAULT 0,
    results_not_applicable INTEGER NOT NULL DEFAULT 0, results_waived INTEGER NOT NULL DEFAULT 0,
    evidence_path TEXT, evidence_sha256 TEXT, error TEXT
);
CREATE INDEX IF NOT EXISTS runs_by_target ON runs (target, seq);
"""


def _record(target: str, n: int, *, run_id: str | None = None) -> RunRecord:
    return RunRecord(
        schedule_id=f"schedule-{n}",
        target=target,
        started_at=f"2026-11-{n % 28 + 1:02d}T06:00:00Z",
        finished_at=f"2026-11-{n % 28 + 1:02d}T06:01:00Z",
        exit_code=1,
        run_id=run_id if run_id is not None else f"{target}-run-{n}",
        by_severity={"critical": n % 3, "high": 2},
        by_status={"fail": n % 3 + 2, "pass": 10},
        evidence_path=f"{target}/2026110{n}/evidence.json",
    )


def _legacy(path: Path, records: list[RunRecord]) -> Path:
    with sqlite3.connect(path) as db:
        db.executescript(LEGACY_SCHEMA)
        for record in records:
            row = record.row()
            db.execute(f"INSERT INTO runs VALUES (NULL, {', '.join('?' * len(row))})", row)
    return path


def _shape(url: str) -> dict[str, Any]:
    engine = create_engine(url.replace("postgresql://", "postgresql+psycopg://"))
    try:
        found = inspect(engine)
        columns = {
            c["name"]: (type(c["type"]).__name__.upper(), c["nullable"])
            for c in found.get_columns("runs")
        }
        indexes = {
            i["name"]: (tuple(i["column_names"]), bool(i["unique"]))
            for i in found.get_indexes("runs")
        }
        return {
            "columns": columns,
            "indexes": indexes,
            "key": found.get_pk_constraint("runs")["constrained_columns"],
        }
    finally:
        engine.dispose()


def test_an_existing_sqlite_history_is_upgraded_in_place(tmp_path: Path) -> None:
    path = _legacy(tmp_path / "history.sqlite", [_record("clinical", n) for n in range(3)])

    history = History(path)

    assert [r.run_id for r in history.runs("clinical")] == [f"clinical-run-{n}" for n in range(3)]
    with pytest.raises(AuditInputError, match="UNIQUE"):  # the second revision's index
        history.record(_record("clinical", 1))
    assert len(history.trend("clinical", 10)) == 3


def test_a_history_url_of_another_kind_is_refused(tmp_path: Path) -> None:
    with pytest.raises(AuditInputError, match="SQLite or PostgreSQL"):
        History("mysql://audit:s3cret@db/mtls")
    with pytest.raises(AuditInputError) as info:
        History("postgresql://audit:s3cret@127.0.0.1:1/mtls")
    assert "s3cret" not in str(info.value)  # a password is never printed


def test_sqlite_and_postgresql_have_one_schema(tmp_path: Path, postgres: Server) -> None:
    lite = f"sqlite:///{tmp_path / 'history.sqlite'}"
    served = postgres.new_database()
    History(lite).close()
    History(served).close()

    sqlite_shape, postgres_shape = _shape(lite), _shape(served)

    assert (
        sqlite_shape["indexes"]
        == postgres_shape["indexes"]
        == {
            "runs_by_target": (("target", "seq"), False),
            "runs_by_run_id": (("run_id", "target"), True),
        }
    )
    assert sqlite_shape["key"] == postgres_shape["key"] == ["seq"]
    assert {k: v[1] for k, v in sqlite_shape["columns"].items()} == {
        k: v[1] for k, v in postgres_shape["columns"].items()
    }
    kinds = {v[0] for v in postgres_shape["columns"].values()}
    assert kinds == {"INTEGER", "TEXT"}


def test_a_sqlite_history_is_copied_to_postgresql_once(
    tmp_path: Path, postgres: Server, capsys: pytest.CaptureFixture[str]
) -> None:
    records = [_record("clinical", n) for n in range(4)] + [_record("ci", 9, run_id="")]
    records[-1] = RunRecord("schedule-9", "ci", "2026-11-10T06:00:00Z", "x", 2, error="bad input")
    path = _legacy(tmp_path / "history.sqlite", records)
    served = postgres.new_database()

    for expected in ("5 runs copied", "0 runs copied"):  # a second copy adds nothing
        with pytest.raises(SystemExit) as info:
            main(["history", "migrate", str(path), served])
        assert info.value.code == 0
        out = capsys.readouterr().out
        assert out.startswith(expected), out

    copied = History(served)
    assert copied.runs() == History(path).runs()
    assert copied.trend("clinical", 2) == History(path).trend("clinical", 2)


def _writer(url: str, name: str, start: Any, failures: Any) -> None:
    start.wait()
    try:
        history = History(url)  # both migrate a fresh database at once, too
        for n in range(40):
            history.record(_record(name, n))
    except Exception as exc:  # reported to the parent, which names it
        failures.put(f"{type(exc).__name__}: {exc}")


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_two_writer_processes_at_once_lose_nothing(
    kind: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    if kind == "sqlite":
        url = f"sqlite:///{tmp_path / 'history.sqlite'}"
    else:
        url = request.getfixturevalue("postgres").new_database()
    context = multiprocessing.get_context("spawn")
    start, failures = context.Barrier(2), context.Queue()
    writers = [
        context.Process(target=_writer, args=(url, name, start, failures)) for name in ("a", "b")
    ]
    for writer in writers:
        writer.start()
    for writer in writers:
        writer.join(120)
    reported = [failures.get() for _ in range(failures.qsize())] if not failures.empty() else []
    assert reported == []
    assert [w.exitcode for w in writers] == [0, 0]
    history = History(url)
    for name in ("a", "b"):
        assert [r.run_id for r in history.runs(name)] == [f"{name}-run-{n}" for n in range(40)]


def test_a_schedule_records_its_runs_in_postgresql(
    tmp_path: Path, postgres: Server, capsys: pytest.CaptureFixture[str]
) -> None:
    served = postgres.new_database()
    config = tmp_path / "schedule.yaml"
    config.write_text(
        "output: runs\nformats: [json]\ntargets:\n  - name: demo\n    sample: true\n",
        encoding="utf-8",
    )
    for _ in range(2):
        with pytest.raises(SystemExit):
            main(["schedule", "run", str(config), "--history", served])
        out = capsys.readouterr().out
        assert out.splitlines()[-1] == f"History: {served}"

    runs = History(served).runs("demo")
    assert len(runs) == 2
    assert all(r.run_id and r.evidence_path for r in runs)
    assert not (tmp_path / "runs" / "history.sqlite").exists()
