"""What one run's analyses keep once computed, typed: a field per analysis."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from mtls_audit.analysis.coverage import PathCoverage
from mtls_audit.analysis.paths import InboundPath, PathGroup
from mtls_audit.model.cite import PolicyCitation
from mtls_audit.policy.disclosure.writes import ResponseWrite
from mtls_audit.policy.effective.merge import Layer
from mtls_audit.policy.effective.policies import EffectivePolicies
from mtls_audit.policy.inbound.pins import DocumentPins
from mtls_audit.policy.inbound.verdicts import InboundAnalyser


@dataclass
class Memo:
    """Caches of :class:`~mtls_audit.analysis.context.Context` (services by id key)."""

    effective: dict[str, EffectivePolicies] | None = None
    analysers: dict[str, InboundAnalyser] = field(default_factory=dict)
    citations: dict[tuple[int, int], PolicyCitation] = field(default_factory=dict)
    requested: dict[str, bool | None] = field(default_factory=dict)
    verdict_coverage: dict[int, PathCoverage | None] = field(default_factory=dict)
    path_coverage: dict[tuple[str, ...], PathCoverage] = field(default_factory=dict)
    coverage_rows: list[dict[str, Any]] | None = None
    layers: dict[str, tuple[Layer, ...]] = field(default_factory=dict)
    pins: dict[str, tuple[tuple[Layer, DocumentPins], ...]] = field(default_factory=dict)
    response_writes: dict[str, tuple[ResponseWrite, ...]] = field(default_factory=dict)
    inbound_paths: dict[str, tuple[InboundPath, ...]] = field(default_factory=dict)
    path_groups: dict[str, tuple[PathGroup, ...]] = field(default_factory=dict)
