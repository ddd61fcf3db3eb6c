"""What the report says about where its evidence came from (provenance), what it covers
(population, in defined units), what it does not (limitations), how old the snapshot was, and
the risk acceptances (waivers) applied: read from the evidence document, worded here."""

from __future__ import annotations

import shlex
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from mtls_audit.certs.times import DAY_SECONDS, TimestampError, days_phrase, parse_timestamp
from mtls_audit.report.population import UNITS
from mtls_audit.report.provenance import assess_command, collect_command


@dataclass(frozen=True)
class PopulationRow:
    label: str
    count: int
    definition: str


@dataclass(frozen=True)
class WaiverRow:
    rule_id: str
    subjects: Sequence[str]
    approver: str
    reason: str
    approved_on: str
    expires_on: str
    state: str  # the state in words; flagged ones start with a capitalised warning
    flagged: bool


def collector(source: Mapping[str, Any]) -> str:
    """Who collected the population: the signed-in identity, or that none was used."""
    kind = source.get("kind")
    if kind == "sample":
        return "No identity: the bundled sample snapshot was read from the tool's package."
    if kind == "files":
        count = len(source.get("inputs", []))
        return (
            f"No identity: {count} exported file{'' if count == 1 else 's'} "
            "(listed below) were read offline; nothing was read from Azure."
        )
    identity = source.get("identity") or {}
    if not identity:
        return "Unknown: the collection recorded no signed-in identity."
    parts = [
        f"{label} {identity[key]}"
        for key, label in (
            ("object_id", "object id"),
            ("app_id", "application id"),
            ("tenant_id", "tenant"),
        )
        if identity.get(key)
    ]
    mode = (source.get("auth") or {}).get("mode")
    how = f", signed in with --auth {mode}" if mode else ""
    return "Azure identity " + ", ".join(parts) + how + "."


def provenance_rows(evidence: Mapping[str, Any]) -> list[tuple[str, str]]:
    """Who, when, how and with what: one row per fact, every value spelled out."""
    run, source = evidence["run"], evidence["run"]["source"]
    rows = [("Collected by", collector(source))]
    finished = source.get("collection_finished_at")
    rows.append(
        (
            "Collected",
            f"{source.get('collected_at') or 'at an unrecorded time'}"
            + (f" to {finished}" if finished else ""),
        )
    )
    selection = source.get("selection") or {}
    for key, label in (
        ("subscriptions", "Azure subscriptions selected"),
        ("resource_groups", "Resource groups selected"),
        ("services", "Services selected"),
    ):
        if selection.get(key):
            rows.append((label, ", ".join(map(str, selection[key]))))
    if source.get("cloud"):
        rows.append(("Cloud", str(source["cloud"])))
    versions = source.get("api_versions") or {}
    if versions:
        rows.append(("API versions", ", ".join(f"{k} {v}" for k, v in sorted(versions.items()))))
    requests = source.get("requests")
    if isinstance(requests, Mapping):
        rows.append(("Requests", _requests(requests)))
    if source.get("stopped"):
        rows.append(("Collection stopped", str(source["stopped"].get("message", ""))))
    made_by = source.get("collector") or {}
    if made_by:
        rows.append(("Collected with", f"{made_by.get('name')} {made_by.get('version')}"))
    tool = evidence["tool"]
    rows.append(
        (
            "Assessed with",
            f"{tool['name']} {tool['version']}, {run['started_at']} to {run['finished_at']}",
        )
    )
    rows.append(("Rule pack SHA-256", str(run.get("rule_pack_sha256", "not recorded"))))
    rows.append(("Snapshot SHA-256", str(evidence["snapshot"]["sha256"])))
    rows.append(("Collect again", shlex.join(collect_command(source))))
    rows.append(("Assess again", shlex.join(assess_command(evidence))))
    return rows


def _requests(requests: Mapping[str, Any]) -> str:
    statuses = ", ".join(f"{n} × {s}" for s, n in (requests.get("by_status") or {}).items())
    failed = int(requests.get("failed", 0))
    text = f"{requests.get('count', 0)} HTTP requests, {failed} without success"
    return text + (f" ({statuses})" if statuses else "")


def option_rows(evidence: Mapping[str, Any]) -> list[tuple[str, str]]:
    """Every option of the assessment with its value (defaults included)."""
    options = evidence["run"].get("options", {})
    baseline = evidence.get("baseline")
    waivers = options.get("waivers")

    def listed(key: str, empty: str) -> str:
        return ", ".join(map(str, options.get(key) or [])) or empty

    return [
        ("--fail-on", str(options.get("fail_on", "critical"))),
        ("--select", listed("select", "all rules")),
        ("--ignore", listed("ignore", "none")),
        ("--rules", listed("rule_dirs", "none (built-in pack only)")),
        ("--disable-pack", listed("disabled_packs", "none")),
        ("--as-of", options.get("as_of") or "not given: judged as of the collection time"),
        ("--warning-days", _days(options.get("warning_days"))),
        ("--notice-days", _days(options.get("notice_days"))),
        ("--waivers", _file(waivers, "judged_on", "in force judged on") if waivers else "none"),
        ("--baseline", _file(baseline, "as_of", "a run as of") if baseline else "none"),
    ]


def _days(value: Any) -> str:
    return "not recorded" if value is None else days_phrase(int(value))


def _file(record: Mapping[str, Any], key: str, label: str) -> str:
    return f"{record.get('file')} (SHA-256 {record.get('sha256')}; {label} {record.get(key)})"


def population_rows(population: Mapping[str, int]) -> list[PopulationRow]:
    """The counts in :data:`UNITS` order; a count the evidence has but no unit names is
    shown under its key (a newer evidence document read by an older report)."""
    known = [
        PopulationRow(u.label, population[k], u.definition)
        for k, u in UNITS.items()
        if k in population
    ]
    other = [
        PopulationRow(k.replace("_", " ").capitalize(), v, "")
        for k, v in population.items()
        if k not in UNITS
    ]
    return known + other


def limitations(evidence: Mapping[str, Any]) -> list[str]:
    """What this assessment does not cover, worded for the run it describes."""
    population = evidence["run"].get("population", {})
    out = [
        "Point in time: the configuration is judged as it was collected; changes made "
        "before or after that moment are not covered.",
        "Anything in front of API Management (Application Gateway, Front Door, firewalls, "
        "load balancers) and whether it terminates or forwards client certificates.",
        "The backends' own enforcement: whether a backend requires and checks the gateway's "
        "client certificate is outside the configuration collected.",
    ]
    if population.get("workspaces"):
        out.append(
            f"Workspaces: {population['workspaces']} found; their APIs, products and policies "
            "are not judged (each is listed as a gap)."
        )
    else:
        out.append("Workspaces: none was found; APIs in workspaces would not be judged.")
    if "probe" in evidence:
        out.append("Runtime behaviour was tested only for the hosts and paths the probe tried.")
    else:
        out.append(
            "Runtime behaviour: the gateway was not probed; what it does with a "
            "request is inferred from its configuration and policies."
        )
    if evidence["run"]["source"].get("kind") != "azure":
        out.append(
            "The input was not read from Azure: it shows what the files say, which "
            "may differ from what is deployed."
        )
    return out


def snapshot_age(evidence: Mapping[str, Any]) -> str | None:
    """ "Snapshot collected 2026-11-12, 25 days before this report." when it is a day or more
    older than the assessment (full days, as certificate expiry is counted)."""
    run = evidence["run"]
    collected = _time(run["source"].get("collected_at"))
    produced = _time(run.get("finished_at"))
    if collected is None or produced is None:
        return None
    full = int((produced - collected).total_seconds() // DAY_SECONDS)
    if full < 1:
        return None
    text = (
        f"Snapshot collected {collected:%Y-%m-%d}, {days_phrase(full)} before this report "
        f"({produced:%Y-%m-%d})"
    )
    as_of = _time(run.get("as_of"))
    if as_of is not None and as_of != collected:
        text += f"; judged as of {as_of:%Y-%m-%d}"
    return text + "."


def _time(text: Any) -> datetime | None:
    """A recorded time, or None when absent or unreadable (the renderers that need the time
    refuse the evidence themselves, naming the field)."""
    try:
        return parse_timestamp(text) if isinstance(text, str) and text else None
    except TimestampError:
        return None


_STATES = {
    "in_force": "In force",
    "expired": "EXPIRED: not applied",
    "pending": "PENDING: not yet in force",
}


def waiver_rows(waivers: Sequence[Mapping[str, Any]]) -> list[WaiverRow]:
    rows = []
    for waiver in waivers:
        state = str(waiver.get("state", ""))
        words = [_STATES.get(state, state)]
        matched = waiver.get("matched")
        if matched == 0:
            words.append("UNMATCHED: covers no failing result")
        elif matched is not None:
            words.append(f"covers {matched} failing result{'' if matched == 1 else 's'}")
        reason = str(waiver.get("justification", ""))
        if waiver.get("compensating_control"):
            reason += f" Compensating control: {waiver['compensating_control']}"
        if waiver.get("ticket"):
            reason += f" Ticket {waiver['ticket']}."
        rows.append(
            WaiverRow(
                rule_id=str(waiver.get("rule_id", "")),
                subjects=[str(s) for s in waiver.get("subjects", [])],
                approver=str(waiver.get("approver", "")),
                reason=reason,
                approved_on=str(waiver.get("approved_on", "")),
                expires_on=str(waiver.get("expires_on", "")),
                state="; ".join(words),
                flagged=state != "in_force" or matched == 0,
            )
        )
    return rows
