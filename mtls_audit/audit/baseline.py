"""Gating against a baseline: only what is new relative to an earlier evidence document fails.

Semantics (also in the README):

- Results are matched by fingerprint (rule id, subject, key: stable across runs).
- A failing result at or above ``--fail-on`` does not gate when the baseline has the same
  fingerprint failing at or above the same threshold: the baseline would have gated on it, so it
  is known debt. Anything else that fails at or above the threshold gates: a result absent from
  the baseline, one that passed there, one that was waived there (the acceptance ended), and one
  whose severity rose across the threshold.
- The baseline affects exit code 1 only. Indeterminate results, gaps and rule errors still make
  the evidence incomplete (exit 3): missing evidence is never accepted.
- Every finding gets a ``baseline_state`` (SARIF's new / unchanged / updated); findings of the
  baseline that are gone are listed in the evidence's ``baseline.absent``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mtls_audit.audit.diff import compare, is_finding
from mtls_audit.audit.files import LoadedEvidence, read_evidence
from mtls_audit.engine.results import Severity, Status
from mtls_audit.engine.runner import Finding

BASELINE_STATES = {"new": "new", "changed": "updated", "unchanged": "unchanged"}


@dataclass(frozen=True)
class Baseline:
    loaded: LoadedEvidence

    @property
    def results(self) -> list[dict[str, Any]]:
        return list(self.loaded.document["results"])

    def accepted(self, findings: Sequence[Finding], fail_on: Severity | None) -> frozenset[str]:
        """Fingerprints of failing findings the baseline already failed at the threshold."""
        if fail_on is None:
            return frozenset()
        known = {
            r["fingerprint"]
            for r in self.results
            if r["status"] == "fail" and Severity(r["severity"]).at_least(fail_on)
        }
        return frozenset(
            f.fingerprint
            for f in findings
            if f.status is Status.FAIL and f.severity.at_least(fail_on) and f.fingerprint in known
        )

    def annotate(self, evidence: dict[str, Any], accepted: frozenset[str]) -> None:
        """Each finding's ``baseline_state``, and the ``baseline`` section."""
        comparison = compare(self.results, evidence["results"])
        states = {
            c.fingerprint: BASELINE_STATES[c.kind] for c in comparison.changes if c.kind != "fixed"
        }
        for result in evidence["results"]:
            if is_finding(result):
                result["baseline_state"] = states[result["fingerprint"]]
        run = self.loaded.document["run"]
        counts = comparison.counts()
        evidence["baseline"] = {
            "file": self.loaded.name,
            "sha256": self.loaded.sha256,
            "run_id": run["id"],
            "as_of": run["as_of"],
            "new": counts["new"],
            "unchanged": counts["unchanged"],
            "updated": counts["changed"],
            "accepted": len(accepted),
            "absent": [
                {
                    "fingerprint": c.fingerprint,
                    "rule_id": c.shown["rule_id"],
                    "resource_id": c.shown["resource_id"],
                    "severity": c.shown["severity"],
                    "status_now": c.new["status"] if c.new else "absent",
                }
                for c in comparison.of("fixed")
            ],
        }


def load_baseline(path: Path) -> Baseline:
    return Baseline(read_evidence(path))
