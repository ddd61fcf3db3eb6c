"""The snapshot document: read, validate, write, redact.

A snapshot is what a source produced (see ``docs/formats.md``). Every source builds one through
:func:`build`, which redacts secrets on the way in (:mod:`mtls_audit.redaction`), so that no
secret value can reach a file, a report or a log whatever the source handed over.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import orjson

from mtls_audit.document_limits import document_problem, may_hold_surrogates
from mtls_audit.errors import OutputError, SnapshotError
from mtls_audit.output_files import write_file
from mtls_audit.redaction import Redactor
from mtls_audit.resources import package_data

SCHEMA_ID = "mtls-audit/snapshot/v1"
MAX_SNAPSHOT_BYTES = 256 * 1024 * 1024

JSON = dict[str, Any]


@dataclass(frozen=True)
class LoadedSnapshot:
    """A snapshot document with the exact bytes it was read from (their hash is evidence)."""

    document: JSON
    sha256: str
    source: str


@cache
def schema_document() -> JSON:
    """The snapshot's JSON schema."""
    loaded: JSON = json.loads(package_data("schemas", "snapshot-v1.json").read_text("utf-8"))
    return loaded


@cache
def _validator() -> Any:
    import jsonschema

    return jsonschema.Draft202012Validator(schema_document())


@cache
def fast_check() -> Callable[[Any], Any]:
    """The schema compiled to Python by fastjsonschema, which checks the snapshot of 20,000
    operations in 0.1 s where jsonschema takes 2 s. It reads the schema as draft 7, where every
    keyword the schema uses means what it means in draft 2020-12 (a test keeps it so), and,
    like jsonschema by default, does not assert formats."""
    import fastjsonschema

    check: Callable[[Any], Any] = fastjsonschema.compile(schema_document(), use_formats=False)
    return check


def _json_path(path: Any) -> str:
    return "/" + "/".join(str(p) for p in path) if path else "/"


def validate(document: Any, *, source: str) -> None:
    """Raise :class:`SnapshotError` naming the file and JSON path of the first problem."""
    if not isinstance(document, dict):
        raise SnapshotError("a snapshot is a JSON object", source=source)
    schema = document.get("schema")
    if schema != SCHEMA_ID:
        if isinstance(schema, str) and schema.startswith("mtls-audit/snapshot/"):
            raise SnapshotError(
                f"unsupported snapshot schema {schema!r}; this version reads {SCHEMA_ID!r}",
                source=source,
                where="/schema",
            )
        raise SnapshotError(
            f'not a snapshot: expected "schema": {SCHEMA_ID!r} (to assess ARM exports or '
            "templates, use `scan --from-file` or `collect --from-file` first)",
            source=source,
            where="/schema",
        )
    from fastjsonschema import JsonSchemaValueException

    try:
        fast_check()(document)
        return
    except JsonSchemaValueException:
        pass  # jsonschema names the first problem, by JSON path, as it always has
    errors = sorted(_validator().iter_errors(document), key=lambda e: list(e.absolute_path))
    if errors:
        first = errors[0]
        more = f" (and {len(errors) - 1} more problems)" if len(errors) > 1 else ""
        raise SnapshotError(
            f"{first.message}{more}", source=source, where=_json_path(first.absolute_path)
        )


def read(path: Path) -> LoadedSnapshot:
    """Read and validate a snapshot file."""
    source = str(path)
    data = read_input_bytes(path, limit=MAX_SNAPSHOT_BYTES, error=SnapshotError)
    try:
        text = data.decode("utf-8-sig")
        document = json.loads(text, parse_constant=_not_json)
    except UnicodeDecodeError as exc:
        raise SnapshotError(
            f"not UTF-8 text ({exc.reason} at byte {exc.start})", source=source
        ) from None
    except json.JSONDecodeError as exc:
        raise SnapshotError(
            f"not valid JSON: {exc.msg}", source=source, where=f"line {exc.lineno}:{exc.colno}"
        ) from None
    except RecursionError:
        raise SnapshotError("the JSON is nested too deeply", source=source) from None
    except ValueError as exc:  # NaN or Infinity, which JSON has not
        raise SnapshotError(f"not valid JSON: {exc}", source=source) from None
    problem = document_problem(document, surrogates=may_hold_surrogates(text))
    if problem:
        raise SnapshotError(problem[0], source=source, where=problem[1])
    validate(document, source=source)
    # A snapshot written by another tool (or by hand) may still hold secrets: they are removed
    # here too, so that none reaches a report. The hash stays that of the bytes read.
    redactor = Redactor()
    document["resources"] = redactor.resources(document["resources"])
    document["gaps"] = redactor.gaps(document["gaps"], document.get("origins"))
    if redactor.counts:
        redactions = document["provenance"].setdefault("redactions", {})
        for key, count in redactor.counts.items():
            redactions[f"on-read:{key}"] = redactions.get(f"on-read:{key}", 0) + count
    return LoadedSnapshot(document, hashlib.sha256(data).hexdigest(), source)


def _not_json(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def read_input_bytes(path: Path, *, limit: int, error: type[SnapshotError]) -> bytes:
    """The bytes of an input file, or one clear error: missing, a directory, empty, too big."""
    source = str(path)
    if not path.exists():
        raise error("no such file", source=source)
    if path.is_dir():
        raise error("is a directory, not a file", source=source)
    size = path.stat().st_size
    if size == 0:
        raise error("the file is empty", source=source)
    if size > limit:
        raise error(
            f"the file is {size / 2**20:.0f} MiB, over the {limit // 2**20} MiB limit",
            source=source,
        )
    try:
        return path.read_bytes()
    except OSError as exc:
        raise error(f"cannot be read: {exc.strerror}", source=source) from None


def dumps(document: Mapping[str, Any] | list[Any], *, sort_keys: bool = True) -> bytes:
    """Canonical bytes of a document: sorted keys, two-space indent, UTF-8, final newline.

    Encoded by orjson (a large evidence document takes the standard library 20 times as
    long), whose bytes are the standard library's but for numbers that Python writes with an
    exponent (``1e+16``, ``2.5e-05``: orjson writes ``1e16``, ``0.000025``, the same values).
    What orjson refuses (integers beyond 64 bits, keys that are not strings, nesting past 255
    levels) is written by the standard library.
    """
    option = orjson.OPT_INDENT_2 | orjson.OPT_APPEND_NEWLINE
    try:
        return orjson.dumps(document, option=option | orjson.OPT_SORT_KEYS if sort_keys else option)
    except orjson.JSONEncodeError:
        text = json.dumps(document, indent=2, sort_keys=sort_keys, ensure_ascii=False)
        return (text + "\n").encode("utf-8")


def dump_chunks(document: Mapping[str, Any], batch: int = 1000) -> Iterator[bytes]:
    """The bytes of :func:`dumps`, in pieces: a top-level list is encoded ``batch`` items at a
    time, so that a large document (the evidence of 20,000 operations is 150 MB of JSON) is
    never held whole as bytes. Inside a JSON text a line break is always escaped, so each
    piece is indented one level down by indenting its lines."""
    if not document or not all(isinstance(key, str) for key in document):
        yield dumps(document)
        return
    for position, key in enumerate(sorted(document)):
        value = document[key]
        yield (b",\n  " if position else b"{\n  ") + _nested(key) + b": "
        if not isinstance(value, list) or len(value) <= batch:
            yield _nested(value)
            continue
        for start in range(0, len(value), batch):
            # "[\n    item,\n    item\n  ]": without its brackets, joined by commas.
            yield (b"," if start else b"[") + _nested(value[start : start + batch])[1:-4]
        yield b"\n  ]"
    yield b"\n}\n"


def _nested(value: Any) -> bytes:
    """``value``'s bytes one level down: as the only item of a list (``[\n  value\n]\n``),
    without the list, rather than indenting the lines of its bytes afterwards."""
    return dumps([value])[4:-3]


def write(document: Mapping[str, Any], path: Path) -> str:
    """Write a snapshot and return the SHA-256 of the bytes written."""
    data = dumps(document)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(
            f"cannot create the output folder: {exc.strerror or exc}", source=str(path.parent)
        ) from None
    write_file(path, data)
    return hashlib.sha256(data).hexdigest()


def build(
    *,
    provenance: Mapping[str, Any],
    resources: list[JSON],
    keyvault: Mapping[str, Any] | None = None,
    gaps: list[JSON] | None = None,
    origins: Mapping[str, Any] | None = None,
) -> JSON:
    """Assemble a snapshot document from a source's parts, redacting secrets on the way in
    (from resources, and from gap messages, which then never quote a hidden value)."""
    redactor = Redactor(provenance.get("redactions"))
    clean = redactor.resources(resources)
    clean_gaps = redactor.gaps(gaps or [], origins)
    document: JSON = {
        "schema": SCHEMA_ID,
        "provenance": {**provenance, "redactions": dict(sorted(redactor.counts.items()))},
        "resources": clean,
        "keyvault": dict(keyvault or {}),
        "gaps": clean_gaps,
    }
    if origins:
        document["origins"] = dict(origins)
    validate(document, source="<snapshot being built>")
    return document
