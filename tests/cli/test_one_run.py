"""The garbage collector around one scan or assessment (``cli._one_run``)."""

from __future__ import annotations

import gc
import weakref

from mtls_audit.cli import _one_run


class _Node:
    def __init__(self) -> None:
        self.itself = self  # a cycle: only the cyclic collector frees it


def test_a_run_is_frozen_after_it_and_collected_by_the_next() -> None:
    assert gc.isenabled()
    with _one_run():
        assert not gc.isenabled()
        left = weakref.ref(_Node())  # cyclic garbage of the run
    assert gc.isenabled()
    assert gc.get_freeze_count() > 0  # no collection walks what the run made
    gc.collect()
    assert left() is not None  # frozen: kept, however often the collector runs
    with _one_run():
        assert left() is None  # the next run collected it before starting
        assert gc.get_freeze_count() == 0
    gc.unfreeze()
