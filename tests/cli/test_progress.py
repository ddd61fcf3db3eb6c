"""The progress of a scheduled run: a live bar on a terminal, plain lines in a log."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from mtls_audit.audit.history import RunRecord
from mtls_audit.audit.schedule import Target, TargetRun
from mtls_audit.cli_progress import RunProgress

REQUESTS = {"requests": [{"status": 200}, {"status": 429}, {"status": 200}]}


def _run(name: str) -> TargetRun:
    record = RunRecord("s", name, "2026-11-20T09:00:00Z", "2026-11-20T09:00:01Z", 1, run_id=name)
    return TargetRun(Target(name=name), Path(name), record, "FAIL")


def _progress(names: list[str]) -> RunProgress:
    progress = RunProgress(len(names), lambda run: f"{run.target.name}: {run.verdict}")
    with progress:
        for name in names:
            progress.collected(REQUESTS)
            progress.finished(_run(name))
    return progress


def test_a_log_gets_a_plain_line_per_target_and_the_totals(
    capsys: pytest.CaptureFixture[str],
) -> None:
    progress = _progress(["a", "b"])

    err = capsys.readouterr().err.splitlines()
    assert err == [
        "mtls-audit: [1/2] a: FAIL",
        "mtls-audit: [2/2] b: FAIL",
        "mtls-audit: 2 of 2 targets done; 6 requests, 2 throttled (429)",
    ]
    assert (progress.done, progress.requests, progress.throttled) == (2, 6, 2)


def test_a_terminal_gets_a_live_bar_instead(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)

    _progress(["a", "b"])

    err = capsys.readouterr().err
    assert "[1/2]" not in err  # no plain lines: the bar says it
    assert "scanning: 6 requests, 2 throttled" in err
    assert err.rstrip().endswith("2 of 2 targets done; 6 requests, 2 throttled (429)")
