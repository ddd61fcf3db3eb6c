"""The integrity of an output folder: a manifest of digests, optionally signed, and its check.

``manifest.json`` lists every file the run wrote (path relative to the folder, SHA-256, size),
itself excluded. With a signing key, ``manifest.dsse.json`` is a DSSE envelope whose in-toto
Statement names every output and ``manifest.json`` as subjects with their SHA-256 digests.

:func:`verify_folder` recomputes every digest, reports files present but not listed and every
symbolic link (a run never writes one; a link could make a listed name read another file),
requires the manifest to be exactly as written (an edit that keeps the JSON meaning, such as a
changed space, is still a change) and checks the signature with a public key when one is given.

A run into a folder that holds an earlier run's outputs replaces them: :func:`earlier_outputs`
reads, before anything is written, which files the earlier manifest lists, and
:func:`remove_stale` removes those this run did not write again (the earlier ``results.sarif``
of a run that now writes no SARIF, say). Only files named in that manifest as one of the tool's
own outputs are ever removed, never another file of the folder.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

from mtls_audit import __version__
from mtls_audit.audit.files import AuditInputError
from mtls_audit.output_files import write_file

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import (
        Ed25519PrivateKey,
        Ed25519PublicKey,
    )

MANIFEST_NAME = "manifest.json"
ENVELOPE_NAME = "manifest.dsse.json"
MANIFEST_SCHEMA = "mtls-audit/manifest/v1"
PREDICATE_TYPE = "https://mtls-audit.invalid/evidence-manifest/v1"
SEALS = (MANIFEST_NAME, ENVELOPE_NAME)
OWN_OUTPUTS = frozenset(
    {
        "snapshot.json",
        "evidence.json",
        "report.pdf",
        "report.html",
        "results.sarif",
        "mtls-audit-inventory.txt",
        "junit.xml",
        "summary.md",
        *SEALS,
    }
)
"""The names of the files a run writes: the only ones an earlier run's cleanup may remove."""
_HEX64 = re.compile(r"^[0-9a-f]{64}$")


def _digest(path: Path) -> tuple[str, int]:
    sha = hashlib.sha256()
    size = 0
    with path.open("rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            sha.update(block)
            size += len(block)
    return sha.hexdigest(), size


def _dumps(document: Mapping[str, Any]) -> bytes:
    return (json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode()


def seal(folder: Path, files: Sequence[Path], key: Ed25519PrivateKey | None = None) -> list[Path]:
    """Write the manifest of ``files`` (all inside ``folder``) and, with a key, its signature."""
    entries = []
    for path in sorted(set(files)):
        try:
            name = path.resolve().relative_to(folder.resolve()).as_posix()
        except ValueError:
            raise AuditInputError(
                "an output lies outside the output folder", source=str(path)
            ) from None
        if name in SEALS:
            continue
        sha, size = _digest(path)
        entries.append({"path": name, "sha256": sha, "size": size})
    entries.sort(key=lambda e: str(e["path"]))
    manifest = {
        "schema": MANIFEST_SCHEMA,
        "tool": {"name": "mtls-audit", "version": __version__},
        "files": entries,
    }
    data = _dumps(manifest)
    manifest_path = folder / MANIFEST_NAME
    write_file(manifest_path, data)
    if key is None:
        return [manifest_path]
    from mtls_audit.audit import dsse  # signing loads cryptography: an unsigned run does not

    subjects = [{"name": e["path"], "digest": {"sha256": e["sha256"]}} for e in entries]
    subjects.append({"name": MANIFEST_NAME, "digest": {"sha256": hashlib.sha256(data).hexdigest()}})
    statement = {
        "_type": dsse.STATEMENT_TYPE,
        "subject": subjects,
        "predicateType": PREDICATE_TYPE,
        "predicate": {"manifest": MANIFEST_NAME, "tool": manifest["tool"]},
    }
    envelope_path = folder / ENVELOPE_NAME
    write_file(envelope_path, _dumps(dsse.sign(statement, key)))
    return [manifest_path, envelope_path]


def earlier_outputs(folder: Path) -> frozenset[str]:
    """The tool's own outputs an earlier run listed in ``folder``'s manifest (and its seals)."""
    try:
        manifest = json.loads((folder / MANIFEST_NAME).read_bytes())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return frozenset()
    if not isinstance(manifest, dict) or manifest.get("schema") != MANIFEST_SCHEMA:
        return frozenset()
    files = manifest.get("files")
    listed = (
        {e.get("path") for e in files if isinstance(e, dict)} if isinstance(files, list) else set()
    )
    return frozenset(name for name in {*listed, *SEALS} if name in OWN_OUTPUTS)


def remove_stale(folder: Path, earlier: frozenset[str], written: Sequence[Path]) -> list[str]:
    """Remove the earlier run's outputs that this run did not write; returns their names."""
    kept = {path.name for path in written if path.parent.resolve() == folder.resolve()}
    removed = []
    for name in sorted(earlier - kept):
        path = folder / name
        if path.is_symlink() or path.is_file():
            path.unlink()
            removed.append(name)
    return removed


@dataclass
class Verification:
    """What :func:`verify_folder` found: ``problems`` empty means everything matched."""

    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    checked: int = 0

    @property
    def ok(self) -> bool:
        return not self.problems


def verify_folder(folder: Path, key: Ed25519PublicKey | None = None) -> Verification:
    report = Verification()
    manifest_path = folder / MANIFEST_NAME
    if not manifest_path.is_file():
        report.problems.append(f"{MANIFEST_NAME} is missing: nothing to verify against")
        return report
    data = manifest_path.read_bytes()
    entries = _manifest_entries(data, report)
    if entries is None:
        return report
    listed = set()
    for entry in entries:
        listed.add(entry["path"])
        _check_file(folder, entry, report)
    for path, is_link in _entries(folder):
        name = path.relative_to(folder).as_posix()
        if is_link:
            report.problems.append(_link_problem(path, name))
        elif name not in listed and name not in SEALS and path.is_file():
            report.problems.append(f"{name}: present but not listed in {MANIFEST_NAME}")
    _check_signature(folder, entries, hashlib.sha256(data).hexdigest(), key, report)
    return report


def _entries(folder: Path) -> list[tuple[Path, bool]]:
    """Every file and link below ``folder``, links to folders not followed; sorted by path."""
    found = []
    for root, dirs, files in os.walk(folder):
        base = Path(root)
        found += [(base / d, True) for d in dirs if (base / d).is_symlink()]
        found += [(base / f, (base / f).is_symlink()) for f in files]
    return sorted(found)


def _link_problem(path: Path, name: str) -> str:
    target = os.readlink(path)
    if not path.exists():
        return f"{name}: a dangling symbolic link (to {target}); outputs are never links"
    return f"{name}: a symbolic link (to {target}); outputs are never links"


def _manifest_entries(data: bytes, report: Verification) -> list[dict[str, Any]] | None:
    try:
        manifest = json.loads(data)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        report.problems.append(f"{MANIFEST_NAME} is not JSON ({exc})")
        return None
    files = manifest.get("files") if isinstance(manifest, dict) else None
    if (
        not isinstance(manifest, dict)
        or manifest.get("schema") != MANIFEST_SCHEMA
        or not isinstance(files, list)
        or not all(_valid_entry(e) for e in files)
    ):
        report.problems.append(f"{MANIFEST_NAME} is not an mtls-audit manifest")
        return None
    if _dumps(manifest) != data:
        report.problems.append(f"{MANIFEST_NAME} was edited: its bytes are not those written")
    return files


def _valid_entry(entry: Any) -> bool:
    if not isinstance(entry, dict) or not isinstance(entry.get("path"), str):
        return False
    path = PurePosixPath(entry["path"])
    return (
        not path.is_absolute()
        and ".." not in path.parts
        and isinstance(entry.get("sha256"), str)
        and bool(_HEX64.match(entry["sha256"]))
        and isinstance(entry.get("size"), int)
    )


def _check_file(folder: Path, entry: Mapping[str, Any], report: Verification) -> None:
    name = entry["path"]
    path = folder / name
    if path.is_symlink():
        return  # reported as a link: its target is not read
    if not path.is_file():
        report.problems.append(f"{name}: listed in {MANIFEST_NAME} but missing")
        return
    sha, size = _digest(path)
    report.checked += 1
    if sha != entry["sha256"]:
        report.problems.append(f"{name}: SHA-256 is {sha}, the manifest says {entry['sha256']}")
    if size != entry["size"]:
        report.problems.append(f"{name}: size is {size} bytes, the manifest says {entry['size']}")


def _check_signature(
    folder: Path,
    entries: Sequence[Mapping[str, Any]],
    manifest_sha: str,
    key: Ed25519PublicKey | None,
    report: Verification,
) -> None:
    envelope_path = folder / ENVELOPE_NAME
    if not envelope_path.is_file():
        if key is not None:
            report.problems.append(f"{ENVELOPE_NAME} is missing: the outputs are not signed")
        else:
            report.notes.append("The outputs are not signed (no manifest.dsse.json).")
        return
    try:
        envelope = json.loads(envelope_path.read_bytes())
    except (UnicodeDecodeError, json.JSONDecodeError):
        report.problems.append(f"{ENVELOPE_NAME} is not JSON")
        return
    from mtls_audit.audit import dsse

    opened = dsse.open_envelope(envelope, key)
    report.problems += [f"{ENVELOPE_NAME}: {p}" for p in opened.problems]
    if opened.statement is None:
        return
    expected = {e["path"]: e["sha256"] for e in entries}
    expected[MANIFEST_NAME] = manifest_sha
    signed = {
        s.get("name"): (s.get("digest") or {}).get("sha256")
        for s in opened.statement.get("subject", [])
        if isinstance(s, dict)
    }
    if opened.statement.get("predicateType") != PREDICATE_TYPE:
        report.problems.append(f"{ENVELOPE_NAME}: the statement's predicateType is not ours")
    for name in sorted(set(expected) | set(signed), key=str):
        if expected.get(name) != signed.get(name):
            report.problems.append(
                f"{name}: the signed statement says sha256 {signed.get(name) or '(not listed)'}, "
                f"the folder has {expected.get(name) or '(not listed)'}"
            )
    if opened.verified:
        report.notes.append("The signature is valid for the given public key.")
    else:
        report.notes.append(
            "The signature was NOT checked (no --key given): the digests match the signed "
            "statement, but who signed it is not established."
        )
