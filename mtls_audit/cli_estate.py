"""The commands of an estate: ``schedule run`` (sharded, with a history database), and
``estate discover`` / ``estate scan``, which find API Management instances through Azure
Resource Graph (docs/scheduling.md).

``estate scan`` is ``schedule run`` of one discovery target given on the command line.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

import click

from mtls_audit.cli_audit import prepare, signing_key
from mtls_audit.cli_live import (
    CLOUD_OPTION,
    LiveOptions,
    auth_option,
    live_options,
    scheduled_live_options,
)
from mtls_audit.cli_options import OptionGroup
from mtls_audit.vocabulary import (
    FAIL_ON_CHOICES,
    FILE_FORMATS,
    NO_THRESHOLD,
    AuthMode,
    Cloud,
    Severity,
)
from mtls_audit.wording import plural

if TYPE_CHECKING:
    from mtls_audit.audit.schedule import ScheduleConfig, TargetRun
    from mtls_audit.audit.shard import Shard
    from mtls_audit.sources.azure.discovery import EstateScope
    from mtls_audit.sources.azure.source import AzureOptions

R = TypeVar("R")


def _shard(_: click.Context, __: click.Parameter, value: str | None) -> Shard | None:
    from mtls_audit.audit.shard import parse_shard

    try:
        return None if value is None else parse_shard(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None


def _tags(
    _: click.Context, __: click.Parameter, values: tuple[str, ...]
) -> tuple[tuple[str, str], ...]:
    from mtls_audit.sources.azure.discovery import parse_tag

    try:
        return tuple(parse_tag(v) for v in values)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None


SHARD_OPTION = click.option(
    "--shard",
    callback=_shard,
    metavar="K/N",
    help="Scan only the K-th of N deterministic parts of the targets (N workers, one each).",
)
HISTORY_OPTION = click.option(
    "--history",
    metavar="URL",
    help="History database: postgresql://user@host/db, or sqlite:///path. "
    "Default: the schedule's, else <output>/history.sqlite.",
)


@dataclass(frozen=True)
class ScopeOptions:
    """Where ``estate`` looks for instances and how it signs in, as given."""

    subscription: tuple[str, ...]
    management_group: tuple[str, ...]
    all_subscriptions: bool
    tags: tuple[tuple[str, str], ...]
    query: str | None
    cloud: Cloud
    auth: AuthMode

    def scope(self) -> EstateScope:
        """The estate scope (a usage error when it is not exactly one kind of scope)."""
        from mtls_audit.sources.azure.discovery import EstateScope, scope_problems

        scope = EstateScope(
            subscriptions=self.subscription,
            management_groups=self.management_group,
            all_subscriptions=self.all_subscriptions,
            tags=self.tags,
            query=self.query,
        )
        problems = list(scope_problems(scope))
        if problems:
            raise click.UsageError("; ".join(problems))
        return scope


_SCOPE_OPTIONS = OptionGroup(
    "where",
    ScopeOptions,
    click.option("--subscription", multiple=True, help="Subscription id to search (repeatable)."),
    click.option(
        "--management-group", multiple=True, help="Management group to search (repeatable)."
    ),
    click.option(
        "--all-subscriptions", is_flag=True, help="Search every subscription the identity reads."
    ),
    click.option(
        "--tag", "tags", multiple=True, callback=_tags, metavar="KEY=VALUE",
        help="Only instances with this tag (repeatable: all must match).",
    ),
    click.option("--query", help="A Resource Graph query of one's own returning services' id."),
    CLOUD_OPTION,
    auth_option(),
)  # fmt: skip


def scope_options(func: Callable[..., R]) -> Callable[..., R]:
    """Where to look (``where``) and the bounds and endpoints of the reads (``live``)."""
    return live_options(_SCOPE_OPTIONS(func))


def _graph_options(auth: AuthMode, cloud: str, live: LiveOptions) -> AzureOptions:
    from mtls_audit.sources.azure.source import AzureOptions

    return live.applied(AzureOptions(subscriptions=(), auth=auth, cloud=cloud))


@click.group()
def estate() -> None:
    """Every API Management instance of subscriptions, management groups or a tenant."""


@estate.command("discover")
@scope_options
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text")
def estate_discover(fmt: str, where: ScopeOptions, live: LiveOptions) -> None:
    """List the instances Resource Graph finds, and what the identity cannot read.

    Exit 0, or 3 when part of the scope could not be read (named as gaps).
    """
    from mtls_audit.evidence.reader import visible
    from mtls_audit.sources.azure.discovery import discover_instances

    answer = discover_instances(where.scope(), _graph_options(where.auth, where.cloud, live))
    if fmt == "json":
        click.echo(json.dumps(answer, indent=2, sort_keys=True))
    else:
        for instance in answer["instances"]:
            click.echo(visible(f"{instance['name']}  {instance['id']}"))
        for gap in answer["gaps"]:
            click.echo(visible(f"GAP {gap['subject']}: {gap['message']}"))
        instances, gaps = len(answer["instances"]), len(answer["gaps"])
        click.echo(f"{plural(instances, 'instance')}, {plural(gaps, 'gap')}")
    sys.exit(3 if answer["gaps"] else 0)


@estate.command("scan")
@scope_options
@click.option(
    "--out",
    type=click.Path(path_type=Path, file_okay=False),
    required=True,
    help="Output root: <out>/<instance>/<UTC timestamp>/ per instance.",
)
@click.option(
    "--format",
    "formats",
    default="json",
    show_default=True,
    help=f"Comma-separated: {', '.join(FILE_FORMATS)}.",
)
@click.option(
    "--fail-on",
    type=click.Choice(FAIL_ON_CHOICES),
    default="critical",
    show_default=True,
)
@click.option(
    "--workers",
    type=click.IntRange(1, 64),
    default=8,
    show_default=True,
    help="Instances scanned at once.",
)
@click.option(
    "--per-subscription",
    type=click.IntRange(1, 16),
    default=2,
    show_default=True,
    help="Instances of one subscription collected at once (one read budget).",
)
@click.option(
    "--processes",
    type=click.IntRange(1, 64),
    default=1,
    show_default=True,
    help="Local processes, --workers instances each; a subscription stays in one process.",
)
@HISTORY_OPTION
@SHARD_OPTION
def estate_scan(
    out: Path, formats: str, fail_on: str, workers: int, per_subscription: int, processes: int,
    history: str | None, shard: Shard | None, where: ScopeOptions, live: LiveOptions,
) -> None:  # fmt: skip
    """Find every instance in scope and scan each into its own folder, recording the runs.

    Exit code: the largest of the instances' (3 when part of the scope could not be read).
    """
    from mtls_audit.audit.run_settings import RunSettings
    from mtls_audit.audit.schedule import ScheduleConfig, Target, with_bounds

    chosen = tuple(f.strip() for f in formats.split(",") if f.strip())
    bad = [f for f in chosen if f not in FILE_FORMATS]
    if bad:
        raise click.BadParameter(f"unknown format {', '.join(bad)}", param_hint="--format")
    # The bounds given bound the instances' collections as well as the discovery's reads.
    target = with_bounds(Target(name="estate", discover=where.scope()), live.bounds)
    plan = ScheduleConfig(
        source=Path("<command line>"), output=out, formats=tuple(dict.fromkeys(("json", *chosen))),
        run=RunSettings(fail_on=None if fail_on == NO_THRESHOLD else Severity(fail_on)),
        sign_key=None, trend_runs=12,
        workers=workers, cloud=where.cloud, targets=(target,),
        history=history, per_subscription=per_subscription, processes=processes,
    )  # fmt: skip
    run_plan(plan, auth=where.auth, sign_key=None, live=live, shard=shard)


@click.group()
def schedule() -> None:
    """Scheduled scans of many targets, with a run history (docs/scheduling.md)."""


@schedule.command("run")
@click.argument("config", type=click.Path(path_type=Path, dir_okay=False))
@auth_option("How to sign in to Azure (for targets with subscriptions).")
@click.option(
    "--sign-key",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Ed25519 private key (PEM) to sign each folder's manifest; overrides sign_key.",
)
@HISTORY_OPTION
@SHARD_OPTION
@scheduled_live_options
def schedule_run(
    config: Path,
    auth: AuthMode,
    sign_key: Path | None,
    history: str | None,
    shard: Shard | None,
    live: LiveOptions,
) -> None:
    """Scan every target of CONFIG into <output>/<target>/<UTC timestamp>/ and record the runs.

    Prints one line per target (and on stderr, its progress). Exit code: the largest of the
    targets' exit codes.
    """
    from dataclasses import replace

    from mtls_audit.audit.schedule import load_config

    plan = load_config(config, overrides=live.bounds)
    if history is not None:
        plan = replace(plan, history=history)
    run_plan(plan, auth=auth, sign_key=sign_key or plan.sign_key, live=live, shard=shard)


def run_plan(
    plan: ScheduleConfig,
    *,
    auth: AuthMode,
    sign_key: Path | None,
    live: LiveOptions,
    shard: Shard | None,
) -> None:
    """Expand discovery targets, keep the shard's, scan, record, print; exits."""
    from dataclasses import replace

    from mtls_audit import workflow
    from mtls_audit.audit.estate import expand
    from mtls_audit.audit.schedule import exit_code, history_location, run_schedule
    from mtls_audit.audit.shard import select
    from mtls_audit.cli_progress import RunProgress
    from mtls_audit.evidence.reader import visible
    from mtls_audit.sources.azure.discovery import discover_instances
    from mtls_audit.sources.azure.stop import relayed_signals

    prepared = prepare(plan.run)
    key = signing_key(sign_key)
    graph = _graph_options(auth, plan.cloud, live)
    expanded = expand(plan, lambda scope: discover_instances(scope, graph))
    plan, discoveries = expanded.config, expanded.discoveries
    if shard is not None:
        plan = replace(plan, targets=tuple(select(plan.targets, shard, lambda t: t.name)))
        if shard.index != 1:  # the discovery is recorded once, by the first shard
            discoveries = {}
    progress = RunProgress(len(plan.targets) + len(discoveries), _target_line)
    with relayed_signals(), progress:  # a CronJob's SIGTERM stops the collections
        job = workflow.schedule_job(
            prepared,
            plan.formats,
            auth=auth,
            cloud=plan.cloud,
            endpoints=live.endpoints,
            sign_key=key,
            per_subscription=plan.per_subscription,
            concurrency=plan.concurrency,
            # Collections in worker processes cannot reach this process's display.
            on_collected=progress.collected if plan.processes == 1 else None,
        )
        runs = run_schedule(plan, job, discoveries=discoveries, on_done=progress.finished)
    for run in runs:
        click.echo(visible(_target_line(run)))
    click.echo(f"History: {history_location(plan)}")
    sys.exit(exit_code(runs))


def _target_line(run: TargetRun) -> str:
    record = run.record
    if record.error or run.verdict is None:
        return f"{record.target}: ERROR (exit {record.exit_code}) {record.error}"
    if record.run_id is None:  # a discovery: what it found
        return f"{record.target}: {run.verdict} -> {run.folder}"
    # The verdict every report states: with fail_on none, failures are "not gated", never a pass.
    failing = [f"{n} {s}" for s, n in record.by_severity.items() if n]
    counts = ", ".join(failing) + " failing" if failing else "nothing failing"
    waived = record.by_status.get("waived", 0)
    if waived:
        counts += f", {waived} waived"
    return f"{record.target}: {run.verdict} (exit {record.exit_code}) {counts} -> {run.folder}"


@click.group()
def history() -> None:
    """The run history database (SQLite or PostgreSQL)."""


@history.command("migrate")
@click.argument("source")
@click.argument("destination")
def history_migrate(source: str, destination: str) -> None:
    """Copy every run of SOURCE into DESTINATION, both brought to the latest schema.

    SOURCE and DESTINATION are database URLs (sqlite:///runs/history.sqlite,
    postgresql://audit@db.example/mtls) or SQLite files. Runs already in DESTINATION are left
    alone, so the command can be run again. Evidence paths stay relative to the output root.
    """
    from mtls_audit.audit.history import shown_url
    from mtls_audit.audit.history_copy import copy_history

    done = copy_history(source, destination)
    click.echo(
        f"{plural(done.copied, 'run')} copied to {shown_url(destination)}, "
        f"{done.already} already there."
    )


@click.command()
@click.option(
    "--history",
    "location",
    required=True,
    metavar="URL",
    help="The run history: sqlite:///path, a SQLite file, or postgresql://…",
)
@click.option(
    "--out",
    type=click.Path(path_type=Path, file_okay=False),
    required=True,
    help="Folder to write the site into.",
)
@click.option(
    "--reports",
    type=click.Path(path_type=Path, file_okay=False, exists=True),
    help="The output root the runs were written under. Default: a SQLite history's "
    "folder (required with PostgreSQL).",
)
def dashboard(location: str, out: Path, reports: Path | None) -> None:
    """Write the run history as a static site: every instance, its latest status, distinct
    issues, coverage, certificates expiring soonest and trend charts (open out/index.html).

    The site needs no server and loads nothing from elsewhere; each instance's latest reports
    are copied beside its page.
    """  # fmt: skip
    from sqlalchemy.engine import make_url

    from mtls_audit.audit.dashboard import build_site
    from mtls_audit.audit.history import History, database_url

    url = make_url(database_url(location))
    if reports is None:
        if url.get_backend_name() != "sqlite" or not url.database:
            raise click.UsageError("give --reports (the output root) with a PostgreSQL history")
        reports = Path(url.database).parent
    history = History(location)
    try:
        pages = build_site(history, reports, out)
    finally:
        history.close()
    click.echo(f"{plural(len(pages), 'page')} written: {out / 'index.html'}")
