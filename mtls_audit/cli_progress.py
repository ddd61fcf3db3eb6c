"""The progress of a scheduled run on stderr: targets done of the total, ARM requests, throttling.

On a terminal a live bar (rich); otherwise (a CI log, a CronJob's) a plain line per target as
it ends (``[3/500] name: FAIL (exit 1) …``) and one closing line with the totals. The target
lines on stdout stay the command's output, printed in the targets' order once all have ended.
Called from worker threads (collections) and the main thread (targets done).
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable, Mapping
from types import TracebackType
from typing import TYPE_CHECKING, Any

import click

from mtls_audit.wording import plural

if TYPE_CHECKING:
    from rich.progress import Progress, TaskID

    from mtls_audit.audit.schedule import TargetRun


class RunProgress:
    def __init__(self, total: int, line: Callable[[TargetRun], str]) -> None:
        self.total = total
        self.done = 0
        self.requests = 0
        self.throttled = 0
        self._line = line
        self._lock = threading.Lock()
        self._bar: Progress | None = None
        self._task: TaskID | None = None

    def __enter__(self) -> RunProgress:
        if sys.stderr.isatty():
            from rich.console import Console
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

            columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn())
            self._bar = Progress(*columns, console=Console(stderr=True), transient=True)
            self._bar.start()
            self._task = self._bar.add_task(self._description(), total=self.total)
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._bar is not None:
            self._bar.stop()
        click.echo(
            f"mtls-audit: {self.done} of {plural(self.total, 'target')} done; "
            f"{plural(self.requests, 'request')}, {self.throttled} throttled (429)",
            err=True,
        )

    def _description(self) -> str:
        return f"scanning: {self.requests} requests, {self.throttled} throttled"

    def collected(self, provenance: Mapping[str, Any]) -> None:
        """A live collection's requests (from a worker thread)."""
        requests = provenance.get("requests") or []
        with self._lock:
            self.requests += len(requests)
            self.throttled += sum(1 for r in requests if r.get("status") == 429)
            self._refresh()

    def finished(self, run: TargetRun) -> None:
        """A target's run ended: its line, and one more done."""
        from mtls_audit.evidence.reader import visible

        with self._lock:
            self.done += 1
            if self._bar is None:
                line = visible(self._line(run))
                click.echo(f"mtls-audit: [{self.done}/{self.total}] {line}", err=True)
            self._refresh()

    def _refresh(self) -> None:
        if self._bar is not None and self._task is not None:
            self._bar.update(self._task, completed=self.done, description=self._description())
