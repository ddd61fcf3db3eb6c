"""The jobs behind the command line: collect a snapshot, assess it, write the outputs.

The command line only parses options and prints; everything it runs is here, so that the
same jobs can be called from Python.
"""

from __future__ import annotations

import hashlib
import threading
import weakref
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from functools import cached_property, partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mtls_audit import snapshot
from mtls_audit.analysis import Context
from mtls_audit.analysis.coverage import coverage_rows
from mtls_audit.audit.overlay import AuditInputs, overlay
from mtls_audit.audit.run_settings import RunSettings
from mtls_audit.engine.packs import Pack, PackFailure, discover
from mtls_audit.engine.results import Severity
from mtls_audit.engine.rule import Options, Rule
from mtls_audit.engine.runner import Assessment, Gate, RunError, gate, run, select_rules
from mtls_audit.errors import MissingDependencyError
from mtls_audit.evidence.clock import now
from mtls_audit.forking import Beside
from mtls_audit.model.build import build_model
from mtls_audit.output_files import prepare_folder, write_file, write_text
from mtls_audit.report.evidence import RunInfo, build_evidence
from mtls_audit.sources.files import FilesSource
from mtls_audit.sources.sample import SampleSource
from mtls_audit.vocabulary import AuthMode, Cloud

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from mtls_audit.audit.baseline import Baseline
    from mtls_audit.audit.schedule import Job, Target
    from mtls_audit.audit.waivers import WaiverFile
    from mtls_audit.sources.azure.bounds import EndpointOverrides
    from mtls_audit.sources.azure.runtime import SharedRuntime
    from mtls_audit.sources.azure.source import AzureOptions


@dataclass(frozen=True)
class AssessOptions:
    fail_on: Severity | None = Severity.CRITICAL
    select: Sequence[str] = ()
    ignore: Sequence[str] = ()
    rule_dirs: Sequence[Path] = ()
    disabled_packs: Sequence[str] = ()
    as_of: datetime | None = None
    rule_options: Options = field(default_factory=Options)
    audit: AuditInputs = field(default_factory=AuditInputs)


@dataclass(frozen=True)
class PreparedRun:
    """A run ready to judge: its options (audit inputs read) and the rules of its packs."""

    options: AssessOptions
    rules: tuple[Rule, ...]
    failures: tuple[PackFailure, ...]


def prepare_run(settings: RunSettings) -> PreparedRun:
    """The one way a run is assembled (``scan``, ``assess``, ``schedule run``): the waivers and
    baseline read and the rule packs loaded, before any collection, so that a typo stops it."""
    waivers: WaiverFile | None = None
    if settings.waivers:  # the readers of either file load YAML: imported when one is given
        from mtls_audit.audit.waivers import load_waivers

        waivers = load_waivers(settings.waivers)
    baseline: Baseline | None = None
    if settings.baseline:
        from mtls_audit.audit.baseline import load_baseline

        baseline = load_baseline(settings.baseline)
    options = AssessOptions(
        fail_on=settings.fail_on,
        select=settings.select,
        ignore=settings.ignore,
        rule_dirs=settings.rule_dirs,
        disabled_packs=settings.disabled_packs,
        as_of=settings.as_of,
        rule_options=Options(settings.warning_days, settings.notice_days),
        audit=AuditInputs(waivers=waivers, baseline=baseline),
    )
    rules, failures, _ = load_rules(options)
    return PreparedRun(options, tuple(rules), tuple(failures))


@dataclass(frozen=True)
class Outcome:
    evidence: dict[str, Any]
    gate: Gate

    @cached_property
    def evidence_bytes(self) -> bytes:
        """The bytes of evidence.json (the PDF embeds them); evidence.json itself is written
        in pieces, never held whole."""
        return snapshot.dumps(self.evidence)

    @cached_property
    def evidence_sha256(self) -> str:
        """The SHA-256 of evidence.json, which the reports cite: of the bytes when the PDF has
        already had them encoded, else of the pieces as they are encoded."""
        if "evidence_bytes" in self.__dict__:
            return hashlib.sha256(self.evidence_bytes).hexdigest()
        digest = hashlib.sha256()
        for chunk in snapshot.dump_chunks(self.evidence):
            digest.update(chunk)
        return digest.hexdigest()


def load_rules(options: AssessOptions) -> tuple[list[Rule], list[PackFailure], list[Pack]]:
    packs, failures = discover(options.rule_dirs, disabled=options.disabled_packs)
    rules = [r for p in packs for r in p.rules]
    return rules, failures, packs


def assess(
    document: Mapping[str, Any],
    sha256: str,
    options: AssessOptions,
    *,
    rules: Sequence[Rule] | None = None,
    failures: Sequence[PackFailure] = (),
) -> Outcome:
    """Judge a snapshot document and build its evidence."""
    started = now()
    if rules is None:
        all_rules, failures, _ = load_rules(options)
    else:
        all_rules = list(rules)
    chosen = select_rules(all_rules, options.select, options.ignore)
    model = build_model(document, as_of=options.as_of)
    ctx = Context(model, options.rule_options)
    result = run(ctx, chosen)
    errors = tuple(RunError("pack-error", f.message, pack=f.pack) for f in failures)
    errors += _collection_stopped(document)
    assessment = Assessment(result.findings, errors + result.errors, result.rules)
    adjusted = overlay(assessment, options.audit, started=started, fail_on=options.fail_on)
    verdict = gate(adjusted.gated, options.fail_on, gaps=len(model.gaps))
    info = RunInfo(
        started,
        now(),
        sha256,
        document,
        options.rule_options,
        options.fail_on,
        options.select,
        options.ignore,
        options.as_of,
        tuple(str(d) for d in options.rule_dirs),
        tuple(options.disabled_packs),
    )
    coverage = coverage_rows(ctx)  # a report over the context, whichever rules were chosen
    evidence = build_evidence(model, adjusted.assessment, verdict, info, coverage=coverage)
    adjusted.annotate(evidence)
    return Outcome(evidence, verdict)


def _collection_stopped(document: Mapping[str, Any]) -> tuple[RunError, ...]:
    """A live collection cut short (deadline, signal) is a run-level error: the evidence is
    knowingly incomplete, whatever the threshold."""
    stopped = (document.get("provenance") or {}).get("stopped")
    if not isinstance(stopped, Mapping):
        return ()
    message = (
        f"the live collection stopped before it was complete ({stopped.get('kind')}); "
        "what was not collected is listed in the gaps"
    )
    return (RunError("collection-stopped", message),)


Writer = Callable[[Outcome, Path], list[Path]]
PdfWriter = Callable[[Mapping[str, Any], bytes, Path], None]


def _write_json(outcome: Outcome, out: Path) -> list[Path]:
    path = out / "evidence.json"
    write_file(path, snapshot.dump_chunks(outcome.evidence))
    return [path]


def _write_pdf(outcome: Outcome, out: Path, writer: PdfWriter | None = None) -> list[Path]:
    from mtls_audit.report.pdf import write_pdf

    path = out / "report.pdf"
    (writer or write_pdf)(outcome.evidence, outcome.evidence_bytes, path)
    return [path]


def _write_html(outcome: Outcome, out: Path) -> list[Path]:
    from mtls_audit.report.html import render_html

    path = out / "report.html"
    write_text(path, render_html(outcome.evidence, evidence_sha256=outcome.evidence_sha256))
    return [path]


def _write_sarif(outcome: Outcome, out: Path) -> list[Path]:
    from mtls_audit.report.sarif import write_sarif

    return write_sarif(outcome.evidence, out / "results.sarif")


def _write_junit(outcome: Outcome, out: Path) -> list[Path]:
    from mtls_audit.report.junit import write_junit

    path = out / "junit.xml"
    write_junit(outcome.evidence, path)
    return [path]


def _write_markdown(outcome: Outcome, out: Path, written: Sequence[Path] = ()) -> list[Path]:
    """The summary, naming the files this run wrote before it (never an earlier run's)."""
    from mtls_audit.report.markdown import render_markdown

    path = out / "summary.md"
    candidates = {
        "PDF report": "report.pdf",
        "HTML report": "report.html",
        "Evidence (JSON)": "evidence.json",
        "SARIF": "results.sarif",
        "JUnit": "junit.xml",
    }
    names = {p.name for p in written}
    files = {label: file for label, file in candidates.items() if file in names}
    write_text(path, render_markdown(outcome.evidence, report_files=files))
    return [path]


WRITERS: dict[str, Writer] = {
    "json": _write_json,
    "pdf": _write_pdf,
    "html": _write_html,
    "sarif": _write_sarif,
    "junit": _write_junit,
    "markdown": _write_markdown,
}


BESIDE = frozenset({"junit"})
"""Formats written in a forked child while this process writes the others: JUnit takes the
longest after evidence.json on a large estate (see docs/benchmarks.md)."""


def write_outputs(
    outcome: Outcome, formats: Sequence[str], out: Path, *, pdf_writer: PdfWriter | None = None
) -> list[Path]:
    """Write every requested file format (``text`` is the console summary, not a file).

    The evidence JSON is always written when any other file is, since every report cites it.
    ``pdf_writer`` writes the PDF in place of ``report.pdf.write_pdf`` (the PDF worker does).
    A format whose library is missing does not stop the others: they are all written, then the
    MissingDependencyError is raised with the files written in its ``written``. The formats of
    :data:`BESIDE` are written beside the others, in a forked child, where that can pay.
    """
    files = [f for f in formats if f != "text"]
    if files and "json" not in files:
        files.insert(0, "json")
    if not files:
        return []
    prepare_folder(out)
    ordered = sorted(dict.fromkeys(files), key=lambda name: name == "markdown")
    done: dict[str, list[Path]] = {}

    def so_far() -> list[Path]:
        return [path for name in ordered if name in done for path in done[name]]

    writers: dict[str, Callable[[], list[Path]]] = {
        name: partial(WRITERS[name], outcome, out) for name in ordered
    }
    if "pdf" in writers:
        writers["pdf"] = partial(_write_pdf, outcome, out, writer=pdf_writer)
    if "markdown" in writers:  # it names the files written before it: it is written last
        writers["markdown"] = lambda: _write_markdown(outcome, out, written=so_far())
    beside = {
        name: Beside(writers[name]) for name in ordered if name in BESIDE and len(ordered) > 1
    }
    missing: MissingDependencyError | None = None
    try:
        for name in sorted(ordered, key=lambda name: (name == "markdown", name in beside)):
            try:
                done[name] = beside[name].result() if name in beside else writers[name]()
            except MissingDependencyError as exc:
                missing = exc
    finally:
        for child in beside.values():
            child.abandon()
    written = so_far()
    if missing is not None:
        missing.written = written
        raise missing
    return written


def schedule_job(
    prepared: PreparedRun,
    formats: Sequence[str],
    *,
    auth: str = AuthMode.DEFAULT,
    cloud: str = Cloud.PUBLIC,
    endpoints: EndpointOverrides | None = None,
    sign_key: Ed25519PrivateKey | None = None,
    per_subscription: int = 1,
    concurrency: int = 8,
    on_collected: Callable[[Mapping[str, Any]], None] | None = None,
) -> Job:
    """What ``schedule run`` does for each target: collect, assess, write, seal.

    ``endpoints``: a custom cloud's (None: the cloud's own).
    Targets are collected and assessed concurrently; at most ``per_subscription`` collect from
    one subscription at once (each with ``concurrency`` requests at once), and all of them spend
    one ARM read budget per subscription.
    Reports are rendered one at a time, since the PDF renderer is not thread-safe.
    ``on_collected`` is given each live collection's provenance (the progress display).
    Live targets share one runtime (made for the first: an event loop, an HTTP session, a
    credential, so that tokens are asked for once per audience however many instances, and the
    read budgets); it is closed when the job is dropped, or at exit.
    """
    from contextlib import ExitStack

    from mtls_audit.audit.integrity import seal

    options, rules, failures = prepared.options, prepared.rules, prepared.failures
    rendering = threading.Lock()
    subscriptions: dict[str, threading.Semaphore] = {}
    registry = threading.Lock()
    shared: list[SharedRuntime] = []  # the runtime of the live targets, once made

    def runtime(options: AzureOptions) -> SharedRuntime:
        from mtls_audit.sources.azure.source import shared_runtime

        with registry:
            if not shared:
                shared.append(shared_runtime(options))
            return shared[0]

    def lock(subscription: str) -> threading.Semaphore:
        with registry:
            return subscriptions.setdefault(
                subscription.lower(), threading.Semaphore(per_subscription)
            )

    def job(target: Target, folder: Path, trend: list[dict[str, Any]]) -> Mapping[str, Any]:
        if target.sample:
            document = SampleSource().load()
        elif target.from_file:
            document = FilesSource(target.from_file, parameter_files=target.parameters).load()
        else:
            from mtls_audit.sources.azure.source import AzureOptions, AzureSource

            selection = AzureOptions(
                subscriptions=target.subscriptions,
                resource_groups=target.resource_groups,
                services=target.services,
                auth=auth,
                cloud=cloud,
                concurrency=concurrency,
                timeout_s=target.timeout_s,
                max_retries=target.retries,
                deadline_s=target.deadline_s,
            )
            if endpoints is not None:
                selection = endpoints.applied(selection)
            with ExitStack() as held:
                for subscription in sorted({s.lower() for s in target.subscriptions}):
                    held.enter_context(lock(subscription))
                shared_by = runtime(selection)
                selection = replace(selection, runtime=shared_by)
                document = AzureSource(selection, shared_by.credential).load()
            if target.discovered_by is not None:
                document["provenance"]["discovery"] = {
                    "via": "Azure Resource Graph",
                    "target": target.discovered_by,
                }
            if on_collected is not None:
                on_collected(document["provenance"])
        path = folder / "snapshot.json"
        sha = snapshot.write(document, path)
        chosen = replace(options, audit=replace(options.audit, trend=trend))
        outcome = assess(document, sha, chosen, rules=rules, failures=failures)
        with rendering:
            try:
                written = [path, *write_outputs(outcome, formats, folder)]
            except MissingDependencyError as exc:  # the target fails; what it wrote is sealed
                seal(folder, [path, *exc.written], sign_key)
                raise
        seal(folder, written, sign_key)
        return outcome.evidence

    weakref.finalize(job, _close_all, shared)
    return job


def _close_all(runtimes: list[SharedRuntime]) -> None:
    for runtime in runtimes:
        runtime.close()
