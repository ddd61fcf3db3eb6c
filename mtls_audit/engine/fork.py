"""Rules judged in two processes, where the input is large enough for it to pay.

After the model and the analyses most rules share are built, the process forks: the child
shares them copy-on-write. Both processes take rules from one queue (a pipe holding every
rule's index, two bytes each; a read of a pipe is atomic, so each index goes to one of them)
until it is empty, so that neither waits while the other has rules left to judge. The
child sends its results back compactly (statuses and severities by their position, not as
pickled enumerations); the parent puts every rule's results in the rules' order, so the
assessment is the same as in one process. A rule that fails in the child is a run-level error
as in one process; if the child itself dies, the parent judges the rules it took.
"""

from __future__ import annotations

import os
import pickle
import sys
import threading
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from mtls_audit.analysis import Context
from mtls_audit.engine.results import Result, Severity, Status
from mtls_audit.engine.rule import Rule

MIN_OPERATIONS = 1000
"""Below this many operations the rules take less time than a fork and the results' trip."""

_WIDTH = 2  # bytes per rule index in the queue
_QUEUE_LIMIT = 4096 // _WIDTH  # one atomic write of the pipe (PIPE_BUF)
_STATUSES = tuple(Status)
_SEVERITIES = tuple(Severity)
_STATUS_AT = {status: i for i, status in enumerate(_STATUSES)}
_SEVERITY_AT = {severity: i for i, severity in enumerate(_SEVERITIES)}

E = TypeVar("E")
Judged = tuple[list[Result], E]
"""A rule's results and what else judging it gave (the runner's run-level error, if any)."""


def judge_all(
    ctx: Context,
    rules: Sequence[Rule],
    judge: Callable[[Rule, Context], Judged[E]],
    *,
    min_operations: int = MIN_OPERATIONS,
) -> list[Judged[E]]:
    """``judge`` of each rule, in the rules' order; in two processes where it pays."""
    if not _pays(ctx, rules, min_operations):
        return [judge(rule, ctx) for rule in rules]
    ctx.share()
    queue_out, queue_in = os.pipe()
    os.write(queue_in, b"".join(i.to_bytes(_WIDTH, "big") for i in range(len(rules))))
    back_out, back_in = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child leaves by os._exit, out of coverage's sight
        code = 1
        try:
            os.close(queue_in)
            os.close(back_out)
            taken = _take(queue_out, ctx, rules, judge)
            with os.fdopen(back_in, "wb") as sink:
                pickle.dump(_packed(taken), sink, protocol=pickle.HIGHEST_PROTOCOL)
            code = 0
        finally:
            os._exit(code)
    os.close(queue_in)
    os.close(back_in)
    back = os.fdopen(back_out, "rb")
    try:
        judged = _take(queue_out, ctx, rules, judge)
        theirs: dict[int, Judged[E]] = _unpacked(back.read())
    finally:  # closed before the wait, so that a child still writing is never waited for
        back.close()
        os.close(queue_out)
        _, status = os.waitpid(pid, 0)
    if status == 0:
        judged.update(theirs)
    return [judged[i] if i in judged else judge(rule, ctx) for i, rule in enumerate(rules)]


def _pays(ctx: Context, rules: Sequence[Rule], min_operations: int) -> bool:
    """Forking is safe (Linux, no other thread running) and pays (two cores, a large input)."""
    if sys.platform != "linux" or threading.active_count() != 1:
        return False
    if len(os.sched_getaffinity(0)) < 2 or not 2 <= len(rules) <= _QUEUE_LIMIT:
        return False
    return sum(len(svc.operations) for svc in ctx.model.services) >= min_operations


def _take(
    queue: int, ctx: Context, rules: Sequence[Rule], judge: Callable[[Rule, Context], Judged[E]]
) -> dict[int, Judged[E]]:
    """Rules from the queue until it is empty, judged."""
    judged: dict[int, Judged[E]] = {}
    while index := os.read(queue, _WIDTH):
        i = int.from_bytes(index, "big")
        judged[i] = judge(rules[i], ctx)
    return judged


def _packed(judged: dict[int, Judged[E]]) -> list[tuple[int, list[tuple[Any, ...]], E]]:
    return [
        (i, [_row(result) for result in results], error) for i, (results, error) in judged.items()
    ]


def _row(r: Result) -> tuple[Any, ...]:
    severity = None if r.severity is None else _SEVERITY_AT[r.severity]
    return (_STATUS_AT[r.status], r.subject, r.message, r.evidence, severity, r.key,
            r.subject_name)  # fmt: skip


def _unpacked(data: bytes) -> dict[int, Judged[Any]]:
    """The child's results; none when it sent nothing whole (it died: the parent judges)."""
    try:
        packed = pickle.loads(data)  # written by this run's own child
    except (EOFError, pickle.UnpicklingError):
        return {}
    return {i: ([_result(row) for row in rows], error) for i, rows, error in packed}


def _result(row: tuple[Any, ...]) -> Result:
    status, subject, message, evidence, severity, key, name = row
    level = None if severity is None else _SEVERITIES[severity]
    return Result(_STATUSES[status], subject, message, evidence, level, key, name)
