"""What the collections of one estate scan share, so that an instance costs its requests and
little more: one event loop on a thread of its own that runs every collection, one HTTP session
on it (connections and TLS sessions kept from one instance to the next), one credential (tokens
asked for once per audience) and one ARM read budget per subscription.

Each collection still has its own transport, request ledger, deadline and gaps: sharing the
loop changes what a collection costs, not what it reads or records.
"""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar

from mtls_audit.sources.azure.auth import Endpoints, Limits, SharedCredential
from mtls_audit.sources.azure.http import HttpSession, ReadBuckets, ssl_context

T = TypeVar("T")


async def _open_session(limits: Limits) -> HttpSession:
    return HttpSession(ssl_context(limits.connection_verify))


class SharedRuntime:
    """Made by the first live target of a run, closed when the run ends (``close``)."""

    def __init__(self, auth: str, endpoints: Endpoints, limits: Limits) -> None:
        self.reads = ReadBuckets()
        self.credential = SharedCredential(auth, endpoints, limits)
        self._pid = os.getpid()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self._loop.run_forever, name="azure collections", daemon=True
        )
        self._thread.start()
        self.http = self.run(_open_session(limits))

    def run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        """Run ``coroutine`` on the shared loop and wait for its result (from any other thread)."""
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result()

    def close(self) -> None:
        """Close the session, stop the loop and close the credential. In a copy of this object
        made by ``fork`` (a worker process) the loop's thread is not there: nothing is done. On
        the loop's own thread (the runtime dropped there) the session is closed soon after."""
        if os.getpid() != self._pid or not self._thread.is_alive():
            return
        if threading.current_thread() is self._thread:
            closing = self._loop.create_task(self.http.close())
            closing.add_done_callback(lambda _: self._loop.stop())
            return
        self.run(self.http.close())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join()
        self._loop.close()
        self.credential.close()
