"""How the population was obtained, as the evidence records it (AICPA AT-C 205: information
produced by the entity): who collected it and from where, with which API versions and how many
requests, and the command lines that obtain and judge it again."""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

from mtls_audit.model import ids

# Live collection: where it read and signed in, its bounds, and whether it was cut short.
_LIVE = ("cloud", "endpoints", "auth", "limits", "stopped", "notes", "discovery")
# Provenance fields kept under names that say they are about the collection, not the assessment.
_RENAMED = (
    ("finished_at", "collection_finished_at"),
    ("tool", "collector"),
    ("scope", "selection"),
    ("api_versions", "api_versions"),
)


def source_record(provenance: Mapping[str, Any]) -> dict[str, Any]:
    """``run.source``: the snapshot's provenance without its request log (summarised)."""
    inputs = [i for i in provenance.get("inputs", []) if isinstance(i, Mapping)]
    record: dict[str, Any] = {
        "kind": provenance.get("source", ""),
        "collected_at": provenance.get("collected_at", ""),
        "inputs": [i.get("path", "") for i in inputs],
        "identity": provenance.get("identity", {}),
        **{k: provenance[k] for k in _LIVE if k in provenance},
    }
    digests = {str(i.get("path", "")): i["sha256"] for i in inputs if i.get("sha256")}
    if digests:
        record["input_sha256"] = digests
    for key, name in _RENAMED:
        if provenance.get(key):
            record[name] = provenance[key]
    if provenance.get("source") == "azure":
        record["requests"] = request_summary(provenance.get("requests", []))
    return record


def request_summary(requests: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """How many HTTP attempts a live collection made, and how many were not answered with
    success (no answer, or a status of 400 and above: throttling and retries included)."""
    statuses = Counter(
        "no answer" if r.get("status") is None else str(r.get("status")) for r in requests
    )
    failed = sum(n for s, n in statuses.items() if s == "no answer" or int(s) >= 400)
    return {"count": len(requests), "failed": failed, "by_status": dict(sorted(statuses.items()))}


def collect_command(source: Mapping[str, Any]) -> list[str]:
    """The ``collect`` command line that reads the same population again."""
    kind = source.get("kind")
    if kind == "sample":
        return ["mtls-audit", "collect", "--sample"]
    if kind == "files":
        return ["mtls-audit", "collect", *_flags("--from-file", source.get("inputs", []))]
    scope = source.get("selection", {})
    line = ["mtls-audit", "collect"]
    line += _flags("--subscription", scope.get("subscriptions", []))
    line += _flags("--resource-group", scope.get("resource_groups", []))
    line += _flags("--service", [ids.last_name(s) for s in scope.get("services", [])])
    if source.get("cloud"):
        line += ["--cloud", str(source["cloud"])]
    mode = (source.get("auth") or {}).get("mode")
    if mode:
        line += ["--auth", str(mode)]
    return line


def assess_command(evidence: Mapping[str, Any]) -> list[str]:
    """The ``assess`` command line that judges the snapshot (by its SHA-256) the same way."""
    options, as_of = evidence["run"].get("options", {}), evidence["run"]["as_of"]
    line = ["mtls-audit", "assess", "snapshot.json", "--as-of", as_of.removesuffix("Z")]
    line += ["--fail-on", str(options.get("fail_on", "critical"))]
    line += _flags("--select", options.get("select", []))
    line += _flags("--ignore", options.get("ignore", []))
    line += _flags("--rules", options.get("rule_dirs", []))
    line += _flags("--disable-pack", options.get("disabled_packs", []))
    line += ["--warning-days", str(options.get("warning_days"))]
    line += ["--notice-days", str(options.get("notice_days"))]
    files = (("waivers", options.get("waivers")), ("baseline", evidence.get("baseline")))
    for name, given in files:
        if isinstance(given, Mapping) and given.get("file"):
            line += [f"--{name}", str(given["file"])]
    return line


def digest(document: Any) -> str:
    """SHA-256 of a JSON value's canonical text (sorted keys, no spaces, UTF-8)."""
    text = json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _flags(flag: str, values: Sequence[Any]) -> list[str]:
    return [part for value in values for part in (flag, str(value))]
