"""The context a rule judges in: the model, the assessment options, and the analyses of the
model that several rules read (computed once per run, on first use)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import cached_property

from mtls_audit.model.build import Gap, Model, ServiceModel
from mtls_audit.model.inventory import InventoryCertificate, certificate_inventory

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
    """One run's view for rules: the model, the options, and shared analyses."""

    def __init__(self, model: Model, options: Options | None = None) -> None:
        self.model = model
        self.options = options if options is not None else Options()

    @property
    def as_of(self) -> datetime:
        """The time certificates are judged at (the snapshot's, or the one asked for)."""
        return self.model.as_of

    @cached_property
    def certificate_inventory(self) -> tuple[InventoryCertificate, ...]:
        """Every certificate the snapshot shows (hostnames, CA store, entities, Key Vault)."""
        return certificate_inventory(self.model)

    def gaps_about(self, *collections: str, subject: str | None = None) -> tuple[Gap, ...]:
        """The snapshot's gaps about ``collections`` (all, when none named) of ``subject``."""
        return self.model.gaps_about(*collections, subject=subject)

    def missing(self, svc: ServiceModel, needs: tuple[str, ...]) -> str | None:
        """Why a rule needing ``needs`` cannot judge ``svc``: the first gap about them."""
        if not needs:
            return None
        gaps = self.gaps_about(*needs, subject=svc.id)
        if not gaps:
            return None
        return (
            f"{svc.service.name}: {', '.join(needs)} could not be collected completely "
            f"({gaps[0].message})."
        )
