"""Work done beside the process in a forked child, where that is safe and can pay.

A forked child shares the parent's memory copy-on-write, so work over a large document (the
evidence of 70,000 results) starts without copying it anywhere; only the child's answer comes
back, pickled through a pipe.
"""

from __future__ import annotations

import gc
import os
import pickle
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Generic, TypeVar

T = TypeVar("T")


def can_fork() -> bool:
    """Forking is safe (Linux, no other thread running, whose locks a child could inherit held)
    and can pay (at least two cores to run on)."""
    return (
        sys.platform == "linux"
        and threading.active_count() == 1
        and len(os.sched_getaffinity(0)) >= 2
    )


def in_child(run: Callable[[], None]) -> int:
    """Fork: the child calls ``run`` and leaves (exit status 0, or 1 when ``run`` raised),
    never returning here; this process gets the child's pid.

    The child collects no cyclic garbage: it lives for one piece of work and leaves by
    ``os._exit``, and a collection would walk every object it shares with this process,
    copying each page it writes a collector's mark on."""
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child leaves by os._exit, out of coverage's sight
        code = 1
        try:
            gc.disable()
            run()
            code = 0
        finally:
            os._exit(code)
    return pid


@contextmanager
def sharing() -> Iterator[None]:
    """No cyclic garbage collection in this process while a child shares its pages: a
    collection would walk every object, copying each page it writes a mark on."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


class Beside(Generic[T]):
    """``work`` started in a forked child (where :func:`can_fork`); :meth:`result` gives its
    value. Where the child cannot be forked, fails, or dies, :meth:`result` does the work in
    this process, so that its value, or its exception, is exactly what doing it here gives."""

    def __init__(self, work: Callable[[], T]) -> None:
        self._work = work
        self._pid = 0
        self._answer = -1
        if not can_fork():
            return
        answer, sink = os.pipe()

        def child() -> None:  # pragma: no cover - run in the child, out of coverage's sight
            os.close(answer)
            value = work()
            with os.fdopen(sink, "wb") as stream:
                pickle.dump(value, stream, protocol=pickle.HIGHEST_PROTOCOL)

        pid = in_child(child)
        os.close(sink)
        self._pid, self._answer = pid, answer

    def result(self) -> T:
        if not self._pid:
            return self._work()
        with os.fdopen(self._answer, "rb") as stream:
            data = stream.read()
        status = self._reaped()
        if status == 0:
            value: T = pickle.loads(data)  # written by this run's own child
            return value
        return self._work()

    def abandon(self) -> None:
        """Wait for a child whose result is no longer wanted (this process failed meanwhile):
        its pipe is closed first, so that a child still writing its answer stops."""
        if self._pid:
            os.close(self._answer)
            self._reaped()

    def _reaped(self) -> int:
        _, status = os.waitpid(self._pid, 0)
        self._pid = 0
        return status
