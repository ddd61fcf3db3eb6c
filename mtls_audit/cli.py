"""The command line: parses options, calls the jobs in ``workflow``, prints, exits.

Exit codes: 0 nothing at or above the threshold, 1 findings at or above it, 2 usage or input
error, 3 evidence incomplete (or an internal error: a crash never exits 0 or 1).
"""

from __future__ import annotations

import gc
import json
import logging
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from mtls_audit import __version__
from mtls_audit.cli_audit import (
    AUDIT_OPTIONS,
    diff,
    prepare,
    signing_key,
    signing_pdf_writer,
    verify,
)
from mtls_audit.cli_live import CLOUD_OPTION, LiveOptions, auth_option, live_options, tell
from mtls_audit.cli_options import LazyGroup, OptionGroup
from mtls_audit.cli_probe import ProbeOptions, probe_options, probe_settings, run_probe
from mtls_audit.errors import InputError, MissingDependencyError, MtlsAuditError
from mtls_audit.output_files import prepare_folder
from mtls_audit.vocabulary import (
    FAIL_ON_CHOICES,
    FORMATS,
    NO_THRESHOLD,
    AuthMode,
    Cloud,
    Severity,
)
from mtls_audit.wording import plural

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from mtls_audit.audit.run_settings import RunSettings
    from mtls_audit.sources import Source
    from mtls_audit.workflow import PdfWriter, PreparedRun

F = TypeVar("F", bound=Callable[..., Any])
RULE_PACK_OPTION = click.option(
    "--rules",
    "rule_dirs",
    multiple=True,
    type=click.Path(path_type=Path, file_okay=False, exists=True),
    help="An extra rule pack directory (repeatable).",
)


def _split(values: Sequence[str]) -> list[str]:
    return [v.strip() for value in values for v in value.split(",") if v.strip()]


def _formats(values: Sequence[str]) -> list[str]:
    chosen = _split(values) or ["json", "text"]
    bad = [f for f in chosen if f not in FORMATS]
    if bad:
        raise click.BadParameter(
            f"unknown format {', '.join(bad)}; choose from {', '.join(FORMATS)}",
            param_hint="--format",
        )
    return chosen


@dataclass(frozen=True)
class AssessChoices:
    """What ``assess`` and ``scan`` were told about judging and writing, as given."""

    formats: tuple[str, ...]
    out: Path
    fail_on: str
    select: tuple[str, ...]
    ignore: tuple[str, ...]
    rule_dirs: tuple[Path, ...]
    disable_pack: tuple[str, ...]
    as_of: datetime | None
    warning_days: int
    notice_days: int
    waivers_file: Path | None
    baseline_file: Path | None
    sign_key: Path | None
    sign_pdf: Path | None

    def settings(self) -> RunSettings:
        """The run settings, typed as ``schedule run`` reads them from a schedule file."""
        from mtls_audit.audit.run_settings import RunSettings

        return RunSettings(
            fail_on=None if self.fail_on == NO_THRESHOLD else Severity(self.fail_on),
            select=tuple(_split(self.select)),
            ignore=tuple(_split(self.ignore)),
            rule_dirs=self.rule_dirs,
            disabled_packs=self.disable_pack,
            as_of=self.as_of.replace(tzinfo=UTC) if self.as_of else None,
            warning_days=self.warning_days,
            notice_days=self.notice_days,
            waivers=self.waivers_file,
            baseline=self.baseline_file,
        )

    def outputs(self) -> Outputs:
        return Outputs(tuple(_formats(self.formats)), self.out)


assess_options = OptionGroup(
    "choices",
    AssessChoices,
    click.option(
        "--format",
        "formats",
        multiple=True,
        metavar="LIST",
        help=f"Outputs, comma-separated or repeated: {', '.join(FORMATS)}. Default: json,text.",
    ),
    click.option(
        "--out",
        "out",
        type=click.Path(path_type=Path),
        default=Path("mtls-audit-out"),
        show_default=True,
        help="Folder for the outputs.",
    ),
    click.option(
        "--fail-on",
        type=click.Choice(FAIL_ON_CHOICES),
        default="critical",
        show_default=True,
        help="Exit 1 when a result at or above this severity fails.",
    ),
    click.option(
        "--select",
        multiple=True,
        metavar="IDS",
        help="Run only these rules (ids, id prefixes such as MTLS-IN, or slugs).",
    ),
    click.option("--ignore", multiple=True, metavar="IDS", help="Skip these rules."),
    RULE_PACK_OPTION,
    click.option(
        "--disable-pack",
        multiple=True,
        metavar="NAME",
        help="Do not load this rule pack (recorded in the evidence).",
    ),
    click.option(
        "--as-of",
        type=click.DateTime(["%Y-%m-%d", "%Y-%m-%dT%H:%M:%S"]),
        help="Judge expiry as of this UTC time instead of the collection time.",
    ),
    click.option(
        "--warning-days",
        type=click.IntRange(0, 3650),
        default=30,
        show_default=True,
        help="Certificate expiry warning window.",
    ),
    click.option(
        "--notice-days",
        type=click.IntRange(0, 3650),
        default=60,
        show_default=True,
        help="Certificate expiry notice window.",
    ),
    *AUDIT_OPTIONS,
)
"""Options shared by ``assess`` and ``scan``."""


@dataclass(frozen=True)
class SourceOptions:
    """Where the snapshot of ``collect`` and ``scan`` comes from, as given."""

    sample: bool
    from_files: tuple[Path, ...]
    parameter_files: tuple[Path, ...]
    subscription: tuple[str, ...]
    resource_group: tuple[str, ...]
    service: tuple[str, ...]
    auth: AuthMode
    cloud: Cloud
    concurrency: int
    verbose: bool


source_options = OptionGroup(
    "source",
    SourceOptions,
    click.option("--sample", is_flag=True, help="Use the bundled sample instead of Azure."),
    click.option(
        "--from-file",
        "from_files",
        multiple=True,
        type=click.Path(path_type=Path),
        help="Offline input (repeatable): ARM resources, a deployment template or a .bicep "
        "file (compiled with bicep or az when on PATH), `terraform show -json` output, or an "
        "APIOps artifacts folder.",
    ),
    click.option(
        "--parameters",
        "parameter_files",
        multiple=True,
        type=click.Path(path_type=Path),
        help="ARM parameters file for templates, or an APIOps configuration.*.yaml (repeatable).",
    ),
    click.option("--subscription", multiple=True, help="Subscription id (repeatable)."),
    click.option("--resource-group", multiple=True, help="Resource group (repeatable)."),
    click.option("--service", multiple=True, help="APIM service name (repeatable)."),
    auth_option(),
    CLOUD_OPTION,
    click.option(
        "--concurrency",
        type=click.IntRange(1, 64),
        default=8,
        show_default=True,
        help="Concurrent ARM requests per subscription.",
    ),
    click.option("--verbose", is_flag=True, help="Log every request."),
)
"""Options shared by ``collect`` and ``scan``: where the snapshot comes from (with
``live_options``, the bounds and endpoints of a live collection)."""


def _check_source(source: SourceOptions) -> None:
    """Refuse a source that cannot be collected before any folder is made or work done."""
    if source.sample and source.from_files:
        raise click.UsageError("--sample and --from-file cannot be combined")
    if source.sample or source.from_files:
        return
    if not source.subscription:
        raise click.UsageError("give --subscription (live collection), --from-file or --sample")
    from mtls_audit.dependencies import require_modules
    from mtls_audit.sources.azure.source import SDK_MODULES

    require_modules("live collection from Azure", SDK_MODULES)


def _source(source: SourceOptions, live: LiveOptions) -> Source:
    """The source ``_check_source`` accepted."""
    if source.sample:
        from mtls_audit.sources.sample import SampleSource

        return SampleSource()
    if source.from_files:
        from mtls_audit.sources.files import FilesSource

        return FilesSource(
            source.from_files,
            parameter_files=source.parameter_files,
            subscription=source.subscription[0] if source.subscription else None,
            resource_group=source.resource_group[0] if source.resource_group else None,
        )
    from mtls_audit.sources.azure.source import AzureOptions, AzureSource

    if source.verbose:
        # Only our own log: azure-core's INFO log prints every header of every request.
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(message)s"))
        ours = logging.getLogger("mtls_audit")
        ours.addHandler(handler)
        ours.setLevel(logging.INFO)
    options = AzureOptions(
        subscriptions=source.subscription,
        resource_groups=source.resource_group,
        services=source.service,
        auth=source.auth,
        cloud=source.cloud,
        concurrency=source.concurrency,
        verbose=source.verbose,
        progress=sys.stderr.isatty(),
    )
    return AzureSource(live.applied(options))


def _collect(source: SourceOptions, live: LiveOptions) -> dict[str, Any]:
    """The snapshot of the source the options name (a live one's collection told on stderr)."""
    chosen = _source(source, live)
    document = chosen.load()
    if chosen.kind == "azure":
        tell(document)
    return document


@contextmanager
def _one_run() -> Iterator[None]:
    """No cyclic garbage collection during one scan or assessment: the run builds millions of
    objects that live to its end (the snapshot, the model, the results, the evidence) and
    little cyclic garbage, and each full collection walks them all (40 % of the CPU time of
    the 20,000-operation scan, for no memory back). The command ends with the run.

    What the run left is frozen (``gc.freeze``) before collection resumes: otherwise the first
    allocation after it would walk every object made during the run, and the interpreter's
    last collection at exit again (0.2 s each at 20,000 operations). A later run in the same
    process (tests) first unfreezes and collects what the one before it left, so that its
    cyclic garbage is not kept for good."""
    enabled = gc.isenabled()
    if enabled and gc.get_freeze_count():
        gc.unfreeze()
        gc.collect()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.freeze()
            gc.enable()


@contextmanager
def _pdf_worker(formats: Sequence[str]) -> Iterator[PdfWriter | None]:
    """When the command writes a PDF, a worker that loads the renderer meanwhile, if it can.

    Entered before anything else is read or imported: the sooner it forks, the sooner it is
    ready (see ``report.pdf_worker``). The formats are checked later, with the other options.
    """
    worker = None
    if "pdf" in _split(formats):  # the worker's module loads multiprocessing
        from mtls_audit.report.pdf_worker import PdfWorker

        worker = PdfWorker.start()
    if worker is None:
        yield None
        return
    with worker:
        yield worker.write


@dataclass(frozen=True)
class Outputs:
    """What ``assess`` and ``scan`` write, and where."""

    formats: tuple[str, ...]
    out: Path

    @property
    def writes_files(self) -> bool:
        """Whether a file is asked for (``text`` is the console summary only)."""
        return any(f != "text" for f in self.formats)


def _assess_and_report(
    document: dict[str, Any],
    sha256: str,
    outputs: Outputs,
    prepared: tuple[PreparedRun, Ed25519PrivateKey | None],
    extra: Sequence[Path] = (),
    pdf_writer: PdfWriter | None = None,
) -> int:
    from mtls_audit import workflow
    from mtls_audit.audit.integrity import earlier_outputs, remove_stale, seal

    formats, out = outputs.formats, outputs.out
    run, key = prepared
    outcome = workflow.assess(document, sha256, run.options, rules=run.rules, failures=run.failures)
    earlier = earlier_outputs(out)
    missing: MissingDependencyError | None = None
    try:
        files = workflow.write_outputs(outcome, formats, out, pdf_writer=pdf_writer)
    except MissingDependencyError as exc:  # every other output was written: seal and show them
        missing, files = exc, exc.written
    written = [*extra, *files]
    if written:
        written += seal(out, written, key)
        remove_stale(out, earlier, written)
    if "text" in formats:
        from mtls_audit.report.console import print_summary

        print_summary(outcome.evidence, written)
    else:
        from mtls_audit.evidence.reader import verdict, visible

        stated = verdict(outcome.evidence)
        where = f"; {plural(len(written), 'file')} in {out}" if written else ""
        code = outcome.gate.exit_code
        click.echo(visible(f"mtls-audit: {stated.label} (exit {code}){where}. {stated.sentence}"))
    if missing is not None:
        raise MissingDependencyError(
            f"{missing}\nEvery other output was written to {out}; the exit code is 2, not"
            f" the verdict's {outcome.gate.exit_code}, because an output is missing."
        )
    return outcome.gate.exit_code


# The commands of an estate are imported when run or listed: a scan does not load them.
_ESTATE_COMMANDS = {
    name: f"mtls_audit.cli_estate:{name}" for name in ("dashboard", "estate", "history", "schedule")
}


@click.group(
    cls=LazyGroup,
    lazy=_ESTATE_COMMANDS,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)
@click.version_option(__version__, prog_name="mtls-audit")
def cli() -> None:
    """Audit mutual TLS on Azure API Management and produce compliance evidence.

    \b
    Quick start, no Azure needed:
      mtls-audit scan --sample --format json,text,pdf
    \b
    Exit codes: 0 nothing at or above --fail-on, 1 findings at or above it,
    2 usage or input error, 3 evidence incomplete.
    """


def _snapshot_out(help_text: str) -> Callable[[F], F]:
    """The ``--out`` option of the commands that write only a snapshot."""
    return click.option(
        "--out",
        "out",
        type=click.Path(path_type=Path),
        default=Path("mtls-audit-out"),
        show_default=True,
        help=help_text,
    )


@cli.command()
@source_options
@live_options
@_snapshot_out("Folder for snapshot.json.")
def collect(out: Path, source: SourceOptions, live: LiveOptions) -> None:
    """Collect a snapshot from Azure, or from exported files (--from-file)."""
    from mtls_audit import snapshot

    _check_source(source)
    prepare_folder(out)  # before any work: collection can take minutes
    document = _collect(source, live)
    path = out / "snapshot.json"
    digest = snapshot.write(document, path)
    gaps = len(document.get("gaps", []))
    click.echo(
        f"Wrote {path} ({len(document['resources'])} resources, {plural(gaps, 'gap')}, "
        f"sha256 {digest})."
    )
    if (document.get("provenance") or {}).get("stopped"):
        sys.exit(3)  # the snapshot is knowingly incomplete


@cli.command()
@click.argument("snapshot_file", metavar="SNAPSHOT", type=click.Path(path_type=Path))
@assess_options
def assess(snapshot_file: Path, choices: AssessChoices) -> None:
    """Assess a snapshot file and write the evidence and reports."""
    with _pdf_worker(choices.formats) as worker, _one_run():
        from mtls_audit import snapshot

        prepared = prepare(choices.settings()), signing_key(choices.sign_key)
        pdf_writer = signing_pdf_writer(worker, choices.sign_pdf, choices.outputs().formats)
        loaded = snapshot.read(snapshot_file)
        extra: list[Path] = []
        outputs = choices.outputs()
        if outputs.writes_files:
            prepare_folder(outputs.out)  # before any work: collection can take minutes
            # A snapshot read from the output folder (scan's, assessed again) is listed with it.
            if snapshot_file.resolve().parent == outputs.out.resolve():
                extra.append(outputs.out / snapshot_file.name)
        code = _assess_and_report(
            loaded.document, loaded.sha256, outputs, prepared, extra, pdf_writer
        )
    sys.exit(code)


@cli.command()
@source_options
@live_options
@assess_options
@click.option(
    "--probe", is_flag=True, help="Also test the live gateway over TLS (see `probe --help`)."
)
@probe_options
def scan(
    source: SourceOptions,
    live: LiveOptions,
    choices: AssessChoices,
    probe: bool,
    probing: ProbeOptions,
) -> None:
    """Collect and assess in one go (keeps the snapshot beside the evidence)."""
    with _pdf_worker(choices.formats) as worker, _one_run():
        from mtls_audit import snapshot

        prepared = prepare(choices.settings()), signing_key(choices.sign_key)
        outputs = choices.outputs()
        pdf_writer = signing_pdf_writer(worker, choices.sign_pdf, outputs.formats)
        _check_source(source)
        settings = probe_settings(probing) if probe else None
        prepare_folder(outputs.out)  # before any work: collection can take minutes
        document = _collect(source, live)
        if settings is not None:
            document = run_probe(document, settings)
        path = outputs.out / "snapshot.json"
        sha = snapshot.write(document, path)
        code = _assess_and_report(document, sha, outputs, prepared, [path], pdf_writer)
    sys.exit(code)


@cli.command()
@click.argument("snapshot_file", metavar="SNAPSHOT", type=click.Path(path_type=Path))
@probe_options
@_snapshot_out("Folder for snapshot.json (the snapshot with the probe's results).")
def probe(snapshot_file: Path, out: Path, probing: ProbeOptions) -> None:
    """Test the live gateway over TLS: without a certificate, with an untrusted one, with an
    expired one, with yours (--client-cert), on the built-in hostname, and with TLS 1.0/1.1.

    \b
    Targets: every gateway hostname of SNAPSHOT x one GET/HEAD/OPTIONS operation
    without path parameters per API (or --probe-path, or --probe-url). Assess the
    snapshot written to --out to judge the results (rules MTLS-PROBE-*).
    The gateway's server certificate is verified against REQUESTS_CA_BUNDLE (or the
    system store); HTTPS_PROXY / NO_PROXY are honoured; a subscription key is taken
    from MTLS_AUDIT_PROBE_SUBSCRIPTION_KEY and never recorded.
    """
    from mtls_audit import snapshot

    loaded = snapshot.read(snapshot_file)
    settings = probe_settings(probing)
    prepare_folder(out)
    document = run_probe(loaded.document, settings)
    path = out / "snapshot.json"
    digest = snapshot.write(document, path)
    section = document["probe"]
    click.echo(
        f"Wrote {path} ({plural(len(section['targets']), 'URL')} and "
        f"{plural(len(section['hosts']), 'host')} "
        f"probed, sha256 {digest})."
    )


@cli.group()
def rules() -> None:
    """List and explain the rule catalogue."""


@rules.command("list")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "markdown", "json"]),
    default="text",
    show_default=True,
    help="text: a table; markdown: the catalogue page, printed (docs/rules.md is this output); "
    "json: one object per rule.",
)
@RULE_PACK_OPTION
def rules_list(fmt: str, rule_dirs: tuple[Path, ...]) -> None:
    """List every rule. Everything is printed; nothing is written to a file
    (regenerate the docs with: mtls-audit rules list --format markdown > docs/rules.md)."""
    from mtls_audit.evidence.reader import visible
    from mtls_audit.report.catalogue import catalogue_markdown, catalogue_text
    from mtls_audit.report.evidence import rule_entry
    from mtls_audit.workflow import AssessOptions, load_rules

    found, failures, _ = load_rules(AssessOptions(rule_dirs=rule_dirs))
    for failure in failures:
        click.echo(visible(f"mtls-audit: error: {failure.message}"), err=True)
    if fmt == "markdown":
        click.echo(catalogue_markdown(found), nl=False)
    elif fmt == "json":
        entries = [rule_entry(r) for r in sorted(found, key=lambda r: r.id)]
        click.echo(json.dumps(entries, indent=2, ensure_ascii=False))
    else:
        from rich.console import Console
        from rich.table import Table

        from mtls_audit.report.console import inert

        table = Table("id", "severity", "slug", "title")
        for row in catalogue_text(found):
            table.add_row(*(inert(cell) for cell in row))
        Console(highlight=False, emoji=False).print(table)
    if failures:
        sys.exit(3)


@rules.command("explain")
@click.argument("rule_id")
@RULE_PACK_OPTION
def rules_explain(rule_id: str, rule_dirs: tuple[Path, ...]) -> None:
    """Explain one rule (of the built-in pack, or of a pack given with --rules): what it
    checks, why, an example, how to fix it."""
    from mtls_audit.evidence.reader import visible
    from mtls_audit.report.catalogue import rule_page
    from mtls_audit.workflow import AssessOptions, load_rules

    found, failures, _ = load_rules(AssessOptions(rule_dirs=rule_dirs))
    for failure in failures:
        click.echo(visible(f"mtls-audit: error: {failure.message}"), err=True)
    wanted = rule_id.strip().upper()
    match = next((r for r in found if r.id == wanted or r.slug.upper() == wanted), None)
    if match is None:
        raise click.UsageError(f"no rule {rule_id!r} (see `mtls-audit rules list`)")
    click.echo(rule_page(match, heading="#"), nl=False)


for command in (diff, verify):
    cli.add_command(command)


@cli.command("policy")
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
)
@click.option(
    "--named-value",
    "named_values",
    multiple=True,
    metavar="NAME=VALUE",
    help="A named value the policy reads as {{NAME}} (repeatable); others are unknown.",
)
def policy(files: tuple[Path, ...], fmt: str, named_values: tuple[str, ...]) -> None:
    """Judge policy files as standalone inbound policies: which failing client
    certificates get through.

    \b
    Exit codes: 0 every file validates soundly, 1 a failing certificate gets
    through, 2 a file cannot be read, 3 undecidable (the worst code wins: 2, 1, 3, 0).
    """
    from mtls_audit.evidence.reader import visible
    from mtls_audit.policy.standalone import judge_file

    values = dict(_named_value(v) for v in named_values)
    verdicts = [judge_file(path, values) for path in files]
    if fmt == "json":
        click.echo(json.dumps([v.to_json() for v in verdicts], indent=2, ensure_ascii=False))
    else:
        for verdict in verdicts:
            click.echo(visible("\n".join(verdict.lines())))
    codes = {v.status.value for v in verdicts}
    sys.exit(next(code for code in (2, 1, 3, 0) if code in codes))


def _named_value(text: str) -> tuple[str, str]:
    name, sep, value = text.partition("=")
    if not sep or not name.strip():
        raise click.BadParameter(f"{text!r} is not NAME=VALUE", param_hint="--named-value")
    return name.strip(), value


def main(argv: Sequence[str] | None = None) -> None:
    """Entry point: turns every user error into one message and exit code 2."""
    try:
        cli.main(
            args=list(argv) if argv is not None else None,
            prog_name="mtls-audit",
            standalone_mode=False,
        )
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.ClickException as exc:
        exc.show()
        sys.exit(2)
    except click.exceptions.Abort:
        click.echo("Aborted.", err=True)
        sys.exit(2)
    except (InputError, MtlsAuditError) as exc:
        click.echo(f"mtls-audit: error: {_shown(exc)}", err=True)
        sys.exit(2)
    except KeyboardInterrupt:
        click.echo("Interrupted.", err=True)
        sys.exit(3)
    except Exception as exc:  # a crash must never look like a verdict
        click.echo(f"mtls-audit: internal error: {type(exc).__name__}: {_shown(exc)}", err=True)
        sys.exit(3)
    sys.exit(0)


def _shown(exc: Exception) -> str:
    """An error's message for the terminal: quoted input shows its control characters escaped."""
    from mtls_audit.evidence.reader import visible

    return visible(str(exc))
