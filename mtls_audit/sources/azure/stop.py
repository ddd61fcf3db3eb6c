"""When a live collection must end early: its deadline, a signal, or a failed sign-in.

Every read of the collection runs inside :meth:`Stop.bounded`. When the stop trips, reads in
flight are cancelled at once and later reads are not sent: each becomes a gap of the stop's kind
(``deadline``, ``interrupted``, ``authentication``), so the snapshot names everything that was
not collected, and what was collected is kept.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import threading
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass

SIGNALS = (signal.SIGINT, signal.SIGTERM)


@dataclass(frozen=True)
class StopReason:
    kind: str  # deadline | interrupted | authentication
    message: str


class Stopped(Exception):
    """A read that was cut short, or not sent, because the collection stopped."""

    def __init__(self, reason: StopReason) -> None:
        super().__init__(reason.message)
        self.reason = reason


class Stop:
    """The collection's deadline and its stop switch (used on the event loop's thread only)."""

    def __init__(self, deadline_s: float) -> None:
        self.deadline_s = deadline_s
        self.reason: StopReason | None = None
        self._deadline: float | None = None
        self._scopes: set[asyncio.Timeout] = set()

    def start(self) -> None:
        """Start the clock (on the running loop)."""
        self._deadline = asyncio.get_running_loop().time() + self.deadline_s

    def trip(self, kind: str, message: str) -> None:
        """Stop: cancel every read in flight; the first reason given is the one kept."""
        if self.reason is None:
            self.reason = StopReason(kind, message)
        now = asyncio.get_running_loop().time()
        for scope in list(self._scopes):
            if not scope.expired():
                scope.reschedule(now)

    def _deadline_passed(self) -> StopReason:
        self.trip(
            "deadline",
            f"not collected: the collection deadline ({self.deadline_s:g} s) had passed",
        )
        assert self.reason is not None
        return self.reason

    @contextlib.asynccontextmanager
    async def bounded(self) -> AsyncIterator[None]:
        """Run the body unless the collection has stopped; cut it short when it stops."""
        assert self._deadline is not None, "start() the clock first"
        if self.reason is not None:
            raise Stopped(self.reason)
        if asyncio.get_running_loop().time() >= self._deadline:
            raise Stopped(self._deadline_passed())
        scope = asyncio.timeout_at(self._deadline)
        try:
            async with scope:
                self._scopes.add(scope)
                yield
        except TimeoutError:
            if not scope.expired():
                raise  # a timeout of the body's own (a request's), not ours
            raise Stopped(self.reason or self._deadline_passed()) from None
        finally:
            self._scopes.discard(scope)


def _interrupted(name: str) -> str:
    return f"not collected: the collection was interrupted ({name})"


class _Relay:
    """Collections running in worker threads (``schedule run``), which the main thread's signal
    handler reaches through their event loops."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.running: dict[Stop, asyncio.AbstractEventLoop] = {}
        self.signal_name: str | None = None  # set once a signal came: later collections stop

    def interrupt(self, number: int, frame: object = None) -> None:
        name = signal.Signals(number).name
        with self.lock:
            self.signal_name = name
            running = list(self.running.items())
        for stop, loop in running:
            loop.call_soon_threadsafe(stop.trip, "interrupted", _interrupted(name))


_RELAY = _Relay()


@contextlib.contextmanager
def on_signals(stop: Stop, loop: asyncio.AbstractEventLoop) -> Iterator[None]:
    """SIGINT and SIGTERM trip ``stop`` while the body runs: through the loop's own handlers on
    the main thread, through :func:`relayed_signals` on a worker thread."""
    if threading.current_thread() is threading.main_thread():
        for number in SIGNALS:
            name = signal.Signals(number).name
            loop.add_signal_handler(number, stop.trip, "interrupted", _interrupted(name))
        try:
            yield
        finally:
            for number in SIGNALS:
                loop.remove_signal_handler(number)
        return
    with _RELAY.lock:
        _RELAY.running[stop] = loop
        already = _RELAY.signal_name
    if already is not None:
        stop.trip("interrupted", _interrupted(already))
    try:
        yield
    finally:
        with _RELAY.lock:
            _RELAY.running.pop(stop, None)


def relayed_signal() -> signal.Signals | None:
    """The signal :func:`relayed_signals` caught, if one came (to pass on to worker processes)."""
    with _RELAY.lock:
        name = _RELAY.signal_name
    return None if name is None else signal.Signals[name]


@contextlib.contextmanager
def relayed_signals() -> Iterator[None]:
    """On the main thread, while collections run on worker threads: SIGINT and SIGTERM stop
    them (and those that start later) instead of ending the process."""
    previous = {number: signal.signal(number, _RELAY.interrupt) for number in SIGNALS}
    try:
        yield
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)
        with _RELAY.lock:
            _RELAY.signal_name = None
