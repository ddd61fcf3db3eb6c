"""The snapshot document: read, validate, write, redact.

A snapshot is what a source produced (see ``docs/formats.md``). Every source builds one through
:func:`build`, which redacts secrets on the way in, so that no secret value can reach a file,
a report or a log whatever the source handed over.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, cast

from mtls_audit.document_limits import document_problem, may_hold_surrogates
from mtls_audit.errors import OutputError, SnapshotError
from mtls_audit.output_files import write_file
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
def _validator() -> Any:
    import jsonschema

    schema = json.loads(package_data("schemas", "snapshot-v1.json").read_text("utf-8"))
    return jsonschema.Draft202012Validator(schema)


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
        document = json.loads(text)
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
    problem = document_problem(document, surrogates=may_hold_surrogates(text))
    if problem:
        raise SnapshotError(problem[0], source=source, where=problem[1])
    validate(document, source=source)
    # A snapshot written by another tool (or by hand) may still hold secrets: they are removed
    # here too, so that none reaches a report. The hash stays that of the bytes read.
    counts: Counter[str] = Counter()
    document["resources"] = [redact_resource(r, counts) for r in document["resources"]]
    if counts:
        redactions = document["provenance"].setdefault("redactions", {})
        for key, count in counts.items():
            redactions[f"on-read:{key}"] = redactions.get(f"on-read:{key}", 0) + count
    return LoadedSnapshot(document, hashlib.sha256(data).hexdigest(), source)


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


def dumps(document: Mapping[str, Any]) -> bytes:
    """Canonical bytes of a document: sorted keys, two-space indent, UTF-8, final newline."""
    text = json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False)
    return (text + "\n").encode("utf-8")


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
    """Assemble a snapshot document from a source's parts, redacting secrets on the way in."""
    counts: Counter[str] = Counter(provenance.get("redactions") or {})
    clean = [redact_resource(r, counts) for r in resources]
    document: JSON = {
        "schema": SCHEMA_ID,
        "provenance": {**provenance, "redactions": dict(sorted(counts.items()))},
        "resources": clean,
        "keyvault": dict(keyvault or {}),
        "gaps": list(gaps or []),
    }
    if origins:
        document["origins"] = dict(origins)
    validate(document, source="<snapshot being built>")
    return document


# --- redaction --------------------------------------------------------------------------

_SECRET_KEYS = {
    "certificatepassword",
    "password",
    "pfx",
    "privatekey",
    "accesstoken",
    "primarykey",
    "secondarykey",
}
_POLICY_SECRET_ATTR = re.compile(
    r"""(?P<head>\b(?:password|certificate-password)\s*=\s*)(?P<q>["'])(?P<value>.*?)(?P=q)""",
    re.IGNORECASE | re.DOTALL,
)
REDACTED = "[redacted]"


def _is_public_certificate(value: Any) -> bool:
    if not isinstance(value, str):
        return False
    from cryptography import x509

    from mtls_audit.certs.facts import any_serial

    try:
        raw = base64.b64decode(value, validate=True)
        with any_serial():
            x509.load_der_x509_certificate(raw)
    except (binascii.Error, ValueError):
        return False
    return True


def _redact_policy_text(text: str, counts: Counter[str]) -> str:
    def replace(match: re.Match[str]) -> str:
        value = match.group("value")
        if value.startswith(("@", "{{")) or value == REDACTED or not value:
            return match.group(0)
        counts["policy-password-literal"] += 1
        return f"{match.group('head')}{match.group('q')}{REDACTED}{match.group('q')}"

    return _POLICY_SECRET_ATTR.sub(replace, text)


def _strip(obj: Any, counts: Counter[str], *, keep_public_certs: bool = False) -> Any:
    if isinstance(obj, dict):
        out: JSON = {}
        for key, value in obj.items():
            low = key.lower()
            if low in _SECRET_KEYS and value not in (None, ""):
                counts[low] += 1
                continue
            if low == "encodedcertificate" and value not in (None, ""):
                if keep_public_certs and _is_public_certificate(value):
                    out[key] = value
                else:
                    counts[low] += 1
                continue
            out[key] = _strip(
                value, counts, keep_public_certs=keep_public_certs or low == "certificates"
            )
        return out
    if isinstance(obj, list):
        return [_strip(v, counts, keep_public_certs=keep_public_certs) for v in obj]
    return obj


def _strip_query(url: str, counts: Counter[str]) -> str:
    """A policy link may carry a SAS token in its query string: keep the location only."""
    if "?" not in url:
        return url
    counts["policy-link-query"] += 1
    return url.split("?", 1)[0] + "?" + REDACTED


def _redact_backend_credentials(props: JSON, counts: Counter[str]) -> None:
    """Backend credentials may hold literal secrets: keep names, hide literal values."""
    creds = next((v for k, v in props.items() if k.lower() == "credentials"), None)
    if not isinstance(creds, dict):
        return
    for key, value in creds.items():
        low = key.lower()
        if low in ("header", "query") and isinstance(value, dict):
            for name, values in value.items():
                value[name] = [_hide_literal(v, counts) for v in values or []]
        elif low == "authorization" and isinstance(value, dict):
            for akey in [k for k in value if k.lower() == "parameter"]:
                value[akey] = _hide_literal(value[akey], counts)


def _hide_literal(value: Any, counts: Counter[str]) -> Any:
    if isinstance(value, str) and value and not value.startswith("{{") and value != REDACTED:
        counts["backend-credential"] += 1
        return REDACTED
    return value


def redact_resource(resource: Mapping[str, Any], counts: Counter[str]) -> JSON:
    """A copy of one ARM resource without secret values.

    Removed: the ``value`` of secret named values, passwords, PFX ``data``, encoded certificates
    that are not public X.509 certificates, tokens. Literal ``password`` attributes in policy
    text are replaced by ``[redacted]`` (the rule that flags them still sees a literal).
    """
    out = cast(JSON, _strip(dict(resource), counts))
    rtype = str(out.get("type", "")).lower()
    props = out.get("properties")
    if not isinstance(props, dict):
        return out
    if rtype.endswith("/certificates") and props.get("data") not in (None, ""):
        counts["data"] += 1
        del props["data"]
    if rtype.endswith("/backends"):
        _redact_backend_credentials(props, counts)
    if rtype.endswith("/namedvalues"):
        secret = next((v for k, v in props.items() if k.lower() == "secret"), False)
        if str(secret).lower() == "true":
            for key in [k for k in props if k.lower() == "value"]:
                if props[key] not in (None, ""):
                    counts["named-value-secret"] += 1
                del props[key]
    if rtype.endswith(("/policies", "/policyfragments")):
        link = str(props.get("format", "")).lower().endswith("-link")
        for key in [k for k in props if k.lower() == "value"]:
            if isinstance(props[key], str):
                props[key] = (
                    _strip_query(props[key], counts)
                    if link
                    else _redact_policy_text(props[key], counts)
                )
    return out
