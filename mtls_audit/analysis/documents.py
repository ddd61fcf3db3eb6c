"""Every policy document of a service, one by one, and the certificate pins written in each.

Rules that judge what a document says (a literal's format, a missing ``<base/>``) read the
documents themselves rather than the effective trees, so that a document no request reaches is
judged too. The documents are the effective machinery's layers (parsed once per run).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from mtls_audit.analysis.policies import effective_policies
from mtls_audit.model import ids
from mtls_audit.model.build import ServiceModel
from mtls_audit.policy.effective.merge import Layer
from mtls_audit.policy.effective.policies import workspace_of
from mtls_audit.policy.effective.tree import EffectiveNode, Origin, OriginKind
from mtls_audit.policy.inbound.pins import DocumentPins, document_pins
from mtls_audit.policy.parsing.tree import Node

if TYPE_CHECKING:
    from mtls_audit.analysis.context import Context


def policy_layers(ctx: Context, svc: ServiceModel) -> tuple[Layer, ...]:
    """The service's policy documents (every scope, then every fragment), as parsed layers
    (memoised)."""
    cache = ctx.memo.layers
    found = cache.get(ids.key(svc.id))
    if found is None:
        found = cache[ids.key(svc.id)] = _layers(ctx, svc)
    return found


def _layers(ctx: Context, svc: ServiceModel) -> tuple[Layer, ...]:
    effective = effective_policies(ctx, svc)
    layers = [
        effective.layer_at(policy.scope_id, OriginKind(policy.scope.value))
        for policy in svc.policies
    ]
    for fragment in svc.fragments:
        workspace = workspace_of(fragment.id)
        layers.append(effective.fragment(ids.last_name(fragment.id), workspace))
    found = {ids.key(layer.origin.resource_id): layer for layer in layers if layer is not None}
    return tuple(found.values())


def policy_pins(ctx: Context, svc: ServiceModel) -> tuple[tuple[Layer, DocumentPins], ...]:
    """Each readable policy document of the service with its certificate pins (memoised)."""
    cache = ctx.memo.pins
    found = cache.get(ids.key(svc.id))
    if found is None:
        named_values = effective_policies(ctx, svc).named_values
        by_text: dict[int, DocumentPins] = {}  # documents of one text are one parsed tree
        pinned = []
        for layer in policy_layers(ctx, svc):
            if layer.document is None:
                continue
            pins = by_text.get(id(layer.document))
            if pins is None:
                pins = by_text[id(layer.document)] = document_pins(layer, named_values)
            pinned.append((layer, pins.of(layer.origin)))
        found = cache[ids.key(svc.id)] = tuple(pinned)
    return found


def document_elements(layer: Layer, tag: str | None = None) -> tuple[EffectiveNode, ...]:
    """The elements of one document as written (fragments not expanded), depth-first, as
    effective nodes of that document: ``PolicyCitation(*node.place())`` cites them."""
    if layer.document is None:
        return ()
    if tag is None:
        return tuple(_as_node(layer.document.root, layer.origin).iter())
    # Only the elements asked for, each with its subtree, in the same order: most are few.
    return tuple(_as_node(node, layer.origin) for node in layer.document.root.iter(tag))


def _as_node(node: Node, origin: Origin) -> EffectiveNode:
    return EffectiveNode(
        node, origin, (), tuple(_as_node(child, origin) for child in node.children)
    )
