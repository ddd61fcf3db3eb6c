"""What the audit operations lay over an assessment before its evidence is written.

In order: waivers turn covered failing results into ``waived``; the baseline removes known debt
from the gate and marks each finding new, unchanged or updated; the trend of earlier scheduled
runs is carried into the evidence so that the reports can draw it. The reports only render
what this recorded.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from mtls_audit.audit.trend import trend_point
from mtls_audit.engine.results import Severity
from mtls_audit.engine.runner import Assessment
from mtls_audit.evidence.clock import run_times

if TYPE_CHECKING:  # imported with their files: a run given neither loads their readers (YAML)
    from mtls_audit.audit.baseline import Baseline
    from mtls_audit.audit.waivers import Applied, WaiverFile


@dataclass(frozen=True)
class AuditInputs:
    """Optional inputs of an assessment: waivers, a baseline, the trend of earlier runs."""

    waivers: WaiverFile | None = None
    baseline: Baseline | None = None
    trend: Sequence[Mapping[str, Any]] | None = None


@dataclass(frozen=True)
class Overlay:
    """The assessment after the waivers, what the gate counts, and the evidence annotations."""

    assessment: Assessment
    gated: Assessment
    inputs: AuditInputs
    applied: Applied | None = None
    accepted: frozenset[str] = field(default_factory=frozenset)

    def annotate(self, evidence: dict[str, Any]) -> None:
        if self.applied is not None:
            self.applied.annotate(evidence)
        if self.inputs.baseline is not None:
            self.inputs.baseline.annotate(evidence, self.accepted)
        if self.inputs.trend is not None:
            evidence["trend"] = [*map(dict, self.inputs.trend), trend_point(evidence)]


def overlay(
    assessment: Assessment, inputs: AuditInputs, *, started: datetime, fail_on: Severity | None
) -> Overlay:
    """Apply the inputs; waivers are judged on the run's start day (``SOURCE_DATE_EPOCH``)."""
    applied = None
    if inputs.waivers is not None:
        from mtls_audit.audit.waivers import apply_waivers

        day = run_times(started, started)[0].date()
        applied = apply_waivers(assessment.findings, inputs.waivers, day)
        assessment = Assessment(applied.findings, assessment.errors, assessment.rules)
    accepted: frozenset[str] = frozenset()
    gated = assessment
    if inputs.baseline is not None:
        accepted = inputs.baseline.accepted(assessment.findings, fail_on)
        kept = tuple(f for f in assessment.findings if f.fingerprint not in accepted)
        gated = Assessment(kept, assessment.errors, assessment.rules)
    return Overlay(assessment, gated, inputs, applied, accepted)
