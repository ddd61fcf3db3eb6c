"""Scheduled scans: a configuration of targets, run together, each into its own dated folder.

``mtls-audit schedule run CONFIG`` reads the configuration (YAML or TOML, see
``docs/scheduling.md``), scans every target on a small thread pool (each given at most
``target_timeout`` seconds: past it the target is recorded as timed out, the others go on),
writes ``<output>/<target>/<UTC timestamp>/`` for each (outputs and their manifest), and
records each target's run, as it ends, in the history (``<output>/history.sqlite``, or the
database the schedule names). A target that fails (bad input, an unreachable subscription) is
recorded with its error and exit code; the others still run. Targets that discover an estate
are expanded into one target per instance beforehand (``estate.expand``).

How a target is scanned (collect, assess, write, seal) is the caller's job: this module only
plans, runs and records, so that it needs nothing above the reports.
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
import uuid
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from mtls_audit.audit.files import QUOTE_LIMIT, AuditInputError, Entry, quoted
from mtls_audit.audit.history import HISTORY_NAME, History, RunRecord, shown_url
from mtls_audit.audit.run_settings import RunSettings
from mtls_audit.audit.schedule_discovery import discovery_scope
from mtls_audit.audit.settings_files import read_settings
from mtls_audit.engine.results import Severity
from mtls_audit.errors import MtlsAuditError
from mtls_audit.evidence.clock import now
from mtls_audit.evidence.reader import verdict, visible
from mtls_audit.output_files import write_text
from mtls_audit.sources.azure.bounds import (
    DEFAULT_DEADLINE_S,
    DEFAULT_RETRIES,
    DEFAULT_TIMEOUT_S,
    Bounds,
)
from mtls_audit.sources.azure.discovery import EstateScope
from mtls_audit.vocabulary import CLOUDS, FAIL_ON_CHOICES, FILE_FORMATS, NO_THRESHOLD
from mtls_audit.wording import clip

FORMATS = FILE_FORMATS
TOP_FIELDS = (
    "output",
    "formats",
    "fail_on",
    "select",
    "ignore",
    "rules",
    "disable_packs",
    "as_of",
    "warning_days",
    "notice_days",
    "waivers",
    "baseline",
    "sign_key",
    "trend_runs",
    "workers",
    "cloud",
    "targets",
    "timeout",
    "retries",
    "deadline",
    "history",
    "per_subscription",
    "concurrency",
    "target_timeout",
)
LIMIT_FIELDS = ("timeout", "retries", "deadline")
TARGET_FIELDS = (
    "name",
    "sample",
    "from_file",
    "parameters",
    "subscriptions",
    "resource_groups",
    "services",
    "discover",
    *LIMIT_FIELDS,
)
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


@dataclass(frozen=True)
class Target:
    """What one target scans: the bundled sample, offline files, or an Azure selection."""

    name: str
    sample: bool = False
    from_file: tuple[Path, ...] = ()
    parameters: tuple[Path, ...] = ()
    subscriptions: tuple[str, ...] = ()
    resource_groups: tuple[str, ...] = ()
    services: tuple[str, ...] = ()
    timeout_s: float = DEFAULT_TIMEOUT_S  # live collection: one attempt of one request
    retries: int = DEFAULT_RETRIES
    deadline_s: float = DEFAULT_DEADLINE_S  # live collection: the whole of it
    discover: EstateScope | None = None  # instances found by Resource Graph, each a target
    discovered_by: str | None = None  # the discovery target this instance was found by


@dataclass(frozen=True)
class ScheduleConfig:
    source: Path
    output: Path
    formats: tuple[str, ...]
    run: RunSettings
    """How every target is judged: the options ``assess`` and ``scan`` take, all of them."""
    sign_key: Path | None
    trend_runs: int
    workers: int
    cloud: str
    targets: tuple[Target, ...]
    history: str | None = None  # a database URL; None: <output>/history.sqlite
    per_subscription: int = 2  # live targets of one subscription collected at once
    concurrency: int = 8  # concurrent ARM requests per subscription of one live target
    target_timeout: int = 3600
    """Seconds one target may take; past it the target is recorded as timed out (exit 3)."""
    processes: int = 1
    """Local processes scanning the targets (``audit.processes``), ``workers`` threads each."""


def load_config(path: Path, *, overrides: Bounds | None = None) -> ScheduleConfig:
    """Read and check a schedule; relative paths are relative to the file's folder.

    ``overrides``: the bounds given on the command line, which win over the file's for every
    live target (None, or a bound None: not given).
    """
    source = str(path)
    top = Entry(read_settings(path, "schedule"), source=source, where="/", known=TOP_FIELDS)
    base = path.resolve().parent
    formats = top.texts("formats") or ("json", "pdf")
    bad = [f for f in formats if f not in FORMATS]
    if bad:
        raise top.error(f"unknown format {', '.join(bad)}; choose from {', '.join(FORMATS)}")
    raw_targets = top.data.get("targets")
    if not isinstance(raw_targets, list) or not raw_targets:
        raise top.error("is required: a list of targets", "targets")
    defaults = _limits(top, Target(name="defaults"))
    targets = tuple(
        with_bounds(_target(i, t, source, base, defaults), overrides or Bounds())
        for i, t in enumerate(raw_targets)
    )
    seen: set[str] = set()
    for index, target in enumerate(targets):
        if target.name.lower() in seen:
            raise AuditInputError(
                f"field 'name': another target is already named {target.name!r}",
                source=source,
                where=f"targets[{index}] ({target.name})",
            )
        seen.add(target.name.lower())
    return ScheduleConfig(
        source=path,
        output=base / (top.optional_text("output") or "mtls-audit-runs"),
        formats=tuple(dict.fromkeys(("json", *formats))),
        run=_run_settings(top, base),
        sign_key=_path(base, top.optional_text("sign_key")),
        trend_runs=top.number("trend_runs", 12, 1, 100),
        workers=top.number("workers", 4, 1, 16),
        cloud=top.choice("cloud", "AzureCloud", CLOUDS),
        targets=targets,
        history=_history_url(top, base),
        per_subscription=top.number("per_subscription", 2, 1, 16),
        concurrency=top.number("concurrency", 8, 1, 64),
        target_timeout=top.number("target_timeout", 3600, 1, 7 * 24 * 3600),
    )


def _run_settings(top: Entry, base: Path) -> RunSettings:
    """The fields that say how targets are judged, as ``scan`` takes them as options."""
    fail_on = top.choice("fail_on", "critical", FAIL_ON_CHOICES)
    return RunSettings(
        fail_on=None if fail_on == NO_THRESHOLD else Severity(fail_on),
        select=top.texts("select"),
        ignore=top.texts("ignore"),
        rule_dirs=tuple(base / d for d in top.texts("rules")),
        disabled_packs=top.texts("disable_packs"),
        as_of=_as_of(top),
        warning_days=top.number("warning_days", 30, 0, 3650),
        notice_days=top.number("notice_days", 60, 0, 3650),
        waivers=_path(base, top.optional_text("waivers")),
        baseline=_path(base, top.optional_text("baseline")),
    )


def _as_of(top: Entry) -> datetime | None:
    """``as_of``: judge expiry at this UTC date or time (``YYYY-MM-DD[THH:MM:SS]``)."""
    value = top.data.get("as_of")
    if value is None:
        return None
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, date):
        moment = datetime(value.year, value.month, value.day)
    else:
        try:
            moment = datetime.fromisoformat(str(value).strip().removesuffix("Z"))
        except ValueError:
            raise top.error(
                f"expected a date or time (YYYY-MM-DD[THH:MM:SS]), found {quoted(value)}", "as_of"
            ) from None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _history_url(top: Entry, base: Path) -> str | None:
    """The ``history`` field: a database URL (``postgresql://…``), or a SQLite file's path."""
    text = top.optional_text("history")
    if text is None or "://" in text:
        return text
    return f"sqlite:///{base / text}"


def _path(base: Path, text: str | None) -> Path | None:
    return base / text if text else None


def with_bounds(target: Target, bounds: Bounds) -> Target:
    """``target`` with the bounds given (a bound None leaves the target's)."""
    return replace(
        target,
        timeout_s=target.timeout_s if bounds.timeout_s is None else bounds.timeout_s,
        retries=target.retries if bounds.max_retries is None else bounds.max_retries,
        deadline_s=target.deadline_s if bounds.deadline_s is None else bounds.deadline_s,
    )


def _limits(entry: Entry, defaults: Target) -> Target:
    """``timeout``, ``retries`` and ``deadline`` (whole seconds) over ``defaults``'."""
    return replace(
        defaults,
        timeout_s=entry.number("timeout", round(defaults.timeout_s), 1, 600),
        retries=entry.number("retries", defaults.retries, 0, 10),
        deadline_s=entry.number("deadline", round(defaults.deadline_s), 1, 86400),
    )


def _target(index: int, data: Any, source: str, base: Path, defaults: Target) -> Target:
    where = f"targets[{index}]"
    if isinstance(data, Mapping) and isinstance(data.get("name"), str):
        where += f" ({clip(visible(data['name']), QUOTE_LIMIT)})"
    entry = Entry(data, source=source, where=where, known=TARGET_FIELDS)
    name = entry.text("name")
    if not _NAME.match(name):
        raise entry.error(
            "use letters, digits, '.', '_' and '-' (it names a folder), at most 64", "name"
        )
    kinds = [k for k in ("sample", "from_file", "subscriptions", "discover") if entry.present(k)]
    if entry.present("sample") and not entry.flag("sample"):
        kinds.remove("sample")
    if len(kinds) != 1:
        raise entry.error(
            "give exactly one of 'sample: true', 'from_file', 'subscriptions' or 'discover'"
            + (f" (found {', '.join(kinds)})" if kinds else "")
        )
    misplaced = {
        "parameters": "from_file",
        "resource_groups": "subscriptions",
        "services": "subscriptions",
    }
    for key, needs in misplaced.items():
        if entry.present(key) and kinds[0] != needs:
            raise entry.error(f"only applies together with '{needs}'", key)
    for key in LIMIT_FIELDS:
        if entry.present(key) and kinds[0] not in ("subscriptions", "discover"):
            raise entry.error("only applies together with 'subscriptions' or 'discover'", key)
    return replace(
        _limits(entry, defaults),
        name=name,
        sample=kinds[0] == "sample",
        from_file=tuple(base / p for p in entry.texts("from_file")),
        parameters=tuple(base / p for p in entry.texts("parameters")),
        subscriptions=entry.texts("subscriptions"),
        resource_groups=entry.texts("resource_groups"),
        services=entry.texts("services"),
        discover=discovery_scope(entry, source, where) if kinds[0] == "discover" else None,
    )


Job = Callable[[Target, Path, list[dict[str, Any]]], Mapping[str, Any]]
"""Scan one target into a folder, given the trend so far; returns the evidence it wrote."""


Plan = tuple[Target, Path, list[dict[str, Any]]]
"""A target, its run's folder and its trend so far."""


@dataclass(frozen=True)
class TargetRun:
    """A target's run as recorded; the evidence itself is on disk only, so that an estate of
    thousands is never held in memory."""

    target: Target
    folder: Path
    record: RunRecord
    verdict: str | None  # the verdict every report states (FAIL, PASS…); None: no evidence


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _folder(root: Path, target: Target, moment: datetime) -> Path:
    """Create ``<root>/<target>/<UTC timestamp>``, with a suffix (``-2``, ``-3``…) when that
    folder exists already. Each candidate is claimed by ``mkdir`` itself, which fails when the
    folder exists, so that runs started in the same second each get a folder of their own."""
    stamp = moment.strftime("%Y%m%dT%H%M%SZ")
    parent = root / target.name
    parent.mkdir(parents=True, exist_ok=True)
    number = 1
    while True:
        folder = parent / (stamp if number == 1 else f"{stamp}-{number}")
        try:
            folder.mkdir()
        except FileExistsError:
            number += 1
            continue
        return folder


def run_schedule(
    config: ScheduleConfig,
    job: Job,
    *,
    clock: Callable[[], datetime] = now,
    discoveries: Mapping[str, Mapping[str, Any]] | None = None,
    on_done: Callable[[TargetRun], None] | None = None,
) -> list[TargetRun]:
    """Run every target (concurrently), recording each run in the history as it ends; the runs
    are returned in the targets' order.

    ``discoveries``: what Resource Graph answered for each discovery target (``estate.expand``),
    written as ``discovery.json`` in a folder of that target; its gaps make that target's run
    incomplete (exit 3). ``on_done`` is called with each run as it ends, from this thread.
    """
    try:
        config.output.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise AuditInputError(
            f"cannot create the output folder: {exc.strerror or exc}", source=str(config.output)
        ) from None
    history = open_history(config)
    schedule_id = str(uuid.uuid4())
    moment = clock()
    runs = [
        _discovery_run(config.output, schedule_id, name, answer, moment)
        for name, answer in (discoveries or {}).items()
    ]
    for run in runs:
        history.record(run.record)
        if on_done is not None:
            on_done(run)
    plans = []
    for target in config.targets:
        folder = _folder(config.output, target, moment)
        trend = history.trend(target.name, config.trend_runs - 1)
        plans.append((target, folder, trend))

    def one(plan: Plan) -> TargetRun:
        target, folder, trend = plan
        return _run_target(
            config.output, schedule_id, target, folder, trend, job, clock, config.target_timeout
        )

    def lost(plan: Plan, why: str) -> TargetRun:
        stamp = _iso(clock())
        return _failed(schedule_id, plan[0], plan[1], stamp, stamp, 3, why)

    ended: dict[int, TargetRun] = {}
    for index, run in _ended(plans, one, config, lost):
        history.record(run.record)
        if on_done is not None:
            on_done(run)
        ended[index] = run
    return runs + [ended[index] for index in range(len(plans))]


def _ended(
    plans: list[Plan],
    one: Callable[[Plan], TargetRun],
    config: ScheduleConfig,
    lost: Callable[[Plan, str], TargetRun],
) -> Iterator[tuple[int, TargetRun]]:
    """Each plan's index and run as it ends: on a thread pool, or in ``config.processes``."""
    if config.processes > 1 and len(plans) > 1:
        from mtls_audit.audit.processes import run_in_processes

        keys = [t.subscriptions[0].lower() if t.subscriptions else t.name for t, _, _ in plans]
        yield from run_in_processes(
            plans, keys, one, processes=config.processes, workers=config.workers, lost=lost
        )
        return
    with ThreadPoolExecutor(max_workers=config.workers) as pool:
        futures = {pool.submit(one, plan): index for index, plan in enumerate(plans)}
        for future in as_completed(futures):
            yield futures[future], future.result()


def open_history(config: ScheduleConfig) -> History:
    return History(config.history or config.output / HISTORY_NAME)


def history_location(config: ScheduleConfig) -> str:
    """Where the runs are recorded, as the console shows it (a password never)."""
    return shown_url(config.history) if config.history else str(config.output / HISTORY_NAME)


def _discovery_run(
    root: Path, schedule_id: str, name: str, answer: Mapping[str, Any], moment: datetime
) -> TargetRun:
    """A discovery target's own run: its answer on disk, its gaps as its error (exit 3)."""
    target = Target(name=name)
    folder = _folder(root, target, moment)
    path = folder / "discovery.json"
    write_text(path, json.dumps(answer, indent=2, sort_keys=True) + "\n")
    gaps = answer.get("gaps") or []
    error = "; ".join(f"{g.get('subject')}: {g.get('message')}" for g in gaps) or None
    stamp = _iso(moment)
    record = RunRecord(
        schedule_id,
        name,
        stamp,
        stamp,
        3 if gaps else 0,
        evidence_path=path.relative_to(root).as_posix(),
        evidence_sha256=hashlib.sha256(path.read_bytes()).hexdigest(),
        error=f"discovery: {error}" if error else None,
    )
    found = len(answer.get("instances") or [])
    return TargetRun(target, folder, record, f"DISCOVERED {found}")


def _run_target(
    root: Path,
    schedule_id: str,
    target: Target,
    folder: Path,
    trend: list[dict[str, Any]],
    job: Job,
    clock: Callable[[], datetime],
    timeout: int = 3600,
) -> TargetRun:
    started = _iso(clock())
    outcome = _bounded(job, target, folder, trend, timeout)
    if isinstance(outcome, tuple):
        return _failed(schedule_id, target, folder, started, _iso(clock()), *outcome)
    evidence = outcome
    evidence_path = folder / "evidence.json"
    summary = evidence["summary"]
    record = RunRecord(
        schedule_id=schedule_id,
        target=target.name,
        started_at=evidence["run"]["started_at"],
        finished_at=evidence["run"]["finished_at"],
        exit_code=summary["gate"]["exit_code"],
        run_id=evidence["run"]["id"],
        by_severity=summary["by_severity"],
        by_status=summary["by_status"],
        evidence_path=evidence_path.relative_to(root).as_posix(),
        evidence_sha256=hashlib.sha256(evidence_path.read_bytes()).hexdigest(),
    )
    return TargetRun(target, folder, record, verdict(evidence).label)


def _bounded(
    job: Job, target: Target, folder: Path, trend: list[dict[str, Any]], timeout: int
) -> Mapping[str, Any] | tuple[int, str]:
    """The job's evidence, or the exit code and message of its failure. The job runs on a
    daemon thread, so that one stuck past ``timeout`` is left behind (it ends with the process)
    instead of holding the others: collections are bounded by their own deadline and the
    policy analysis by its budget, so this is the last resort."""
    box: list[Mapping[str, Any] | tuple[int, str]] = []

    def attempt() -> None:
        try:
            box.append(job(target, folder, trend))
        except MtlsAuditError as exc:
            box.append((2, str(exc)))
        except Exception as exc:  # one target's crash must not stop the others, nor pass
            box.append((3, f"internal error: {type(exc).__name__}: {exc}"))

    worker = threading.Thread(target=attempt, name=f"target {target.name}", daemon=True)
    worker.start()
    worker.join(timeout)
    if worker.is_alive() or not box:
        return 3, f"timed out: the scan took more than {timeout} s and was left behind"
    return box[0]


def _failed(
    schedule_id: str,
    target: Target,
    folder: Path,
    started: str,
    finished: str,
    code: int,
    message: str,
) -> TargetRun:
    record = RunRecord(schedule_id, target.name, started, finished, code, error=message)
    return TargetRun(target, folder, record, None)


def exit_code(runs: list[TargetRun]) -> int:
    """The schedule's exit code: the largest of its targets' (3 > 2 > 1 > 0)."""
    return max((run.record.exit_code for run in runs), default=0)
