"""The history of scheduled runs: one row per target and run, and the trend read from it.

The history is a SQL database, through SQLAlchemy: SQLite by default
(``<output root>/history.sqlite``), or PostgreSQL (``--history postgresql://…``) that workers on
several machines write to at once. Both have the one schema of ``history_schema``, created and
upgraded by the Alembic migrations in ``migrations/`` when the history is opened; a SQLite
history made before migrations existed is recognised (its table is the first revision's) and
upgraded in place. Plain SQL, so that anyone can query it::

    SELECT target, started_at, exit_code, failed_critical, failed_high
    FROM runs ORDER BY seq DESC LIMIT 10;

``failed_<severity>`` count failing results, ``results_<status>`` count results by status (as in
the evidence's summary). ``evidence_path`` is relative to the output root. A target's run id
is recorded once (a unique index): each record is its own transaction, so concurrent writers
never lose or mix rows, and a worker that records a run twice is refused the second time.

SQLite keeps whatever type a row was given, so a row edited by hand (or by another tool) may
hold text where a count belongs; the trend leaves such a row out rather than let one bad row
break every later run of its target.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event, inspect, select
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError
from sqlalchemy.pool import NullPool

from mtls_audit.audit.files import AuditInputError
from mtls_audit.audit.history_schema import COUNTS, runs
from mtls_audit.audit.trend import trend_point
from mtls_audit.vocabulary import SEVERITIES, STATUSES

__all__ = ["HISTORY_NAME", "SEVERITIES", "STATUSES", "History", "RunRecord", "trend_point"]

HISTORY_NAME = "history.sqlite"
_COUNTS = COUNTS
_COLUMNS = (
    "schedule_id",
    "target",
    "started_at",
    "finished_at",
    "exit_code",
    "run_id",
    *_COUNTS,
    "evidence_path",
    "evidence_sha256",
    "error",
)
_MIGRATIONS = Path(__file__).resolve().parent / "migrations"
_FIRST_REVISION = "0001"
_MIGRATION_LOCK = 0x6D746C73  # PostgreSQL advisory lock held while migrating ("mtls")


@dataclass(frozen=True)
class RunRecord:
    """One target's run: what the scheduler started, and what the assessment concluded."""

    schedule_id: str
    target: str
    started_at: str
    finished_at: str
    exit_code: int
    run_id: str | None = None
    by_severity: Mapping[str, int] = field(default_factory=dict)
    by_status: Mapping[str, int] = field(default_factory=dict)
    evidence_path: str | None = None
    evidence_sha256: str | None = None
    error: str | None = None

    def row(self) -> tuple[Any, ...]:
        counts = [self.by_severity.get(s, 0) for s in SEVERITIES]
        counts += [self.by_status.get(s, 0) for s in STATUSES]
        head = (
            self.schedule_id,
            self.target,
            self.started_at,
            self.finished_at,
            self.exit_code,
            self.run_id,
        )
        return (*head, *counts, self.evidence_path, self.evidence_sha256, self.error)


def database_url(location: str | Path) -> str:
    """A history's URL: ``location`` as given when it is one, else a SQLite file's."""
    text = str(location)
    return text if "://" in text else f"sqlite:///{Path(text).absolute()}"


def shown_url(location: str | Path) -> str:
    """The URL as messages show it: a password is never printed."""
    try:
        return make_url(database_url(location)).render_as_string(hide_password=True)
    except ArgumentError:
        return "<not a database URL>"


class History:
    """The run history at ``location``: a SQLite file's path, or a database URL."""

    def __init__(self, location: str | Path) -> None:
        self.url = database_url(location)
        self.shown = shown_url(location)
        self._engine = self._open()
        with self._errors():
            migrate(self._engine)

    def _open(self) -> Engine:
        try:
            url = make_url(self.url)
        except ArgumentError:
            raise AuditInputError(
                "the run history is not a database URL", source=self.shown
            ) from None
        if url.get_backend_name() not in ("sqlite", "postgresql"):
            raise AuditInputError(
                "the run history is SQLite or PostgreSQL (sqlite:///…, postgresql://…)",
                source=self.shown,
            )
        if url.get_backend_name() == "postgresql":
            if url.drivername == "postgresql":
                url = url.set(drivername="postgresql+psycopg")
            return create_engine(url, poolclass=NullPool)
        path = Path(url.database or "")
        if path.is_symlink():  # as with every output: never written through a link
            raise AuditInputError(
                "the run history is a symbolic link; it is never written through one",
                source=str(path),
            )
        engine = create_engine(url, poolclass=NullPool, connect_args={"timeout": 30})
        _serialised_sqlite(engine)
        return engine

    @contextmanager
    def _errors(self) -> Iterator[None]:
        try:
            yield
        except SQLAlchemyError as exc:
            reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
            raise AuditInputError(
                f"the run history cannot be used: {reason}", source=self.shown
            ) from None

    @contextmanager
    def transaction(self) -> Iterator[Connection]:
        """One transaction: what is done in it is all written, or none of it."""
        with self._errors(), self._engine.begin() as db:
            yield db

    def record(self, run: RunRecord) -> None:
        with self.transaction() as db:
            self.insert(db, run)

    @staticmethod
    def insert(db: Connection, run: RunRecord) -> None:
        """Insert within a transaction of one's own (``history_copy``)."""
        db.execute(runs.insert().values(dict(zip(_COLUMNS, run.row(), strict=True))))

    def runs(self, target: str | None = None) -> list[RunRecord]:
        """Every recorded run (of one target), oldest first."""
        query = select(*(runs.c[name] for name in _COLUMNS)).order_by(runs.c.seq)
        if target:
            query = query.where(runs.c.target == target)
        with self.transaction() as db:
            rows = db.execute(query).all()
        return [_record(tuple(row)) for row in rows]

    def trend(self, target: str, limit: int) -> list[dict[str, Any]]:
        """Trend points of the target's last ``limit`` assessed runs, oldest first."""
        if limit <= 0:
            return []
        query = (
            select(*(runs.c[name] for name in _COLUMNS))
            .where(runs.c.target == target, runs.c.run_id.is_not(None))
            .order_by(runs.c.seq.desc())
            .limit(limit)
        )
        with self.transaction() as db:
            rows = db.execute(query).all()
        records = (_record(tuple(row)) for row in reversed(rows))
        return [_point(record) for record in records if _well_typed(record)]

    def close(self) -> None:
        self._engine.dispose()


def _serialised_sqlite(engine: Engine) -> None:
    """Each SQLite transaction takes the write lock when it begins (``BEGIN IMMEDIATE``), so
    that writers in several processes (migrations included) wait for each other, up to the
    connection's timeout, instead of failing half-way (SQLAlchemy's recipe for pysqlite)."""

    @event.listens_for(engine, "connect")
    def _no_implicit_transactions(dbapi_connection: Any, _: Any) -> None:
        dbapi_connection.isolation_level = None

    @event.listens_for(engine, "begin")
    def _begin_immediate(connection: Connection) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def migrate(engine: Engine) -> None:
    """Bring the database to the latest revision, one writer at a time: a PostgreSQL advisory
    lock (held to the end of the migrating transaction), SQLite's write lock. A table made
    before migrations existed is stamped as the first revision, then upgraded."""
    from alembic import command
    from alembic.config import Config

    with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({_MIGRATION_LOCK})")
        config = Config()
        config.set_main_option("script_location", str(_MIGRATIONS))
        config.attributes["connection"] = connection
        tables = set(inspect(connection).get_table_names())
        if "runs" in tables and "alembic_version" not in tables:
            command.stamp(config, _FIRST_REVISION)
        command.upgrade(config, "head")


def _record(row: tuple[Any, ...]) -> RunRecord:
    values = dict(zip(_COLUMNS, row, strict=True))
    return RunRecord(
        schedule_id=values["schedule_id"],
        target=values["target"],
        started_at=values["started_at"],
        finished_at=values["finished_at"],
        exit_code=values["exit_code"],
        run_id=values["run_id"],
        by_severity={s: values[f"failed_{s}"] for s in SEVERITIES},
        by_status={s: values[f"results_{s}"] for s in STATUSES},
        evidence_path=values["evidence_path"],
        evidence_sha256=values["evidence_sha256"],
        error=values["error"],
    )


def _well_typed(run: RunRecord) -> bool:
    """Whether a row read back has the types the trend needs (see the module's docstring)."""
    counts = [*run.by_severity.values(), *run.by_status.values(), run.exit_code]
    return (
        isinstance(run.run_id, str)
        and isinstance(run.started_at, str)
        and all(isinstance(n, int) and not isinstance(n, bool) and n >= 0 for n in counts)
    )


def _point(run: RunRecord) -> dict[str, Any]:
    return {
        "run_id": run.run_id,
        "started_at": run.started_at,
        "exit_code": run.exit_code,
        "by_severity": dict(run.by_severity),
        "by_status": dict(run.by_status),
    }
