"""The context a rule judges in: the model, the assessment options, and the analyses of the
model that several rules read (each computed once per run, on first use, and typed)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from contextlib import suppress
from dataclasses import dataclass
from datetime import datetime
from functools import cached_property

from mtls_audit.analysis import coverage, documents, paths, policies
from mtls_audit.analysis.coverage import PathCoverage
from mtls_audit.analysis.memo import Memo
from mtls_audit.analysis.paths import ApiPath, InboundPath, Signature
from mtls_audit.model.build import Gap, Model, ServiceModel
from mtls_audit.model.cite import Evidence, PolicyCitation
from mtls_audit.model.inventory import InventoryCertificate, certificate_inventory
from mtls_audit.policy.disclosure.writes import ResponseWrite, response_writes
from mtls_audit.policy.effective.merge import Layer
from mtls_audit.policy.effective.policies import Effective, EffectivePolicies
from mtls_audit.policy.effective.tree import EffectiveNode
from mtls_audit.policy.inbound.pins import DocumentPins
from mtls_audit.policy.inbound.verdicts import InboundVerdict

POLICY_NEEDS = (
    "apis",
    "operations",
    "products",
    "apiLinks",
    "policies",
    "policyFragments",
    "namedValues",
)
"""The collections a rule judging policies needs: the policies and what places them."""


@dataclass(frozen=True)
class Options:
    """Assessment options a rule may read."""

    warning_days: int = 30
    notice_days: int = 60


class Context:
    """One run's view for rules: the model, the options, and the shared analyses.

    Every analysis is computed on first use and kept for the run: the effective policies of
    each service, the policy documents and their pins, the inbound certificate verdict of each
    effective policy, the coverage of each path, the response writes of each effective policy,
    and the certificate inventory.
    """

    def __init__(self, model: Model, options: Options | None = None) -> None:
        self.model = model
        self.options = options if options is not None else Options()
        self.memo = Memo()
        self.inbound_elsewhere = False

    @property
    def services(self) -> tuple[ServiceModel, ...]:
        return tuple(self.model.services)

    def service_of(self, resource_id: str) -> ServiceModel:
        """The service a resource belongs to (or is), by its ARM id."""
        key = resource_id.rstrip("/").lower()
        return next(
            svc
            for svc in self.model.services
            if key == svc.id.lower() or key.startswith(svc.id.lower() + "/")
        )

    @property
    def as_of(self) -> datetime:
        """The time certificates are judged at (the snapshot's, or the one asked for)."""
        return self.model.as_of

    def gaps_about(self, *collections: str, subject: str | None = None) -> tuple[Gap, ...]:
        """The snapshot's gaps about ``collections`` (all, when none named) of ``subject``."""
        return self.model.gaps_about(*collections, subject=subject)

    def missing(self, svc: ServiceModel, needs: Iterable[str]) -> str | None:
        """Why a rule needing ``needs`` cannot judge ``svc``: the first gap about them."""
        needs = tuple(needs)
        if not needs:
            return None
        gaps = self.gaps_about(*needs, subject=svc.id)
        if not gaps:
            return None
        return (
            f"{svc.service.name}: {', '.join(needs)} could not be collected completely "
            f"({gaps[0].message})."
        )

    @cached_property
    def certificate_inventory(self) -> tuple[InventoryCertificate, ...]:
        """Every certificate the snapshot shows (hostnames, CA store, entities, Key Vault)."""
        return certificate_inventory(self.model)

    def effective_policies(self, svc: ServiceModel) -> EffectivePolicies:
        """The effective policies of every path of the service."""
        return policies.effective_policies(self, svc)

    def policy_layers(self, svc: ServiceModel) -> tuple[Layer, ...]:
        """The service's policy documents (every scope, then every fragment), parsed."""
        return documents.policy_layers(self, svc)

    def policy_pins(self, svc: ServiceModel) -> tuple[tuple[Layer, DocumentPins], ...]:
        """Each readable policy document of the service with its certificate pins."""
        return documents.policy_pins(self, svc)

    def api_paths(self, svc: ServiceModel, signature: Signature | None = None) -> list[ApiPath]:
        """Each API on each product path (each operation where ``signature`` tells them
        apart, by default their effective policy)."""
        return list(paths.api_paths(self, svc, signature))

    def inbound_paths(self, svc: ServiceModel) -> tuple[InboundPath, ...]:
        """Each API (or operation, where verdicts differ) on each product path, with the
        client-certificate verdict of its inbound policy."""
        cache = self.memo.inbound_paths
        found = cache.get(svc.id)
        if found is None:
            if self.inbound_elsewhere:  # before the paths are walked for nothing
                raise coverage.InboundElsewhere
            found = cache[svc.id] = tuple(paths.inbound_paths(self, svc))
        return found

    def inbound_verdict(self, svc: ServiceModel, effective: Effective) -> InboundVerdict:
        """The client-certificate verdict of an effective policy's inbound section."""
        return coverage.inbound_verdict(self, svc, effective)

    def path_coverage(
        self,
        svc: ServiceModel,
        effective: Effective,
        api_id: str,
        operation_id: str | None = None,
        product_id: str | None = None,
    ) -> PathCoverage:
        """Whether one path validates the client certificate, and why."""
        return coverage.path_coverage(self, svc, effective, api_id, operation_id, product_id)

    def cite(self, node: EffectiveNode) -> PolicyCitation:
        """The citation of a policy element (its document, line and text)."""
        return coverage.policy_citation(self, node)

    def cite_all(self, nodes: Iterable[EffectiveNode]) -> tuple[Evidence, ...]:
        """The citations of ``nodes``, each once, in order."""
        return tuple(dict.fromkeys(self.cite(node) for node in nodes))

    def make_paths(self) -> None:
        """Enumerate now every service's paths with their effective policies, which most
        policy rules walk (see :mod:`mtls_audit.engine.fork`)."""
        self._made(lambda: [paths.path_groups(self, svc) for svc in self.services])

    def make_inbound(self) -> None:
        """Make now each path's inbound verdict, the costliest analysis, and the coverage
        table made of them (see :mod:`mtls_audit.engine.fork`)."""
        self._made(lambda: [self.inbound_paths(svc) for svc in self.services])
        self._made(lambda: coverage.coverage_rows(self))

    @staticmethod
    def _made(analysis: Callable[[], object]) -> None:
        """``analysis`` made ahead of the rules. What fails here is left to fail again where
        it is asked for, and reported there."""
        with suppress(Exception):  # reported by the rules (or the report) that ask again
            analysis()

    def leave_inbound(self) -> None:
        """From now on, asking this context for an inbound verdict raises
        :class:`~mtls_audit.analysis.coverage.InboundElsewhere`: another process makes them (see
        :mod:`mtls_audit.engine.fork`)."""
        self.inbound_elsewhere = True

    def response_writes(self, svc: ServiceModel, effective: Effective) -> tuple[ResponseWrite, ...]:
        """Every response write of an effective policy, in execution order."""
        cache = self.memo.response_writes
        found = cache.get(effective.key)
        if found is None:
            named_values = self.effective_policies(svc).named_values
            found = cache[effective.key] = response_writes(effective, named_values)
        return found
