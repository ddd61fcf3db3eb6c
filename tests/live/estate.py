"""An estate for the fake Azure: the test instance copied into several subscriptions, under
other service names, with tags to select by."""

from __future__ import annotations

import json
from dataclasses import replace

from .instance import SERVICE, SUBSCRIPTION, Instance, build_instance


def subscription_id(number: int) -> str:
    return f"{number:08x}-0000-4000-8000-{number:012x}"


def estate_instance(
    vault_url: str,
    subscription: str,
    service: str,
    *,
    tags: dict[str, str] | None = None,
    apis: int = 2,
    operations: int = 2,
) -> Instance:
    """The test instance (``instance.build_instance``) in ``subscription``, named ``service``."""
    base = build_instance(vault_url, apis=apis, operations=operations)
    text = json.dumps(base.resources).replace(SUBSCRIPTION, subscription)
    resources = json.loads(text.replace(f"/service/{SERVICE}", f"/service/{service}"))
    for resource in resources:
        if str(resource["type"]) == "Microsoft.ApiManagement/service":
            resource["name"] = service
            resource["tags"] = dict(tags or {})
    return replace(base, resources=resources)
