"""Reading an evidence document: the orderings, look-ups and verdict every renderer shares.

Renderers never re-evaluate a rule. They read the statuses, severities and gate the assessment
recorded, and only order, group and bound them for their audience.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from mtls_audit.engine.runner import NOTHING_TO_AUDIT
from mtls_audit.errors import InputError
from mtls_audit.vocabulary import NO_THRESHOLD, SEVERITIES, Status
from mtls_audit.wording import clip

Evidence = Mapping[str, Any]

EVIDENCE_SCHEMA = "mtls-audit/evidence/v1"
# A rule with no result at all: never a pass, and shown as such.
NOT_EVALUATED = "not_evaluated"
# Worst first: the order in which a control's status is decided and findings are listed.
STATUSES = tuple(
    s.value
    for s in (Status.FAIL, Status.INDETERMINATE, Status.WAIVED, Status.PASS, Status.NOT_APPLICABLE)
)
STATUS_LABELS = {
    "fail": "Fail",
    "indeterminate": "Indeterminate",
    "waived": "Waived",
    "pass": "Pass",
    "not_applicable": "Not applicable",
    NOT_EVALUATED: "Not evaluated",
}
FRAMEWORK_LABELS = {
    "hipaa": "HIPAA Security Rule (45 CFR Part 164)",
    "soc2": "SOC 2 Trust Services Criteria",
    "nist-800-53": "NIST SP 800-53 Rev. 5",
}
FRAMEWORK_SHORT = {"hipaa": "HIPAA", "soc2": "SOC 2", "nist-800-53": "NIST 800-53"}
CHANNEL_LABELS = {
    "portal": "Azure portal",
    "cli": "Azure CLI",
    "bicep": "Bicep / ARM",
    "arm": "ARM template",
    "terraform": "Terraform",
    "policy": "Policy XML",
    "powershell": "PowerShell",
}
_REQUIRED_KEYS = ("tool", "run", "snapshot", "rule_pack", "results", "summary")
_DIGITS = re.compile(r"(\d+)")
# Control, invisible and direction-changing characters: in names from Azure they could hide or
# reorder what a reader sees ("Trojan source"), so reports show them as escapes; so are lone
# surrogates, which no UTF-8 output can carry.
_INVISIBLE = re.compile(
    "[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u00ad\u061c\u180e\u200b-\u200f"
    "\u202a-\u202e\u2060-\u2064\u2066-\u206f\ud800-\udfff\ufeff\ufff9-\ufffb]"
)


class ReportError(InputError):
    """An evidence document a report cannot be rendered from."""


def check_evidence(evidence: Evidence) -> None:
    """Refuse anything but an evidence v1 document, naming what is wrong."""
    if not isinstance(evidence, Mapping):
        raise ReportError("the evidence document is not a JSON object")
    schema = evidence.get("schema")
    if schema != EVIDENCE_SCHEMA:
        raise ReportError(f"unsupported evidence schema {schema!r}, expected {EVIDENCE_SCHEMA!r}")
    missing = [key for key in _REQUIRED_KEYS if key not in evidence]
    if missing:
        raise ReportError(f"the evidence document lacks {', '.join(missing)}", where="/")


def severity_rank(severity: str) -> int:
    """0 for critical, growing as severity falls; unknown severities sort last."""
    return SEVERITIES.index(severity) if severity in SEVERITIES else len(SEVERITIES)


def status_rank(status: str) -> int:
    """0 for fail, growing towards not_applicable; unknown statuses sort last."""
    return STATUSES.index(status) if status in STATUSES else len(STATUSES)


def worst_status(statuses: Iterable[str]) -> str | None:
    """The worst of some statuses, or None when there are none."""
    return min(statuses, key=status_rank, default=None)


def natural_key(text: str) -> tuple[tuple[int, int | str], ...]:
    """Sort key that orders CC6.2 before CC6.10 and SC-8 before SC-8(1) before SC-12."""
    return tuple(
        (0, int(part)) if part.isdigit() else (1, part.lower())
        for part in _DIGITS.split(text)
        if part
    )


def rules_by_id(evidence: Evidence) -> dict[str, Mapping[str, Any]]:
    return {rule["id"]: rule for rule in evidence["rule_pack"]}


def resource_name(resource_id: str) -> str:
    """The last segment of an ARM id (the resource's own name)."""
    return resource_id.rstrip("/").rsplit("/", 1)[-1] or resource_id


def service_ids(evidence: Evidence) -> list[str]:
    return list(evidence["run"].get("scope", {}).get("services", []))


def instance_label(evidence: Evidence, limit: int = 3) -> str:
    """The assessed services by name, for titles and running headers."""
    names = [resource_name(sid) for sid in service_ids(evidence)]
    if not names:
        return "No service in scope"
    if len(names) > limit:
        return f"{', '.join(names[:limit])} and {len(names) - limit} more"
    return ", ".join(names)


def owning_service(resource_id: str, services: Iterable[str]) -> str | None:
    """The service whose id is the resource id or one of its ancestors (ARM ids ignore case)."""
    lowered = resource_id.lower()
    for service in services:
        prefix = service.lower().rstrip("/")
        if lowered == prefix or lowered.startswith(prefix + "/"):
            return service
    return None


class ServiceOwners(dict[str, str | None]):
    """:func:`owning_service` for the many results of one document, which share few resource ids
    (an operation's results, a policy's): ``owners[resource_id]``, each distinct id looked up
    once."""

    def __init__(self, services: Iterable[str]) -> None:
        super().__init__()
        self._services = list(services)

    def __missing__(self, resource_id: str) -> str | None:
        owner = self[resource_id] = owning_service(resource_id, self._services)
        return owner


def service_relative(resource_id: str, services: Iterable[str]) -> str:
    """A resource id shortened to ``service-name/…`` when it lies under a service in scope."""
    owner = owning_service(resource_id, services)
    if owner is None:
        return resource_id
    return resource_name(owner) + resource_id[len(owner.rstrip("/")) :]


def remediation_steps(rule: Mapping[str, Any]) -> list[tuple[str, str, str]]:
    """A rule's remediation as (channel, label, text), portal first, then the known channels."""
    remediation = rule.get("remediation") or {}
    order = {channel: index for index, channel in enumerate(CHANNEL_LABELS)}
    channels = sorted(remediation, key=lambda c: (order.get(c, len(order)), c))
    return [(c, CHANNEL_LABELS.get(c, c), str(remediation[c])) for c in channels]


def waiver_justification(result: Mapping[str, Any]) -> str:
    """Why a waived result was accepted, as recorded with it."""
    waiver = result.get("waiver")
    if isinstance(waiver, Mapping):
        text = waiver.get("justification") or waiver.get("reason")
        if text:
            return str(text)
    return str(result.get("justification") or "Waived; no justification was recorded.")


def waiver_summary(result: Mapping[str, Any]) -> str:
    """The justification of a waived result with the compensating control, approver, dates and
    ticket recorded with its waiver, as one paragraph."""
    text = waiver_justification(result)
    waiver = result.get("waiver")
    if not isinstance(waiver, Mapping):
        return text
    parts = [text]
    if waiver.get("compensating_control"):
        parts.append(f"Compensating control: {waiver['compensating_control']}")
    if waiver.get("approver"):
        on = f" on {waiver['approved_on']}" if waiver.get("approved_on") else ""
        parts.append(f"Approved by {waiver['approver']}{on}")
    if waiver.get("expires_on"):
        parts.append(f"Expires {waiver['expires_on']}")
    if waiver.get("ticket"):
        parts.append(f"Ticket {waiver['ticket']}")
    return " ".join(p if p.endswith((".", "!", "?")) else p + "." for p in parts)


def visible(text: str) -> str:
    """Text with control and invisible characters written as ``\\xNN`` / ``\\uNNNN``."""
    if text.isascii() and text.isprintable():  # most text: nothing to escape, found in C
        return text
    return _INVISIBLE.sub(_escape_char, text)


def _escape_char(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}"


@dataclass(frozen=True)
class EvidenceLine:
    """One cited fact of a result: where it is, and what was seen there."""

    resource_id: str
    place: str
    detail: str

    def as_text(self) -> str:
        where = f"{self.resource_id} {self.place}".strip()
        return f"{where}: {self.detail}" if self.detail else where


def evidence_line(item: Mapping[str, Any], *, limit: int = 240) -> EvidenceLine:
    """A pointer-and-observed or scope-line-and-excerpt citation, as short text."""
    if "pointer" in item:
        place = str(item["pointer"])
        detail = json.dumps(item.get("observed"), ensure_ascii=False, sort_keys=True)
    else:
        parts = [f"scope {item['scope']}" if item.get("scope") else ""]
        parts.append(f"line {item['line']}" if item.get("line") is not None else "")
        place = ", ".join(part for part in parts if part)
        detail = str(item.get("excerpt", ""))
    return EvidenceLine(str(item.get("resource_id", "")), place, clip(detail, limit))


def location_text(result: Mapping[str, Any]) -> str | None:
    """``file:line`` of a finding read from an input file, when the result has one."""
    location = result.get("location")
    if not isinstance(location, Mapping) or not location.get("file"):
        return None
    line = location.get("line")
    text = f"{location['file']}:{line}" if line else str(location["file"])
    address = location.get("address")
    return f"{text} ({address})" if isinstance(address, str) and address else text


@dataclass(frozen=True)
class Verdict:
    """The overall outcome as the gate recorded it: ``pass``, ``fail`` or ``incomplete`` with a
    threshold, ``not_gated`` without one (``--fail-on none``), which never reads as a pass, and
    ``nothing`` when the input held nothing to audit, whatever the threshold."""

    outcome: str
    label: str
    sentence: str


def verdict(evidence: Evidence) -> Verdict:
    """The one verdict every report states: its label, and a sentence with the failures behind it.

    Failures below the threshold, or all of them when nothing is gated, are counted by severity,
    so that an exit code of 0 is never read as "nothing failed".
    """
    summary = evidence["summary"]
    nothing = [e for e in evidence.get("errors", []) if e.get("kind") == NOTHING_TO_AUDIT]
    if nothing:
        return Verdict("nothing", "NOTHING TO AUDIT", str(nothing[0].get("message", "")))
    gate = summary.get("gate", {})
    fail_on = gate.get("fail_on", evidence["run"].get("options", {}).get("fail_on", "critical"))
    failing = int(gate.get("failing", 0))
    exit_code = gate.get("exit_code")
    incomplete = bool(gate.get("incomplete")) or exit_code == 3
    failed = {s: int(n) for s, n in summary.get("by_severity", {}).items()}
    unknown_by = {s: int(n) for s, n in summary.get("indeterminate_by_severity", {}).items()}
    unknown = sum(unknown_by.values())
    missing = _missing(evidence, fail_on, unknown_by) if incomplete else ""
    if fail_on == NO_THRESHOLD:
        parts = [
            _failures(failed, SEVERITIES, unknown),
            "findings are not gated by severity (fail-on none)",
        ]
        if exit_code == 3:
            return Verdict("incomplete", "INCOMPLETE", _sentence([missing, *parts]))
        return Verdict("not_gated", "NOT GATED", _sentence([*parts, missing]))
    below = SEVERITIES[severity_rank(fail_on) + 1 :]
    below_it = ""
    if any(failed.get(s) for s in below):
        below_it = _failures(failed, below, 0) + " below it"
    if failing or exit_code == 1:
        gated = f"{_count(failing, 'finding')} at or above {fail_on} severity"
        return Verdict("fail", "FAIL", _sentence([gated, missing, below_it]))
    if incomplete:
        return Verdict("incomplete", "INCOMPLETE", _sentence([missing, below_it]))
    gated = f"no finding at or above {fail_on} severity"
    return Verdict("pass", "PASS", _sentence([gated, below_it]))


def _missing(evidence: Evidence, fail_on: str, unknown_by: Mapping[str, int]) -> str:
    """``evidence incomplete (2 gaps, 3 indeterminate results at or above high severity)``:
    what made it incomplete, naming only the causes there are."""
    gaps, errors = len(evidence.get("gaps", [])), len(evidence.get("errors", []))
    gating = [
        s
        for s in SEVERITIES
        if fail_on != NO_THRESHOLD and severity_rank(s) <= severity_rank(fail_on)
    ]
    unknown = sum(unknown_by.get(s, 0) for s in gating)
    causes = [
        _count(gaps, "gap") if gaps else "",
        _count(errors, "run-level error") if errors else "",
        f"{_count(unknown, 'indeterminate result')} at or above {fail_on} severity"
        if unknown
        else "",
    ]
    named = ", ".join(c for c in causes if c)
    return f"evidence incomplete ({named})" if named else "evidence incomplete"


def _failures(failed: Mapping[str, int], severities: Iterable[str], unknown: int) -> str:
    """``95 failed results (25 critical, 70 high)``, with indeterminate results when any."""
    shown = [f"{failed[s]} {s}" for s in severities if failed.get(s)]
    total = sum(failed.get(s, 0) for s in severities)
    text = f"{_count(total, 'failed result')} ({', '.join(shown)})" if total else "no failed result"
    return text + (f" and {unknown} indeterminate" if unknown else "")


def _sentence(parts: Iterable[str]) -> str:
    text = "; ".join(part for part in parts if part)
    return text[0].upper() + text[1:] + "."


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}{'' if number == 1 else 's'}"


def open_by_rule(results: Iterable[Mapping[str, Any]]) -> dict[str, list[Mapping[str, Any]]]:
    """Results needing attention (fail, indeterminate) per rule, in document order."""
    grouped: dict[str, list[Mapping[str, Any]]] = {}
    for result in results:
        if result["status"] in ("fail", "indeterminate"):
            grouped.setdefault(result["rule_id"], []).append(result)
    return grouped


def status_tally(counts: Mapping[str, int]) -> list[tuple[str, int]]:
    """The statuses that occur, worst first, with their counts."""
    order = (*STATUSES, NOT_EVALUATED)
    return [(key, counts[key]) for key in order if counts.get(key)]


def result_counts(results: Iterable[Mapping[str, Any]]) -> dict[str, int]:
    """Results per status, every status present (zero when absent)."""
    counts = dict.fromkeys(STATUSES, 0)
    for result in results:
        counts[result["status"]] = counts.get(result["status"], 0) + 1
    return counts


_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+!|~])")
_LINE_BREAKS = re.compile(r"[\r\n\t]+")


def md_escape(text: str) -> str:
    """Text that Markdown and inline HTML show literally, on one line."""
    one_line = visible(_LINE_BREAKS.sub(" ", text))
    return _MARKDOWN_SPECIAL.sub(r"\\\1", html.escape(one_line, quote=False))
