"""Waivers: documented, approved, time-limited acceptance of a failing result.

Under HIPAA, an addressable implementation specification that is not implemented needs a
documented reason and the equivalent measure taken instead (45 CFR 164.306(d)(3)); a waiver is
that documentation, and every report shows it.

Semantics (also in ``docs/waivers.md``):

- A waiver names a rule id and resource-id patterns (fnmatch-style, case-insensitive). It applies
  to ``fail`` results only. An ``indeterminate`` result is never waived: missing evidence cannot
  be accepted, it can only be collected.
- Whether a waiver is in force is judged on the assessment date: the day (UTC) the run started,
  or the day ``SOURCE_DATE_EPOCH`` names. It is in force from its approval date through its
  expiry date, both inclusive. Certificate expiry, by contrast, is judged as of the snapshot
  (``--as-of``): a waiver is a management decision about today, not a fact about the snapshot.
- A failing result covered by a waiver in force becomes ``waived``: it no longer gates. Covered
  only by an expired (or not yet approved) waiver, it stays ``fail`` and its message says so.
- The first waiver in file order that is in force wins; every waiver is listed in the evidence
  with its state and how many failing results it covered (0: it matched nothing).
"""

from __future__ import annotations

import dataclasses
import difflib
import fnmatch
import hashlib
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from mtls_audit.audit.files import (
    QUOTE_LIMIT,
    AuditInputError,
    Entry,
    quoted,
    read_bytes,
)
from mtls_audit.audit.settings_files import item_lines, read_settings
from mtls_audit.engine.results import Status
from mtls_audit.engine.runner import Finding
from mtls_audit.evidence.reader import visible
from mtls_audit.wording import clip

FIELDS = (
    "rule",
    "subjects",
    "justification",
    "compensating_control",
    "approver",
    "approved_on",
    "expires_on",
    "ticket",
)
IN_FORCE, EXPIRED, PENDING = "in_force", "expired", "pending"


@dataclass(frozen=True)
class Waiver:
    index: int
    rule_id: str
    subjects: tuple[str, ...]
    justification: str
    approver: str
    approved_on: date
    expires_on: date
    compensating_control: str | None = None
    ticket: str | None = None
    line: int | None = None  # in a YAML file: where the entry starts

    @property
    def ref(self) -> str:
        return f"waivers[{self.index}]"

    def state(self, day: date) -> str:
        if day < self.approved_on:
            return PENDING
        return EXPIRED if day > self.expires_on else IN_FORCE

    def covers(self, rule_id: str, resource_id: str) -> bool:
        if rule_id.upper() != self.rule_id:
            return False
        subject = resource_id.rstrip("/").lower()
        return any(fnmatch.fnmatchcase(subject, p.rstrip("/").lower()) for p in self.subjects)

    def record(self, state: str) -> dict[str, Any]:
        """The waiver as the evidence records it."""
        entry: dict[str, Any] = {
            "index": self.index,
            "rule_id": self.rule_id,
            "subjects": list(self.subjects),
            "justification": self.justification,
            "compensating_control": self.compensating_control,
            "approver": self.approver,
            "approved_on": self.approved_on.isoformat(),
            "expires_on": self.expires_on.isoformat(),
            "ticket": self.ticket,
            "state": state,
        }
        return {k: v for k, v in entry.items() if v is not None}


@dataclass(frozen=True)
class WaiverFile:
    name: str
    sha256: str
    waivers: tuple[Waiver, ...]
    source: str = ""

    def check_rules(self, rule_ids: Collection[str]) -> None:
        """Refuse a waiver naming a rule that no loaded pack has: a typo would otherwise waive
        nothing, silently, and the finding it was meant for would keep failing unexplained."""
        known = {rule_id.upper() for rule_id in rule_ids}
        for waiver in self.waivers:
            if waiver.rule_id in known:
                continue
            close = difflib.get_close_matches(waiver.rule_id, sorted(known), n=1)
            hint = f" (did you mean {close[0]}?)" if close else " (see `mtls-audit rules list`)"
            where = f"line {waiver.line}: " if waiver.line else ""
            raise AuditInputError(
                f"field 'rule': no rule {quoted(waiver.rule_id)}{hint}",
                source=self.source or self.name,
                where=f"{where}{waiver.ref} ({clip(visible(waiver.rule_id), QUOTE_LIMIT)})",
            )


def load_waivers(path: Path) -> WaiverFile:
    """Read and check a waivers file (YAML or TOML); any problem names the entry and field."""
    source = str(path)
    digest = hashlib.sha256(read_bytes(path, "waivers file")).hexdigest()
    document = read_settings(path, "waivers file")
    top = Entry(document, source=source, where="/", known=("waivers",))
    entries = top.data.get("waivers")
    if not isinstance(entries, list):
        raise top.error("expected a list of waivers", "waivers")
    found = item_lines(path, "waivers")
    lines: list[int | None] = list(found) if found else [None] * len(entries)
    waivers = tuple(_waiver(i, e, source, lines[i]) for i, e in enumerate(entries))
    return WaiverFile(path.name, digest, waivers, source)


def _waiver(index: int, data: Any, source: str, line: int | None = None) -> Waiver:
    where = f"waivers[{index}]"
    if isinstance(data, Mapping) and isinstance(data.get("rule"), str):
        where += f" ({clip(visible(data['rule'].strip()), QUOTE_LIMIT)})"
    entry = Entry(data, source=source, where=where, known=FIELDS)
    approved, expires = entry.day("approved_on"), entry.day("expires_on")
    if expires < approved:
        raise entry.error(f"{expires} is before the approval date {approved}", "expires_on")
    return Waiver(
        index=index,
        rule_id=entry.text("rule").upper(),
        subjects=entry.texts("subjects", required=True),
        justification=entry.text("justification"),
        approver=entry.text("approver"),
        approved_on=approved,
        expires_on=expires,
        compensating_control=entry.optional_text("compensating_control"),
        ticket=entry.optional_text("ticket"),
        line=line,
    )


@dataclass(frozen=True)
class Applied:
    """Findings after the waivers, and what the evidence records about them."""

    findings: tuple[Finding, ...]
    by_fingerprint: Mapping[str, Mapping[str, Any]]
    records: Sequence[Mapping[str, Any]]
    options: Mapping[str, Any]

    def annotate(self, evidence: dict[str, Any]) -> None:
        for result in evidence["results"]:
            waiver = self.by_fingerprint.get(result["fingerprint"])
            if waiver is not None:
                result["waiver"] = dict(waiver)
        evidence["waivers"] = [dict(r) for r in self.records]
        evidence["run"]["options"]["waivers"] = dict(self.options)


def apply_waivers(findings: Sequence[Finding], waivers: WaiverFile, day: date) -> Applied:
    """Waive the failing findings covered by a waiver in force on ``day``."""
    states = {w.index: w.state(day) for w in waivers.waivers}
    matched = dict.fromkeys(states, 0)
    by_fingerprint: dict[str, dict[str, Any]] = {}
    out: list[Finding] = []
    for finding in findings:
        covering = [
            w
            for w in waivers.waivers
            if finding.status is Status.FAIL and w.covers(finding.rule.id, finding.result.subject)
        ]
        if not covering:
            out.append(finding)
            continue
        chosen = next((w for w in covering if states[w.index] == IN_FORCE), covering[0])
        state = states[chosen.index]
        matched[chosen.index] += 1
        by_fingerprint[finding.fingerprint] = chosen.record(state)
        if state == IN_FORCE:
            result = dataclasses.replace(finding.result, status=Status.WAIVED)
        else:
            note = _lapsed(chosen, state)
            result = dataclasses.replace(finding.result, message=f"{finding.result.message} {note}")
        out.append(dataclasses.replace(finding, result=result))
    records = [{**w.record(states[w.index]), "matched": matched[w.index]} for w in waivers.waivers]
    options = {"file": waivers.name, "sha256": waivers.sha256, "judged_on": day.isoformat()}
    return Applied(tuple(out), by_fingerprint, records, options)


def _lapsed(waiver: Waiver, state: str) -> str:
    if state == EXPIRED:
        when = f"expired on {waiver.expires_on.isoformat()}"
    else:
        when = f"is not in force before its approval date {waiver.approved_on.isoformat()}"
    return f"Waiver {waiver.ref} (approved by {waiver.approver}) {when}: the result is not waived."
