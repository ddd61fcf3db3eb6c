"""A PDF renderer that gets ready on another core while the snapshot is collected and judged.

Importing WeasyPrint takes about 0.75 s whatever the report holds. A command that will write a
PDF starts the worker first: a forked process that imports WeasyPrint at once, then waits for the
printed HTML, lays it out and writes the PDF, while the command goes on collecting and assessing.
(Rendering a small document in advance as well was measured and saved nothing.)
This module imports nothing of the report, so that the command can fork before it imports
anything else.

The worker is used where ``fork`` is the platform's way to start a process (Linux), and only
from a process with no other threads yet; elsewhere ``start`` returns None and the PDF is written
in process. Failures are sent back as messages, never as tracebacks: a report error stays a report
error, a missing library a ``MissingDependencyError``, anything else is raised as
``PdfWorkerError``. The worker ignores Ctrl-C (the command
handles it) and ends when the command does.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import signal
import sys
import threading
from collections.abc import Mapping
from multiprocessing.connection import Connection
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

from mtls_audit.errors import MissingDependencyError, MtlsAuditError

if TYPE_CHECKING:
    from mtls_audit.report.pdf import PrintJob

JOIN_SECONDS = 5.0


class PdfWorkerError(RuntimeError):
    """The worker failed in a way that is not a report error (a bug, or the process died)."""


class PdfWorker:
    """One forked process that writes one PDF; use ``start`` and a ``with`` block."""

    def __init__(self, process: multiprocessing.process.BaseProcess, conn: Connection) -> None:
        self._process = process
        self._conn = conn

    @classmethod
    def start(cls) -> PdfWorker | None:
        """Fork the worker, or None where forking is not the safe way to start one."""
        if sys.platform != "linux" or threading.active_count() > 1:
            return None
        context = multiprocessing.get_context("fork")
        ours, theirs = context.Pipe()
        process = context.Process(
            target=_serve, args=(theirs, ours), name="mtls-audit-pdf", daemon=True
        )
        process.start()
        theirs.close()
        return cls(process, ours)

    def write(self, evidence: Mapping[str, Any], evidence_bytes: bytes, out: Path) -> None:
        """Write the report to ``out``, as ``report.pdf.write_pdf`` does in process."""
        from mtls_audit.evidence.reader import ReportError
        from mtls_audit.report.pdf import print_job

        job = print_job(evidence, evidence_bytes, out)
        try:
            self._conn.send(job)
            kind, message = self._conn.recv()
        except (EOFError, OSError):
            self._process.join(JOIN_SECONDS)
            raise PdfWorkerError(
                f"the PDF worker stopped before writing {out} (exit code {self._process.exitcode})"
            ) from None
        if kind == "report-error":
            raise ReportError(message)
        if kind == "missing-dependency":
            raise MissingDependencyError(message)
        if kind == "crash":
            raise PdfWorkerError(f"the PDF worker failed writing {out}: {message}")

    def close(self, *, abandon: bool = False) -> None:
        """End the worker: it exits when the pipe closes, whether or not it wrote a PDF.
        ``abandon`` stops it at once (the command failed or was interrupted)."""
        self._conn.close()
        if abandon:
            self._process.kill()
        self._process.join(JOIN_SECONDS)
        if self._process.is_alive():
            self._process.kill()
            self._process.join()

    def __enter__(self) -> PdfWorker:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.close(abandon=error is not None)


def _serve(conn: Connection, parent_end: Connection) -> None:
    """The worker process: load WeasyPrint, write the one PDF it is sent, and say how it went."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    parent_end.close()
    from mtls_audit.report.pdf import load_renderer, paginate

    # A failure here recurs, and is reported, when the job below is paginated.
    with contextlib.suppress(MissingDependencyError, OSError):
        load_renderer()
    try:
        job: PrintJob = conn.recv()
    except (EOFError, OSError):  # the command ended without a PDF to write
        return
    try:
        paginate(job)
    except MissingDependencyError as exc:
        reply = ("missing-dependency", str(exc))
    except MtlsAuditError as exc:
        reply = ("report-error", str(exc))
    except Exception as exc:  # sent back whole: the command decides how to show it
        reply = ("crash", f"{type(exc).__name__}: {exc}")
    else:
        reply = ("done", "")
    with contextlib.suppress(OSError):  # the command is gone: nobody is left to tell
        conn.send(reply)
