"""The effective policies of the model's services, computed once per model and shared.

Every policy rule asks the same questions of the same effective trees; this is where they are
computed once (parsing each distinct text once across all services) and kept with the model.
"""

from __future__ import annotations

from mtls_audit.model import ids
from mtls_audit.model.build import POLICY_PARSES, Model, ServiceModel
from mtls_audit.policy.effective import EffectivePolicies


def effective_policies(model: Model, service: ServiceModel) -> EffectivePolicies:
    """The memoised effective policies of one service of ``model``."""
    cache = model.memo.get("effective-policies")
    if cache is None:
        cache = EffectivePolicies.for_services(model.services, model.memo.get(POLICY_PARSES))
        model.memo["effective-policies"] = cache
    return cache[ids.key(service.id)]
