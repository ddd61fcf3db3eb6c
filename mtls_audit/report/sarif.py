"""SARIF 2.1.0 for code-scanning dashboards (GitHub, Azure DevOps).

What is emitted, and why:

- ``fail`` results: ``kind`` fail, ``level`` error for critical and high, warning for medium,
  note for low and info.
- Severity per result. GitHub code scanning reads ``security-severity`` only from the rule's
  descriptor (``reportingDescriptor.properties``); its documentation lists no result-level
  severity beyond ``level``. A rule whose results carry a severity other than its own (an
  expired certificate is critical where the rule is high) therefore gets one more descriptor per
  such severity, with the id ``RULE/severity`` (``MTLS-KV-09/critical``), the same texts and a
  ``subset`` relationship to the rule's own descriptor. Results at the rule's own severity keep
  the plain rule id, so their alerts stay the same across runs.
- ``indeterminate`` results: ``kind`` open, ``level`` none (SARIF 2.1.0 §3.27.9, §3.27.10: a
  result whose kind is not fail has level none), the message starting with "Indeterminate:".
  They point to the descriptor of their severity, so a dashboard still files them under the rule.
- ``waived`` results: like fail, with an external suppression carrying the justification (and
  the approver, expiry and ticket of the waiver). When waivers were applied, every result has a
  ``suppressions`` array (empty when not waived), as SARIF requires all or none to have one.
- With a baseline, every result has a ``baselineState`` (new, unchanged, updated) and the run a
  ``baselineGuid`` naming the baseline's run id. Results of the baseline that are gone
  (``absent``) are left out: dashboards would show them as open alerts; the evidence lists them.
- ``pass`` and ``not_applicable`` results are left out: the evidence JSON holds the full
  population, and dashboards are for what needs action.
- Rule texts are plain text in every ``text`` field (no backticks, no hard wraps); ``help``
  also has a ``markdown`` form, where literals are code spans. ``fullDescription`` is cut at a
  word boundary to GitHub's 1,024 characters; ``help`` holds the whole text.

Every message built from data (a result's message, a gap, a run error, the scope's names)
passes through :func:`message_text`: control, direction-changing and invisible characters
become escapes (as in every report), braces are doubled, since SARIF reads ``{0}`` in a message
string as a placeholder for an argument (SARIF 2.1.0 §3.11.5), and square brackets are escaped
with a backslash, since ``[text](target)`` in a plain-text message is an embedded link that
viewers such as GitHub's render (§3.11.6). The log carries no ``message.markdown``.

Every result has a physical location: the input file and line where the finding was read from a
file; otherwise a line of an inventory file written beside the SARIF (one resource id per line,
sorted, line breaks inside an id written as ``\n``), so that tools which require a file location
accept every result. Its URI is relative to the working directory, like the input paths.
"""

from __future__ import annotations

import hashlib
import re
import uuid
from collections.abc import Mapping, Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import quote

from mtls_audit.evidence.reader import (
    Evidence,
    check_evidence,
    instance_label,
    remediation_steps,
    service_ids,
    severity_rank,
    visible,
    waiver_summary,
)
from mtls_audit.output_files import write_file, write_text
from mtls_audit.report.rule_text import clip_words, code_block, markdown_text, plain_text
from mtls_audit.snapshot import dumps

SARIF_SCHEMA_URI = "https://json.schemastore.org/sarif-2.1.0.json"
INVENTORY_NAME = "mtls-audit-inventory.txt"
FINGERPRINT_KEY = "mtlsAudit/v1"
SECURITY_SEVERITY = {"critical": "9.5", "high": "8.0", "medium": "5.5", "low": "3.0", "info": "0.0"}
LEVELS = {"critical": "error", "high": "error", "medium": "warning", "low": "note", "info": "note"}
EMITTED = ("fail", "indeterminate", "waived")
PROSE_CHANNELS = ("portal",)
DESCRIPTION_LIMIT = 1024  # GitHub code scanning's limit for fullDescription.text
# A bracket, with the backslashes before it (they must be escaped too, or they would escape it).
_BRACKET = re.compile(r"(\\*)([\[\]])")


def message_text(text: str) -> str:
    """Data as a SARIF plain-text message that shows it literally: no terminal control, no
    placeholder (``{0}``), no embedded link (``[x](javascript:…)``)."""
    shown = visible(text).replace("{", "{{").replace("}", "}}")
    if "[" not in shown and "]" not in shown:  # most text; the pattern would try every position
        return shown
    return _BRACKET.sub(lambda m: m.group(1) * 2 + "\\" + m.group(2), shown)


def write_sarif(evidence: Evidence, out: Path) -> list[Path]:
    """Write the SARIF log to ``out``; returns it and, when some result needed it, the inventory."""
    check_evidence(evidence)
    emitted = [r for r in evidence["results"] if r["status"] in EMITTED]
    locations = [_file_location(r) for r in emitted]
    written = [out]
    inventory: dict[str, int] = {}
    inventory_uri = INVENTORY_NAME
    if any(location is None for location in locations):
        ids = sorted({r["resource_id"] for r in evidence["results"]})
        inventory = {resource_id: line for line, resource_id in enumerate(ids, start=1)}
        inventory_path = out.with_name(INVENTORY_NAME)
        lines = (rid.replace("\r", "\\r").replace("\n", "\\n") + "\n" for rid in ids)
        write_text(inventory_path, "".join(lines))
        written.append(inventory_path)
        inventory_uri = _artifact_uri(inventory_path)
    located = [
        location or (inventory_uri, inventory[r["resource_id"]])
        for r, location in zip(emitted, locations, strict=True)
    ]
    log = _sarif_log(evidence, emitted, located)
    baseline_guid = _guid(evidence.get("baseline", {}).get("run_id"))
    if baseline_guid:
        log["runs"][0]["baselineGuid"] = baseline_guid
    write_file(out, dumps(log, sort_keys=False))
    return written


def _sarif_log(
    evidence: Evidence,
    emitted: Sequence[Mapping[str, Any]],
    locations: Sequence[tuple[str, int]],
) -> dict[str, Any]:
    """The log, each emitted result at its location (URI and line)."""
    descriptors, index = _descriptors(evidence["rule_pack"], emitted)
    run = evidence["run"]
    suppressible = "waivers" in evidence or any(r["status"] == "waived" for r in emitted)
    return {
        "$schema": SARIF_SCHEMA_URI,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": evidence["tool"]["name"],
                        "version": evidence["tool"]["version"],
                        "rules": descriptors,
                    }
                },
                "automationDetails": _automation(evidence),
                "invocations": [_invocation(evidence)],
                "results": [
                    _result(r, location, index, suppressible)
                    for r, location in zip(emitted, locations, strict=True)
                ],
                "properties": {
                    "asOf": run["as_of"],
                    "snapshotSha256": evidence["snapshot"]["sha256"],
                    "gate": evidence["summary"].get("gate", {}),
                },
            }
        ],
    }


def _descriptor_id(rule: Mapping[str, Any], severity: str) -> str:
    """The descriptor a result of ``rule`` at ``severity`` points to."""
    return rule["id"] if severity == rule["severity"] else f"{rule['id']}/{severity}"


def _descriptors(
    rule_pack: Sequence[Mapping[str, Any]], emitted: Sequence[Mapping[str, Any]]
) -> tuple[list[dict[str, Any]], dict[tuple[str, str], tuple[str, int]]]:
    """Every rule's descriptor, each followed by one per other severity its results carry; and
    the descriptor (id, position) of each (rule id, severity)."""
    used = {(r["rule_id"], r["severity"]) for r in emitted}
    descriptors: list[dict[str, Any]] = []
    index: dict[tuple[str, str], tuple[str, int]] = {}
    for rule in sorted(rule_pack, key=lambda rule: rule["id"]):
        own = len(descriptors)
        others = {severity for rule_id, severity in used if rule_id == rule["id"]}
        others.discard(rule["severity"])
        for severity in [rule["severity"], *sorted(others, key=lambda s: (severity_rank(s), s))]:
            descriptor = _rule(rule, severity)
            if severity != rule["severity"]:
                target = {"id": rule["id"], "index": own}
                descriptor["relationships"] = [{"target": target, "kinds": ["subset"]}]
            index[(rule["id"], severity)] = (descriptor["id"], len(descriptors))
            descriptors.append(descriptor)
    return descriptors, index


def _rule(rule: Mapping[str, Any], severity: str) -> dict[str, Any]:
    controls = rule.get("controls", {})
    tags = ["security", "mtls"] + [f"{fw}:{cid}" for fw, ids in controls.items() for cid in ids]
    text, markdown = _help(rule)
    summary = plain_text(rule.get("summary") or rule["title"]).replace("\n\n", " ")
    return {
        "id": _descriptor_id(rule, severity),
        "name": rule["slug"],
        "shortDescription": {"text": plain_text(rule["title"])},
        "fullDescription": {"text": clip_words(summary, DESCRIPTION_LIMIT)},
        "help": {"text": text, "markdown": markdown},
        "defaultConfiguration": {"level": LEVELS.get(severity, "warning")},
        "properties": {
            "security-severity": SECURITY_SEVERITY.get(severity, "5.5"),
            "tags": tags,
            "severity": severity,
            "lifecycle": rule.get("lifecycle", ""),
            "pack": rule.get("pack", ""),
            "ruleVersion": rule.get("version", ""),
        },
    }


def _help(rule: Mapping[str, Any]) -> tuple[str, str]:
    """The help of a rule, as plain text and as Markdown: what it checks, why it matters, then
    remediation per channel."""
    summary, rationale = rule.get("summary") or rule["title"], rule.get("rationale", "")
    text = [f"What it checks: {plain_text(summary)}", f"Why it matters: {plain_text(rationale)}"]
    markdown = [
        f"**What it checks.** {markdown_text(summary)}",
        f"**Why it matters.** {markdown_text(rationale)}",
    ]
    text.append("How to fix it:")
    markdown.append("**How to fix it.**")
    for channel, label, remedy in remediation_steps(rule):
        text.append(f"{label}: {visible(remedy)}")
        body = markdown_text(remedy) if channel in PROSE_CHANNELS else code_block(remedy)
        markdown.append(f"*{label}*\n\n{body}")
    return "\n\n".join(text), "\n\n".join(markdown)


def _automation(evidence: Evidence) -> dict[str, Any]:
    """An id stable across runs of the same scope: GitHub keys its analysis category on it."""
    services = "\n".join(sorted(sid.lower() for sid in service_ids(evidence)))
    digest = hashlib.sha256(services.encode()).hexdigest()[:16]
    details = {
        "id": f"mtls-audit/{digest}/",
        "description": {"text": message_text(f"mtls-audit of {instance_label(evidence)}")},
    }
    guid = _guid(evidence["run"].get("id"))
    return {**details, "guid": guid} if guid else details


def _guid(text: Any) -> str | None:
    """A run id usable as a SARIF GUID (run ids are UUIDs), else None."""
    try:
        return str(uuid.UUID(str(text)))
    except ValueError:
        return None


def _invocation(evidence: Evidence) -> dict[str, Any]:
    notices = [
        {
            "level": "error",
            "message": {
                "text": message_text(f"{error.get('kind', 'error')}: {error.get('message', '')}")
            },
            **({"descriptor": {"id": error["rule_id"]}} if error.get("rule_id") else {}),
        }
        for error in evidence.get("errors", [])
    ]
    notices += [
        {
            "level": "warning",
            "message": {
                "text": message_text(
                    f"Evidence gap ({gap.get('kind')}, {gap.get('what')}) for "
                    f"{gap.get('subject')}: {gap.get('message', '')}"
                )
            },
        }
        for gap in evidence.get("gaps", [])
    ]
    return {
        "executionSuccessful": not evidence.get("errors"),
        "toolExecutionNotifications": notices,
    }


def _result(
    result: Mapping[str, Any],
    location: tuple[str, int],
    index: Mapping[tuple[str, str], tuple[str, int]],
    suppressible: bool,
) -> dict[str, Any]:
    status, severity = result["status"], result["severity"]
    message, kind, level = result["message"], "fail", LEVELS.get(severity, "warning")
    if status == "indeterminate":
        message, kind, level = f"Indeterminate: {message}", "open", "none"
    uri, line = location
    descriptor = index.get((result["rule_id"], severity))
    sarif: dict[str, Any] = {
        "ruleId": result["rule_id"],
        "kind": kind,
        "level": level,
        "message": {"text": message_text(message)},
        "locations": [
            {
                "physicalLocation": {
                    "artifactLocation": {"uri": uri},
                    "region": {"startLine": line},
                },
                "logicalLocations": [
                    {"fullyQualifiedName": result["resource_id"], "kind": "resource"}
                ],
            }
        ],
        "partialFingerprints": {FINGERPRINT_KEY: result["fingerprint"]},
        "properties": {
            "status": status,
            "severity": severity,
            "subject": result.get("subject", ""),
        },
    }
    address = (result.get("location") or {}).get("address")
    if isinstance(address, str):  # the Terraform resource the finding was read from
        logical = sarif["locations"][0]["logicalLocations"]
        logical.append({"fullyQualifiedName": address, "kind": "declaration"})
    if descriptor is not None:
        sarif["ruleId"], sarif["ruleIndex"] = descriptor
    if suppressible:
        waived = status == "waived"
        sarif["suppressions"] = (
            [{"kind": "external", "justification": visible(waiver_summary(result))}]
            if waived
            else []
        )
    if "baseline_state" in result:
        sarif["baselineState"] = result["baseline_state"]
    return sarif


def _artifact_uri(path: Path) -> str:
    """The inventory's URI: relative to the working directory (where input paths are relative
    to, typically the repository root) when it lies below it, else its bare file name."""
    try:
        relative = path.resolve().relative_to(Path.cwd().resolve())
    except ValueError:
        return path.name
    return quote(relative.as_posix(), safe="/-._~")


def _file_location(result: Mapping[str, Any]) -> tuple[str, int] | None:
    """The finding's input file (as a URI reference) and line, when it was read from a file."""
    location = result.get("location")
    if not isinstance(location, Mapping) or not location.get("file"):
        return None
    return _file_uri(str(location["file"])), int(location.get("line") or 1)


@lru_cache(maxsize=1024)  # the findings of a run come from a few input files
def _file_uri(path: str) -> str:
    return quote(path.replace("\\", "/"), safe="/:@-._~")
