"""Reading the files the audit operations take: evidence documents, and the entries of the
YAML/TOML settings ``settings_files`` reads.

Every problem is an :class:`AuditInputError` naming the file, the entry (``waivers[2]
(MTLS-GW-03)``, ``targets[0] (prod)``) and the field, so that a typo in a waiver or a schedule
stops the run with one clear line instead of a traceback or a silently ignored setting. A value
quoted in an error message is cut to a few dozen characters.
"""

from __future__ import annotations

import difflib
import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

from mtls_audit.document_limits import document_problem, may_hold_surrogates
from mtls_audit.errors import InputError
from mtls_audit.evidence.reader import visible
from mtls_audit.evidence.schema import validate_evidence
from mtls_audit.wording import clip

MAX_FILE_BYTES = 64 * 1024 * 1024
QUOTE_LIMIT = 60


def quoted(value: Any) -> str:
    """A value for an error message: its repr, control characters escaped, cut short."""
    return clip(visible(repr(value)), QUOTE_LIMIT)


class AuditInputError(InputError):
    """A waivers file, schedule, signing key or evidence document that cannot be used."""


def read_bytes(path: Path, what: str) -> bytes:
    try:
        if path.stat().st_size > MAX_FILE_BYTES:
            raise AuditInputError(f"the {what} is larger than 64 MiB", source=str(path))
        return path.read_bytes()
    except OSError as exc:
        raise AuditInputError(
            f"cannot read the {what}: {exc.strerror or exc}", source=str(path)
        ) from None


@dataclass(frozen=True)
class LoadedEvidence:
    """An evidence document with the hash of the exact bytes it was read from."""

    document: dict[str, Any]
    sha256: str
    name: str


def read_evidence(path: Path) -> LoadedEvidence:
    """Read an evidence document and check it against the evidence schema."""
    data = read_bytes(path, "evidence document")
    try:
        text = data.decode("utf-8")
        document = json.loads(text)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise AuditInputError(f"not a JSON document: {exc}", source=str(path)) from None
    except RecursionError:
        raise AuditInputError("the JSON is nested too deeply", source=str(path)) from None
    problem = document_problem(document, surrogates=may_hold_surrogates(text))
    if problem:
        raise AuditInputError(problem[0], source=str(path), where=problem[1])
    if not isinstance(document, dict) or document.get("schema") != "mtls-audit/evidence/v1":
        raise AuditInputError(
            'not an evidence document: expected "schema": "mtls-audit/evidence/v1"',
            source=str(path),
        )
    problems = validate_evidence(document)
    if problems:
        more = f" (and {len(problems) - 1} more problems)" if len(problems) > 1 else ""
        raise AuditInputError(problems[0] + more, source=str(path))
    return LoadedEvidence(document, hashlib.sha256(data).hexdigest(), path.name)


class Entry:
    """One mapping of a settings file, read field by field with errors that name it."""

    def __init__(self, data: Any, *, source: str, where: str, known: Iterable[str]) -> None:
        self.source = source
        self.where = where
        if not isinstance(data, Mapping):
            raise self.error(f"expected a mapping of fields, found {_kind(data)}")
        self.data: Mapping[str, Any] = data
        names = tuple(known)
        for key in data:
            if key not in names:
                close = difflib.get_close_matches(str(key), names, n=1)
                hint = f" (did you mean '{close[0]}'?)" if close else ""
                raise self.error(f"unknown field {quoted(key)}{hint}")

    def error(self, message: str, key: str | None = None) -> AuditInputError:
        text = f"field '{key}': {message}" if key else message
        return AuditInputError(text, source=self.source, where=self.where)

    def present(self, key: str) -> bool:
        return self.data.get(key) is not None

    def text(self, key: str) -> str:
        """A required, non-blank string."""
        value = self.optional_text(key)
        if value is None:
            raise self.error("is required", key)
        return value

    def optional_text(self, key: str) -> str | None:
        value = self.data.get(key)
        if value is None:
            return None
        if not isinstance(value, str):
            raise self.error(f"expected text, found {_kind(value)}", key)
        if not value.strip():
            raise self.error("is empty", key)
        return value.strip()

    def texts(self, key: str, *, required: bool = False) -> tuple[str, ...]:
        """A string or a list of strings (none blank)."""
        value = self.data.get(key)
        if value is None:
            if required:
                raise self.error("is required", key)
            return ()
        items = [value] if isinstance(value, str) else value
        if not isinstance(items, list) or not all(isinstance(i, str) for i in items):
            raise self.error(f"expected text or a list of text, found {_kind(value)}", key)
        if required and not items:
            raise self.error("is an empty list", key)
        if any(not i.strip() for i in items):
            raise self.error("holds an empty entry", key)
        return tuple(i.strip() for i in items)

    def day(self, key: str) -> date:
        """A required calendar date: a YAML/TOML date or a ``YYYY-MM-DD`` string."""
        value = self.data.get(key)
        if value is None:
            raise self.error("is required (a date, YYYY-MM-DD)", key)
        if isinstance(value, datetime):
            raise self.error("give a date without a time (YYYY-MM-DD)", key)
        if isinstance(value, date):
            return value
        if isinstance(value, str):
            try:
                return date.fromisoformat(value.strip())
            except ValueError:
                pass
        raise self.error(f"expected a date (YYYY-MM-DD), found {quoted(value)}", key)

    def flag(self, key: str) -> bool:
        value = self.data.get(key, False)
        if not isinstance(value, bool):
            raise self.error(f"expected true or false, found {quoted(value)}", key)
        return value

    def number(self, key: str, default: int, low: int, high: int) -> int:
        value = self.data.get(key, default)
        if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
            raise self.error(
                f"expected a whole number from {low} to {high}, found {quoted(value)}", key
            )
        return value

    def choice(self, key: str, default: str, choices: Iterable[str]) -> str:
        value = self.data.get(key, default)
        allowed = tuple(choices)
        if value not in allowed:
            raise self.error(f"expected one of {', '.join(allowed)}, found {quoted(value)}", key)
        return str(value)


def _kind(value: Any) -> str:
    if value is None:
        return "nothing"
    if isinstance(value, Mapping):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, bool):
        return f"{str(value).lower()}"
    if isinstance(value, str):
        return "text"
    if isinstance(value, int | float):
        return f"the number {value}"
    return type(value).__name__
