"""A run's targets scanned by several local processes (``estate scan --processes N``).

One interpreter runs Python on one core at a time; an estate of small instances is bound by
that core. Here the targets are split into N groups, each scanned by a process forked from this
one (the scan job and its settings are inherited, nothing is pickled but each run's record),
while this process records every run as it ends, as with one process.

Targets are grouped by subscription, and a subscription's targets all go to one process: the
per-subscription limit (instances at once, ARM's read budget) is kept by that process alone, so
N processes spend no more of a subscription's budget than one. Groups go to the process with the
fewest targets so far, largest first.

A process that dies leaves its unreported targets failed (exit 3), never missing; the others go
on. A SIGINT or SIGTERM this process relays (``relayed_signals``) is passed on to the workers.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from multiprocessing.process import BaseProcess
from typing import Any, TypeVar

from mtls_audit.sources.azure.stop import relayed_signal

P = TypeVar("P")
R = TypeVar("R")
_POLL_S = 0.5


def split(keys: Sequence[str], count: int) -> list[list[int]]:
    """Indices of ``keys`` in at most ``count`` groups, equal keys in one group; the groups as
    even as whole keys allow (the largest key first, onto the smallest group)."""
    by_key: dict[str, list[int]] = {}
    for index, key in enumerate(keys):
        by_key.setdefault(key, []).append(index)
    groups: list[list[int]] = [[] for _ in range(min(count, len(by_key)))]
    for key in sorted(by_key, key=lambda k: (-len(by_key[k]), k)):
        min(groups, key=len).extend(by_key[key])
    return [sorted(group) for group in groups]


def _worker(
    plans: Sequence[P],
    indices: list[int],
    run_one: Callable[[P], R],
    workers: int,
    results: Any,
) -> None:
    with ThreadPoolExecutor(max_workers=workers) as pool:
        futures = {pool.submit(run_one, plans[index]): index for index in indices}
        for future in as_completed(futures):
            results.put((futures[future], future.result()))


def run_in_processes(
    plans: Sequence[P],
    keys: Sequence[str],
    run_one: Callable[[P], R],
    *,
    processes: int,
    workers: int,
    lost: Callable[[P, str], R],
) -> Iterator[tuple[int, R]]:
    """Yield ``(index, result)`` for every plan as it ends, each run by ``run_one`` on one of
    ``workers`` threads of one of ``processes`` forked processes (plans of one key together).
    ``lost``: the result of a plan whose process ended before reporting it."""
    context = multiprocessing.get_context("fork")
    results = context.SimpleQueue()
    groups = split(keys, processes)
    children: list[tuple[BaseProcess, list[int]]] = []
    for group in groups:
        child: BaseProcess = context.Process(
            target=_worker, args=(plans, group, run_one, workers, results), daemon=True
        )
        child.start()
        children.append((child, group))
    pending = {index for group in groups for index in group}
    passed_on = False
    while pending:
        if results.empty():
            signal = relayed_signal()
            if signal is not None and not passed_on:
                passed_on = True
                for child, _ in children:
                    if child.is_alive() and child.pid is not None:
                        os.kill(child.pid, signal)
            for child, group in children:
                child.join(_POLL_S / len(children))
                if child.exitcode is not None and results.empty():
                    why = f"internal error: the worker process ended (exit {child.exitcode})"
                    for index in sorted(pending.intersection(group)):
                        pending.discard(index)
                        yield index, lost(plans[index], why)
            continue
        index, result = results.get()
        pending.discard(index)
        yield index, result
    for child, _ in children:
        child.join()
