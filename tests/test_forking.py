"""Work done beside the process in a forked child gives what doing it here gives."""

from __future__ import annotations

import gc
import os
from collections.abc import Callable
from pathlib import Path

import pytest

from mtls_audit import forking, workflow
from mtls_audit.sources.sample import SampleSource
from mtls_audit.workflow import AssessOptions, Outcome, assess

needs_fork = pytest.mark.skipif(
    not forking.can_fork(), reason="work is done beside only on Linux with two cores"
)


@needs_fork
def test_the_childs_value_comes_back() -> None:
    here = os.getpid()
    beside = forking.Beside(lambda: (os.getpid(), "x" * 200_000))  # more than a pipe holds

    pid, text = beside.result()

    assert pid != here
    assert text == "x" * 200_000


@needs_fork
def test_a_failing_or_dying_child_leaves_the_work_to_this_process() -> None:
    here = os.getpid()

    def fails() -> int:
        if os.getpid() != here:
            raise ValueError("only in the child")
        return 7

    def dies() -> int:
        if os.getpid() != here:
            os._exit(9)
        return 8

    assert forking.Beside(fails).result() == 7
    assert forking.Beside(dies).result() == 8


@needs_fork
def test_an_exception_comes_from_this_process_as_doing_it_here_raises_it() -> None:
    def fails() -> int:
        raise KeyError("every time")

    with pytest.raises(KeyError, match="every time"):
        forking.Beside(fails).result()


@needs_fork
def test_an_abandoned_child_is_waited_for_even_while_it_writes() -> None:
    beside = forking.Beside(lambda: b"y" * 1_000_000)
    pid = beside._pid  # the child's, to check it was waited for

    beside.abandon()
    beside.abandon()  # once is enough; twice does nothing

    with pytest.raises(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)  # reaped: no zombie left behind


def test_where_forking_cannot_pay_the_work_is_done_here(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(forking, "can_fork", lambda: False)
    here = os.getpid()

    assert forking.Beside(os.getpid).result() == here


def _sample_outcome() -> Outcome:
    return assess(SampleSource().load(), "0" * 64, AssessOptions())


@needs_fork
def test_junit_written_beside_gives_the_files_and_order_of_one_process(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    outcome = _sample_outcome()
    formats = ["markdown", "junit", "json", "sarif"]
    here = os.getpid()
    where: list[bool] = []
    junit = workflow.WRITERS["junit"]

    def recorded(outcome: Outcome, out: Path) -> list[Path]:
        (out / "pid").write_text(str(os.getpid()))
        return junit(outcome, out)

    monkeypatch.setitem(workflow.WRITERS, "junit", recorded)
    beside = workflow.write_outputs(outcome, formats, tmp_path / "beside")
    where.append((tmp_path / "beside" / "pid").read_text() != str(here))
    monkeypatch.setattr(forking, "can_fork", lambda: False)
    alone = workflow.write_outputs(outcome, formats, tmp_path / "alone")

    assert where == [True]
    assert [p.name for p in beside] == [p.name for p in alone]
    assert [p.name for p in alone] == [
        "junit.xml",
        "evidence.json",
        "results.sarif",
        "mtls-audit-inventory.txt",
        "summary.md",
    ]
    for path in alone:
        assert (tmp_path / "beside" / path.name).read_bytes() == path.read_bytes(), path.name
    assert "junit.xml" in (tmp_path / "beside" / "summary.md").read_text()


@needs_fork
def test_a_write_failing_here_leaves_no_child_behind(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(outcome: Outcome, out: Path) -> list[Path]:
        raise OSError("disk full")

    monkeypatch.setitem(workflow.WRITERS, "json", broken)
    started: list[forking.Beside[list[Path]]] = []

    def recorded(work: Callable[[], list[Path]]) -> forking.Beside[list[Path]]:
        started.append(forking.Beside(work))
        return started[-1]

    monkeypatch.setattr(workflow, "Beside", recorded)

    with pytest.raises(OSError, match="disk full"):
        workflow.write_outputs(_sample_outcome(), ["json", "junit"], tmp_path)
    assert len(started) == 1
    assert started[0]._pid == 0  # waited for


@needs_fork
def test_the_child_collects_no_cyclic_garbage_and_this_process_gets_its_collector_back() -> None:
    assert gc.isenabled()  # pytest runs with the collector on

    assert forking.Beside(gc.isenabled).result() is False
    with forking.sharing():
        assert not gc.isenabled()
    assert gc.isenabled()
    gc.disable()
    try:
        with forking.sharing():
            pass
        assert not gc.isenabled()  # off before, off after
    finally:
        gc.enable()
