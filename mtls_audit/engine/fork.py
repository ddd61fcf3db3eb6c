"""Rules judged in two processes, where the input is large enough for it to pay.

Once the model is built and every path enumerated with its effective policy, the process
forks and the child shares them copy-on-write. The parent makes the costliest analysis, each
path's inbound verdict, while the child judges the rules in order, making the other analyses
as they ask for them. A rule that asks the child for an inbound verdict is handed back to the
parent (its index written to a pipe), which judges those once its verdicts are made. Each
analysis is so made in one process only. The child sends its results back compactly (statuses
and severities by their position, not as pickled enumerations); the parent puts every rule's
results in the rules' order, so the assessment is the same as in one process. A rule that
fails in the child is a run-level error as in one process; if the child itself dies, the parent
judges the rules it did not send back.
"""

from __future__ import annotations

import os
import pickle
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from mtls_audit.analysis import Context
from mtls_audit.analysis.coverage import InboundElsewhere
from mtls_audit.engine.results import Result, Severity, Status
from mtls_audit.engine.rule import Rule
from mtls_audit.forking import can_fork, in_child, sharing

MIN_OPERATIONS = 1000
"""Below this many operations the rules take less time than a fork and the results' trip."""

_WIDTH = 2  # bytes per rule index handed back
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
    ctx.make_paths()
    handed_out, handed_in = os.pipe()
    back_out, back_in = os.pipe()

    def child() -> None:  # pragma: no cover - run in the child, out of coverage's sight
        os.close(handed_out)
        os.close(back_out)
        ctx.leave_inbound()
        taken = _judged_here(ctx, rules, judge, handed_in)
        os.close(handed_in)
        with os.fdopen(back_in, "wb") as sink:
            pickle.dump(_packed(taken), sink, protocol=pickle.HIGHEST_PROTOCOL)

    with sharing():
        pid = in_child(child)
        os.close(handed_in)
        os.close(back_in)
        back = os.fdopen(back_out, "rb")
        judged: dict[int, Judged[E]] = {}
        try:
            ctx.make_inbound()
            with os.fdopen(handed_out, "rb") as handed:
                while index := handed.read(_WIDTH):  # until the child closes it
                    i = int.from_bytes(index, "big")
                    judged[i] = judge(rules[i], ctx)
            theirs: dict[int, Judged[E]] = _unpacked(back.read())
        finally:  # closed before the wait, so that a child still writing is never waited for
            back.close()
            _, status = os.waitpid(pid, 0)
    if status == 0:
        judged.update(theirs)
    return [judged[i] if i in judged else judge(rule, ctx) for i, rule in enumerate(rules)]


def _pays(ctx: Context, rules: Sequence[Rule], min_operations: int) -> bool:
    """Forking is safe and can pay (:func:`~mtls_audit.forking.can_fork`), and the input is
    large enough for it to."""
    if not can_fork() or not 2 <= len(rules) < 1 << (8 * _WIDTH):
        return False
    return sum(len(svc.operations) for svc in ctx.model.services) >= min_operations


def _judged_here(
    ctx: Context, rules: Sequence[Rule], judge: Callable[[Rule, Context], Judged[E]], hand_back: int
) -> dict[int, Judged[E]]:
    """Each rule judged, but those asking for an inbound verdict: their index is written to
    ``hand_back``."""
    judged: dict[int, Judged[E]] = {}
    for i, rule in enumerate(rules):
        try:
            judged[i] = judge(rule, ctx)
        except InboundElsewhere:
            os.write(hand_back, i.to_bytes(_WIDTH, "big"))
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
