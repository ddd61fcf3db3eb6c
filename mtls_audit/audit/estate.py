"""Schedule targets that name an estate (``discover``), expanded into one target per instance.

Each discovery target is answered by Resource Graph (through the ``Discover`` callable the
caller gives, so that this module needs no Azure client) and replaced by one live target per
API Management instance found, named by the service's name (unique within a cloud; a clash with
another target gets the subscription's first block as a suffix), collecting just that service:
the requests per instance are those of a scan of that one instance. The order interleaves
subscriptions, so that workers waiting for one subscription's budget never hold up the others.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from itertools import chain, zip_longest
from typing import Any

from mtls_audit.audit.schedule import ScheduleConfig, Target
from mtls_audit.errors import MtlsAuditError
from mtls_audit.sources.azure.discovery import EstateScope

Discover = Callable[[EstateScope], Mapping[str, Any]]
"""Resource Graph's answer for a scope: ``instances``, ``gaps``, ``provenance``."""


@dataclass(frozen=True)
class Expanded:
    config: ScheduleConfig
    discoveries: dict[str, Mapping[str, Any]]  # by discovery target: what Resource Graph said


def expand(config: ScheduleConfig, discover: Discover) -> Expanded:
    """The configuration with each discovery target replaced by the instances it found.

    A discovery that fails as a whole (a refused token) is kept as a gap of its target, so the
    run says so and exits 3, and the other targets still run.
    """
    taken = {t.name.lower() for t in config.targets if t.discover is None}
    seen: set[str] = set()
    fixed = [t for t in config.targets if t.discover is None]
    found: list[Target] = []
    discoveries: dict[str, Mapping[str, Any]] = {}
    for target in config.targets:
        if target.discover is None:
            continue
        try:
            answer = discover(target.discover)
        except MtlsAuditError as exc:
            gap = {"kind": "discovery-failed", "subject": target.name, "message": str(exc)}
            answer = {"instances": [], "gaps": [gap], "provenance": {}}
        discoveries[target.name] = answer
        for instance in answer["instances"]:
            if instance["id"].lower() in seen:
                continue
            seen.add(instance["id"].lower())
            name = instance["name"]
            if name.lower() in taken:
                name = f"{name}-{instance['subscription'][:8]}"
            taken.add(name.lower())
            found.append(
                replace(
                    target,
                    name=name,
                    discover=None,
                    discovered_by=target.name,
                    subscriptions=(instance["subscription"],),
                    resource_groups=(instance["resource_group"],),
                    services=(instance["name"],),
                )
            )
    targets = tuple(fixed) + interleave(found)
    return Expanded(replace(config, targets=targets), discoveries)


def interleave(targets: list[Target]) -> tuple[Target, ...]:
    """One target of each subscription in turn (subscriptions and targets in name order)."""
    by_subscription: dict[str, list[Target]] = {}
    for target in sorted(targets, key=lambda t: t.name.lower()):
        key = target.subscriptions[0].lower() if target.subscriptions else ""
        by_subscription.setdefault(key, []).append(target)
    rounds = zip_longest(*(by_subscription[k] for k in sorted(by_subscription)))
    return tuple(t for t in chain.from_iterable(rounds) if t is not None)
