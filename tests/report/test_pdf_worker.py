"""The PDF worker: a forked process that loads WeasyPrint early and writes what the parent sends."""

from __future__ import annotations

import multiprocessing
import os
import signal
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from pypdf import PdfReader

from mtls_audit.cli import cli
from mtls_audit.errors import MtlsAuditError
from mtls_audit.evidence.reader import ReportError
from mtls_audit.report import pdf
from mtls_audit.report.fetcher import URLRefusedError
from mtls_audit.report.pdf import PrintJob
from mtls_audit.report.pdf_worker import PdfWorker, PdfWorkerError

from .evidence_factory import hostile_evidence, to_bytes
from .test_pdf import pdf_text

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="the worker forks on Linux only")


def started() -> PdfWorker:
    worker = PdfWorker.start()
    assert worker is not None, "the worker should start in a process with one thread"
    return worker


def test_worker_writes_the_same_report_as_the_process_itself(
    hostile_pdf: tuple[Path, bytes], tmp_path: Path
) -> None:
    evidence = hostile_evidence()
    data = to_bytes(evidence)
    out = tmp_path / "report.pdf"
    with started() as worker:
        worker.write(evidence, data, out)
    assert pdf_text(out) == pdf_text(hostile_pdf[0])
    assert PdfReader(out).attachments == {"evidence.json": [data]}


def test_a_report_error_in_the_worker_is_raised_as_one(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    def refuse(job: PrintJob) -> None:
        raise URLRefusedError("refused to load 'file:///etc/passwd'")

    monkeypatch.setattr(pdf, "paginate", refuse)  # the forked worker inherits it
    evidence = hostile_evidence()
    with started() as worker, pytest.raises(ReportError, match="file:///etc/passwd"):
        worker.write(evidence, to_bytes(evidence), tmp_path / "report.pdf")


def test_a_pdf_that_cannot_be_written_is_an_error_naming_the_file(tmp_path: Path) -> None:
    evidence = hostile_evidence()
    out = tmp_path / "missing" / "report.pdf"
    with started() as worker, pytest.raises(ReportError) as caught:
        worker.write(evidence, to_bytes(evidence), out)
    assert str(out) in str(caught.value)
    assert "No such file or directory" in str(caught.value)


def test_any_other_failure_names_the_file_and_the_error(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    def crash(job: PrintJob) -> None:
        raise FileNotFoundError(2, "No such file or directory", str(job.out))

    monkeypatch.setattr(pdf, "paginate", crash)
    evidence = hostile_evidence()
    out = tmp_path / "report.pdf"
    with started() as worker, pytest.raises(PdfWorkerError) as caught:
        worker.write(evidence, to_bytes(evidence), out)
    assert str(out) in str(caught.value)
    assert "FileNotFoundError" in str(caught.value)


def test_a_worker_that_dies_is_reported_with_its_exit_code(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    def die(job: PrintJob) -> None:
        os._exit(9)

    monkeypatch.setattr(pdf, "paginate", die)
    evidence = hostile_evidence()
    with started() as worker, pytest.raises(PdfWorkerError, match=r"exit code 9"):
        worker.write(evidence, to_bytes(evidence), tmp_path / "report.pdf")


def test_the_worker_ends_when_closed_without_a_job() -> None:
    worker = started()
    process = worker._process
    worker.close()
    assert not process.is_alive()
    assert process.exitcode == 0


def ignores_sigint(pid: int) -> bool:
    status = Path(f"/proc/{pid}/status").read_text()
    mask = next(line.split()[1] for line in status.splitlines() if line.startswith("SigIgn:"))
    return bool(int(mask, 16) & (1 << (signal.SIGINT - 1)))


def test_ctrl_c_is_left_to_the_command(tmp_path: Path) -> None:
    evidence = hostile_evidence()
    data = to_bytes(evidence)
    out = tmp_path / "report.pdf"
    with started() as worker:
        pid = worker._process.pid
        assert pid is not None
        deadline = time.monotonic() + 10
        while not ignores_sigint(pid):  # the forked child sets this first thing
            assert time.monotonic() < deadline, "the worker never ignored SIGINT"
            time.sleep(0.01)
        os.kill(pid, signal.SIGINT)
        worker.write(evidence, data, out)
    assert PdfReader(out).attachments == {"evidence.json": [data]}


def test_no_worker_where_forking_is_unsafe(monkeypatch: pytest.MonkeyPatch) -> None:
    release = threading.Event()
    waiting = threading.Thread(target=release.wait)
    waiting.start()
    try:
        assert PdfWorker.start() is None  # another thread: forking could copy a held lock
    finally:
        release.set()
        waiting.join()
    monkeypatch.setattr(sys, "platform", "darwin")
    assert PdfWorker.start() is None


def test_scan_writes_its_pdf_through_the_worker(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    workers: list[PdfWorker | None] = []
    start = PdfWorker.start.__func__  # type: ignore[attr-defined]

    def recorded(cls: type[PdfWorker]) -> Any:
        workers.append(start(cls))
        return workers[-1]

    monkeypatch.setattr(PdfWorker, "start", classmethod(recorded))
    out = tmp_path / "out"
    result = CliRunner().invoke(
        cli, ["scan", "--sample", "--format", "json,pdf", "--out", str(out), "--fail-on", "none"]
    )
    assert result.exit_code == 0, result.output
    assert len(workers) == 1
    assert workers[0] is not None
    assert not workers[0]._process.is_alive()
    embedded = PdfReader(out / "report.pdf").attachments["evidence.json"]
    assert embedded == [(out / "evidence.json").read_bytes()]


def test_no_worker_without_a_pdf(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    def forbidden(cls: type[PdfWorker]) -> None:
        raise AssertionError("no PDF was asked for")

    monkeypatch.setattr(PdfWorker, "start", classmethod(forbidden))
    result = CliRunner().invoke(
        cli, ["scan", "--sample", "--format", "json", "--out", str(tmp_path), "--fail-on", "none"]
    )
    assert result.exit_code == 0, result.output


def test_a_failing_command_stops_the_worker_at_once(tmp_path: Path) -> None:
    class Failed(Exception):
        pass

    worker = started()
    process = worker._process
    with pytest.raises(Failed), worker:
        raise Failed
    assert not process.is_alive()
    assert process.exitcode == -signal.SIGKILL


def test_bad_input_ends_the_command_and_its_worker_cleanly(tmp_path: Path) -> None:
    missing = tmp_path / "missing.json"
    result = CliRunner().invoke(
        cli, ["scan", "--from-file", str(missing), "--format", "json,pdf", "--out", str(tmp_path)]
    )
    assert isinstance(result.exception, MtlsAuditError), result.output
    assert not any(p.is_alive() for p in multiprocessing.active_children())
