"""A scheduled target over its target_timeout is recorded as timed out; the others go on."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

from mtls_audit.audit.files import AuditInputError
from mtls_audit.audit.history import History
from mtls_audit.audit.schedule import Target, exit_code, load_config, run_schedule

SCHEDULE = """\
output: runs
formats: [json]
target_timeout: 2
targets:
  - name: stuck
    sample: true
  - name: quick
    sample: true
"""


RELEASE = threading.Event()


@pytest.fixture
def released() -> Iterator[None]:
    """The stuck scan ends once the test is done, so that no thread outlives it (a later test
    forks a worker, which needs a process with one thread)."""
    RELEASE.clear()
    yield
    RELEASE.set()
    for thread in threading.enumerate():
        if thread.name == "target stuck":
            thread.join(10)


def _job(target: Target, folder: Path, trend: list[dict[str, Any]]) -> Mapping[str, Any]:
    """A scan that does not end for ``stuck`` (until the test is over) and writes a small
    evidence file for the others."""
    if target.name == "stuck":
        RELEASE.wait(120)
        raise TimeoutError("released after the test")
    evidence = {
        "run": {"id": "r-1", "started_at": "2026-01-01T00:00:00Z", "finished_at": "x"},
        "summary": {"gate": {"exit_code": 0}, "by_severity": {}, "by_status": {"pass": 1}},
    }
    (folder / "evidence.json").write_text(json.dumps(evidence), encoding="utf-8")
    return evidence


@pytest.mark.usefixtures("released")
def test_a_target_over_its_timeout_is_stopped_and_recorded(tmp_path: Path) -> None:
    path = tmp_path / "schedule.yaml"
    path.write_text(SCHEDULE, encoding="utf-8")
    config = load_config(path)
    assert config.target_timeout == 2
    started = time.monotonic()
    runs = run_schedule(config, _job)
    assert time.monotonic() - started < 30
    by_name = {run.target.name: run.record for run in runs}
    assert by_name["stuck"].exit_code == 3
    assert "timed out" in str(by_name["stuck"].error)
    assert "2 s" in str(by_name["stuck"].error)
    assert (by_name["quick"].exit_code, by_name["quick"].error) == (0, None)
    assert exit_code(runs) == 3
    history = History(tmp_path / "runs" / "history.sqlite")
    (stuck,) = history.runs("stuck")
    (quick,) = history.runs("quick")
    assert stuck.exit_code == 3
    assert "timed out" in str(stuck.error)
    assert quick.run_id == "r-1"


def test_the_timeout_defaults_to_an_hour_and_is_checked(tmp_path: Path) -> None:
    path = tmp_path / "schedule.yaml"
    path.write_text(SCHEDULE.replace("target_timeout: 2\n", ""), encoding="utf-8")
    assert load_config(path).target_timeout == 3600
    path.write_text(SCHEDULE.replace("target_timeout: 2", "target_timeout: 0"), encoding="utf-8")
    with pytest.raises(AuditInputError, match="target_timeout"):
        load_config(path)
