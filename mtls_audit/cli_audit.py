"""The commands of the audit operations, ``diff`` and ``verify``, and the options ``assess``
and ``scan`` share with them (waivers, baseline, signing keys).

Like the rest of the command line, they parse, call and print; the work is in
``mtls_audit.audit`` and ``mtls_audit.workflow``.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from mtls_audit.wording import plural

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from mtls_audit.audit.overlay import AuditInputs
    from mtls_audit.audit.run_settings import RunSettings
    from mtls_audit.engine.packs import PackFailure
    from mtls_audit.engine.rule import Rule
    from mtls_audit.workflow import PdfWriter, PreparedRun

AUDIT_OPTIONS = (
    click.option(
        "--waivers",
        "waivers_file",
        type=click.Path(path_type=Path, dir_okay=False),
        help="Waivers file (YAML or TOML): approved, time-limited exceptions (docs/waivers.md).",
    ),
    click.option(
        "--baseline",
        "baseline_file",
        type=click.Path(path_type=Path, dir_okay=False),
        help="An earlier evidence.json: gate only on results that are new relative to it.",
    ),
    click.option(
        "--sign-key",
        type=click.Path(path_type=Path, dir_okay=False),
        help="Ed25519 private key (unencrypted PKCS#8 PEM) to sign the manifest with.",
    ),
    click.option(
        "--sign-pdf",
        type=click.Path(path_type=Path, dir_okay=False),
        metavar="PKCS12",
        help="Key and X.509 certificate (.p12/.pfx) to sign the PDF report with (PAdES); "
        "the password is read from MTLS_AUDIT_SIGN_PDF_PASSWORD.",
    ),
)
"""Options of ``assess`` and ``scan``: the waivers and baseline are read by :func:`prepare`,
the keys by :func:`signing_key` and :func:`signing_pdf_writer`."""


def prepare(settings: RunSettings) -> PreparedRun:
    """The run :func:`mtls_audit.workflow.prepare_run` assembles, with its selection and waivers
    checked against the rules found: before any work, so that a typo stops the run."""
    from mtls_audit.workflow import prepare_run

    prepared = prepare_run(settings)
    check_patterns(prepared.rules, [*settings.select, *settings.ignore])
    check_waivers(prepared.rules, prepared.failures, prepared.options.audit)
    return prepared


def signing_key(path: Path | None) -> Ed25519PrivateKey | None:
    """The key the output folder's manifest is signed with, when one is given."""
    if path is None:
        return None
    from mtls_audit.audit.dsse import load_private_key

    return load_private_key(path)


def signing_pdf_writer(
    writer: PdfWriter | None, pkcs12: Path | None, formats: Sequence[str]
) -> PdfWriter | None:
    """``writer`` (the PDF worker's, or None for the in-process one), signing each PDF it writes
    with the PKCS#12 key when one is given. The key is read now, before any work."""
    if pkcs12 is None:
        return writer
    if "pdf" not in formats:
        raise click.BadParameter(
            "it signs the PDF report: add pdf to --format", param_hint="--sign-pdf"
        )
    from mtls_audit.report.pdf import write_pdf
    from mtls_audit.report.pdf_signature import load_pdf_signer

    signer = load_pdf_signer(pkcs12)
    paginate = writer or write_pdf

    def write_signed(evidence: Mapping[str, Any], evidence_bytes: bytes, out: Path) -> None:
        paginate(evidence, evidence_bytes, out)
        signer.sign(out)

    return write_signed


def check_waivers(
    rules: Sequence[Rule], failures: Sequence[PackFailure], audit: AuditInputs
) -> None:
    """Refuse waivers for rules no pack has (unless a pack failed: its rules are unknown, and
    its failure is reported as a run-level error)."""
    if audit.waivers is not None and not failures:
        audit.waivers.check_rules([r.id for r in rules])


def check_patterns(rules: Sequence[Rule], patterns: Sequence[str]) -> None:
    from mtls_audit.engine.runner import unknown_patterns

    unknown = unknown_patterns(rules, patterns)
    if unknown:
        raise click.UsageError(
            f"no rule matches {', '.join(unknown)} (see `mtls-audit rules list`)"
        )


@click.command()
@click.argument("old", type=click.Path(path_type=Path, dir_okay=False))
@click.argument("new", type=click.Path(path_type=Path, dir_okay=False))
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json", "markdown"]),
    default="text",
    show_default=True,
)
def diff(old: Path, new: Path, fmt: str) -> None:
    """Compare two evidence documents: new, fixed, changed and unchanged findings.

    Findings (fail, indeterminate, waived) are matched by fingerprint. A report, not a gate:
    exit 0 (2 when a document cannot be read). To gate on new findings, use --baseline.
    """
    from mtls_audit.audit.diff import RENDERERS, diff_documents
    from mtls_audit.audit.files import read_evidence

    comparison, sides = diff_documents(read_evidence(old), read_evidence(new))
    click.echo(RENDERERS[fmt](comparison, sides), nl=False)


@click.command()
@click.argument("folder", type=click.Path(path_type=Path, file_okay=False, exists=True))
@click.option(
    "--key",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Ed25519 public key (PEM) to check manifest.dsse.json with.",
)
def verify(folder: Path, key: Path | None) -> None:
    """Check an output folder against its manifest.json (and signature, with --key).

    Every listed file's SHA-256 and size, files present but not listed, and the signed
    statement. Exit 0 when everything matches, 1 when anything does not, 2 on a usage error.
    Without --key the digests are checked and the signature is not.
    """
    from mtls_audit.audit.dsse import load_public_key
    from mtls_audit.audit.integrity import MANIFEST_NAME, verify_folder
    from mtls_audit.evidence.reader import visible

    report = verify_folder(folder, load_public_key(key) if key else None)
    # File names and manifest entries are data: printed with their control characters escaped.
    for problem in report.problems:
        click.echo(visible(f"MISMATCH {problem}"))
    for note in report.notes:
        click.echo(visible(note))
    if report.ok:
        verb = "matches" if report.checked == 1 else "match"
        files = plural(report.checked, "file")
        click.echo(visible(f"OK: {files} {verb} {folder / MANIFEST_NAME}."))
    else:
        click.echo(visible(f"FAILED: {plural(len(report.problems), 'problem')} in {folder}."))
    sys.exit(0 if report.ok else 1)
