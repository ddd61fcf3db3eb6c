"""The effective policies of the model's services, computed once per run and shared.

Every policy rule asks the same questions of the same effective trees; this is where they are
computed once (parsing each distinct text once across all services).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from mtls_audit.model import ids
from mtls_audit.model.build import ServiceModel
from mtls_audit.policy.effective.policies import EffectivePolicies

if TYPE_CHECKING:
    from mtls_audit.analysis.context import Context


def effective_policies(ctx: Context, service: ServiceModel) -> EffectivePolicies:
    """The effective policies of one service (computed for every service on first use)."""
    cache = ctx.memo.effective
    if cache is None:
        model = ctx.model
        cache = ctx.memo.effective = EffectivePolicies.for_services(
            model.services, model.policy_parses
        )
    return cache[ids.key(service.id)]
