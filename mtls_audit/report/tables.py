"""Bounded tables of the report: coverage, certificates, and records with optional fields.

Records in the evidence (gaps, errors, certificates, coverage rows) may omit optional fields;
:func:`filled` gives every field the templates show a value, so a sparse record renders as blanks
instead of failing the report.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, NamedTuple, TypeVar

from mtls_audit.certs.times import TimestampError, expiry_phrase, full_days, parse_timestamp
from mtls_audit.evidence.reader import natural_key, resource_name
from mtls_audit.wording import noun

T = TypeVar("T")

COVERAGE_APIS = 30
# Operations of one API that share a verdict, product and reason are one group of the report.
COVERAGE_GROUPS = 40
OPERATIONS_PER_GROUP = 30
COVERAGE_VERDICTS = {
    "bypass": "Bypass",
    "not-validated": "Not validated",
    "indeterminate": "Indeterminate",
    "validated": "Validated",
}
# Column headers of the per-API coverage table, short enough for its narrow columns.
COVERAGE_HEADERS = {**COVERAGE_VERDICTS, "indeterminate": "Indet."}
GAP_FIELDS = ("kind", "what", "subject", "message", "status", "code")
ERROR_FIELDS = ("kind", "rule_id", "pack", "message")
CERTIFICATE_FIELDS = (
    "kind",
    "name",
    "subject",
    "issuer",
    "thumbprint",
    "source",
    "refresh_status",
    "expiry",
)
COVERAGE_FIELDS = ("service_id", "api_id", "api", "operation", "product", "verdict", "reason")


@dataclass(frozen=True)
class Bounded(Generic[T]):
    """The first items of a list, and how many were left out."""

    shown: Sequence[T]
    more: int


def bounded(items: Sequence[T], limit: int) -> Bounded[T]:
    return Bounded(items[:limit], max(0, len(items) - limit))


def fair_share(sizes: Sequence[int], budget: int, cap: int, floor: int) -> int:
    """How many items each group may show so that together they show at most ``budget``.

    Groups smaller than the share show all of theirs; the share stays within ``floor``..``cap``.
    """
    share = cap
    while share > floor and sum(min(size, share) for size in sizes) > budget:
        share -= 1
    return share


def filled(record: Mapping[str, Any], fields: Iterable[str]) -> dict[str, Any]:
    """The record with each of ``fields`` present; absent and null values become ""."""
    present = {key: value for key, value in record.items() if value is not None}
    return {**dict.fromkeys(fields, ""), **present}


def bounded_records(
    records: Sequence[Mapping[str, Any]], fields: Iterable[str], limit: int
) -> Bounded[dict[str, Any]]:
    keys = tuple(fields)
    return Bounded([filled(r, keys) for r in records[:limit]], max(0, len(records) - limit))


@dataclass(frozen=True)
class ApiCoverage:
    service: str
    api: str
    counts: Mapping[str, int]
    total: int


class _GroupKey(NamedTuple):
    """What the operations of one coverage group share."""

    verdict: str
    service_id: str
    api_id: str
    api: str
    product: str
    reason: str


@dataclass(frozen=True)
class OperationGroup:
    """Operations of one API with the same verdict, product path and reason."""

    verdict: str
    service: str
    api: str
    product: str
    reason: str
    operations: Bounded[str]


@dataclass(frozen=True)
class CoverageView:
    total: int
    counts: Mapping[str, int]
    apis: Bounded[ApiCoverage]
    groups: Sequence[OperationGroup]
    more_operations: int  # operations of the groups left out


def coverage_view(rows: Sequence[Mapping[str, Any]]) -> CoverageView | None:
    """Operations by verdict: totals, the APIs with most unvalidated operations, worst first,
    and the operations grouped by API, verdict, product and reason, worst first."""
    if not rows:
        return None
    records = [filled(row, COVERAGE_FIELDS) for row in rows]
    order = list(COVERAGE_VERDICTS)
    counts = dict.fromkeys(order, 0)
    apis: dict[tuple[str, str], dict[str, int]] = {}
    names: dict[tuple[str, str], str] = {}
    groups: dict[_GroupKey, list[str]] = {}
    for row in records:
        verdict = row["verdict"]
        counts[verdict] = counts.get(verdict, 0) + 1
        key = (row["service_id"], row["api_id"] or row["api"])
        names[key] = row["api"]
        per_api = apis.setdefault(key, dict.fromkeys(order, 0))
        per_api[verdict] = per_api.get(verdict, 0) + 1
        group = _GroupKey(verdict, *key, row["api"], str(row["product"]), str(row["reason"]))
        groups.setdefault(group, []).append(str(row["operation"]))
    api_rows = [
        ApiCoverage(resource_name(service), names[(service, api)], c, sum(c.values()))
        for (service, api), c in apis.items()
    ]
    api_rows.sort(key=lambda a: (a.counts["validated"] - a.total, natural_key(a.api)))
    rank = {verdict: index for index, verdict in enumerate(order)}

    def group_order(item: tuple[_GroupKey, list[str]]) -> tuple[Any, ...]:
        group = item[0]
        return (
            rank.get(group.verdict, len(order)),
            natural_key(group.api),
            natural_key(group.service_id),
            natural_key(group.product),
            group.reason,
        )

    ordered = sorted(groups.items(), key=group_order)
    shown = [
        OperationGroup(
            group.verdict,
            resource_name(group.service_id),
            group.api,
            group.product,
            group.reason,
            bounded(sorted(operations, key=natural_key), OPERATIONS_PER_GROUP),
        )
        for group, operations in ordered[:COVERAGE_GROUPS]
    ]
    left_out = sum(len(operations) for _, operations in ordered[COVERAGE_GROUPS:])
    return CoverageView(len(rows), counts, bounded(api_rows, COVERAGE_APIS), shown, left_out)


@dataclass(frozen=True)
class CertificateRow:
    """A certificate as the inventory prints it. ``days`` and ``phrase`` count full days
    rounded down either way, as the findings do ("-18", "expired 18 days ago"), where the
    evidence's ``days_left`` (which orders the rows and sets the state) is rounded down."""

    certificate: Mapping[str, Any]
    expiry_date: str
    days: int | None
    phrase: str
    state: str

    @property
    def key(self) -> str:
        """The row's key: the days right-aligned, then "day" or "days" ("  -18 days")."""
        if self.days is None:
            return "    ? days"
        return f"{self.days:>5} {noun(abs(self.days), 'day')}"


def certificate_rows(
    certificates: Sequence[Mapping[str, Any]], warning_days: int, limit: int, as_of: str
) -> Bounded[CertificateRow]:
    """Certificates soonest expiry first (unknown expiry last), marked expired or expiring."""
    ordered = sorted(certificates, key=lambda c: _days_key(c.get("days_left")))
    moment = _moment(as_of)
    rows = []
    for cert in ordered[:limit]:
        days = cert.get("days_left")
        expiry = _moment(cert.get("expiry"))
        if days is None or expiry is None or moment is None:
            state, full, phrase = "unknown", None, "expiry unknown"
        else:
            state = "expired" if days < 0 else "expiring" if days <= warning_days else "valid"
            full, phrase = full_days(expiry, moment), expiry_phrase(expiry, moment)
        date = str(cert.get("expiry") or "unknown")[:10]
        rows.append(CertificateRow(filled(cert, CERTIFICATE_FIELDS), date, full, phrase, state))
    return Bounded(rows, max(0, len(certificates) - limit))


def _moment(text: object) -> datetime | None:
    try:
        return parse_timestamp(text) if isinstance(text, str) else None
    except TimestampError:
        return None


def _days_key(days: int | None) -> tuple[int, int]:
    return (1, 0) if days is None else (0, days)
