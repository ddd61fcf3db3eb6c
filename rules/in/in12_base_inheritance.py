"""MTLS-IN-12: inbound sections keep ``<base/>`` so broader validation still applies."""

from __future__ import annotations

import re
from collections.abc import Iterator

from mtls_audit import api
from mtls_audit.api.policy import (
    Effective,
    EffectiveNode,
    EffectiveSection,
    Layer,
    document_elements,
)

from .. import _guide
from .._policy import document_subject, per_service

_SCOPES = ("workspace", "product", "api", "operation")
_READS_CERTIFICATE = re.compile(r"context\s*\.\s*Request\s*\.\s*Certificate\b")


@api.rule(
    id="MTLS-IN-12",
    severity=api.Severity.HIGH,
    guide=_guide.VALIDATE_IN_POLICY,
    needs=api.POLICY_NEEDS,
)
def base_inheritance(svc: api.ServiceModel, ctx: api.Context) -> Iterator[api.Result]:
    """Inbound sections keep <base/> where broader scopes validate.

    What it checks:
        Every non-global policy document (workspace, product, API, operation) keeps
        ``<base/>`` as a direct child of its ``<inbound>`` section. A section without it drops
        the inbound policies of the broader scopes; this fails at high severity when what it
        drops, on some product path, holds validation, and at low severity otherwise (nothing
        is lost today, but validation added later at a broader scope will not apply). "Holds
        validation" is kept simple: the dropped section contains
        ``validate-client-certificate``, or a ``<when>`` condition or ``<set-variable>`` value
        that reads ``context.Request.Certificate``. A ``<base/>`` inside the ``<when>`` and
        ``<otherwise>`` branches of a ``<choose>`` keeps it when every branch holds one, and
        fails like a dropped ``<base/>`` when some branch does not (requests taking that branch
        skip the broader scopes). A document without an ``<inbound>`` section
        passes, unless broader scopes validate: whether APIM then applies them is undocumented,
        so that is indeterminate. The result names the scope, and the line of its
        ``<inbound>``; unreadable documents are indeterminate.

    Why it matters:
        One API or operation that replaces its inbound section without ``<base/>`` silently
        switches off the gateway-wide certificate validation for that API, while every other
        API keeps it: a reviewer reading the global policy sees mutual TLS enforced.

    Example of a failing configuration:
        An operation policy ``<inbound><cache-lookup … /></inbound>`` under an API that keeps
        a global ``validate-client-certificate``.

    What passes:
        ``<inbound><base /><cache-lookup … /></inbound>``

    How to fix:
        portal: APIs > API or operation > Inbound processing > code view: put <base /> back as the
            first element of <inbound>.
        cli: az rest --method put …/policies/policy?api-version=2024-05-01 with <base /> in
            <inbound>; policyRestrictions (requireBase) makes APIM enforce it
        arm: policies: properties.value with <inbound><base />…</inbound>;
            Microsoft.ApiManagement/service/policyRestrictions requireBase: 'true'
        terraform: azurerm_api_management_api_policy.xml_content with <base /> in <inbound>
        policy: <inbound><base /><!-- scope-specific policies --></inbound>

    References:
        https://learn.microsoft.com/azure/api-management/set-edit-policies#use-base-element-to-set-policy-evaluation-order
        https://learn.microsoft.com/azure/api-management/validate-client-certificate-policy
    """

    def judged(svc: api.ServiceModel) -> Iterator[api.Result]:
        parents = _parents(ctx, svc)
        for layer in ctx.policy_layers(svc):
            if layer.document is not None and layer.origin.kind.value in _SCOPES:
                yield _judge(layer, parents.get(layer.origin.resource_id.lower(), []))

    yield from per_service(
        ctx,
        svc,
        "<base/> inheritance",
        judged,
        "{name} has no policy below the global scope.",
        _SCOPES,
    )


def _parents(ctx: api.Context, svc: api.ServiceModel) -> dict[str, list[EffectiveSection]]:
    """For each policy document, the effective inbound sections it sits on (one per path)."""
    found: dict[str, list[EffectiveSection]] = {}
    done: set[str] = set()
    for _path, effective in ctx.effective_policies(svc).paths():
        current: Effective | None = effective
        while current is not None and current.parent is not None and current.key not in done:
            done.add(current.key)
            if current.layer is not None:
                key = current.layer.origin.resource_id.lower()
                found.setdefault(key, []).append(current.parent.inbound)
            current = current.parent
    return found


def _validation(section: EffectiveSection) -> list[EffectiveNode]:
    """The elements that make a section "hold validation" (see the rule's docstring)."""
    return [
        node
        for node in section.iter()
        if node.tag == "validate-client-certificate"
        or (node.tag == "when" and _READS_CERTIFICATE.search(node.attr("condition") or ""))
        or (node.tag == "set-variable" and _READS_CERTIFICATE.search(node.attr("value") or ""))
    ]


def _judge(layer: Layer, parents: list[EffectiveSection]) -> api.Result:
    label = layer.origin.label
    subject = document_subject(layer)
    found = (node for section in parents for node in _validation(section))
    validating = list({(n.origin.resource_id, n.line, n.tag): n for n in found}.values())
    sections = document_elements(layer, "inbound")
    if not sections:
        if validating:
            return api.indeterminate(
                subject,
                f"{label} has no <inbound> section: whether APIM then applies the broader "
                f"scopes' validation ({_describe(validating)}) is undocumented.",
                *_cites(validating),
                name=label,
            )
        return api.passed(subject, f"{label} has no <inbound> section of its own.", name=label)
    inbound = sections[0]
    base = next((child for child in inbound.children if child.tag == "base"), None)
    if base is not None:
        message = f"{label} inbound keeps <base/> (line {base.line})."
        return api.passed(subject, message, api.PolicyCitation(*base.place()), name=label)
    branched = _branched_base(inbound)
    if branched is not None:
        choose, everywhere = branched
        place = api.PolicyCitation(*choose.place())
        if everywhere:
            message = (
                f"{label} inbound keeps <base/> in every branch of <choose> (line {choose.line})."
            )
            return api.passed(subject, message, place, name=label)
        where = (
            f"{label} inbound keeps <base/> only in some branches of <choose> (line "
            f"{choose.line}), so requests taking the others skip the broader scopes"
        )
        if validating:
            message = f"{where}' validation: {_describe(validating)}."
            return api.failed(subject, message, place, *_cites(validating), name=label)
        message = f"{where}' inbound policies."
        return api.failed(subject, message, place, severity=api.Severity.LOW, name=label)
    where = f"{label} inbound (line {inbound.line}) has no <base/>"
    cites = (api.PolicyCitation(*inbound.place()), *_cites(validating))
    if validating:
        message = f"{where}: it drops the validation of broader scopes: {_describe(validating)}."
        return api.failed(subject, message, *cites, name=label)
    if any(section.problems for section in parents):
        message = (
            f"{where}: what it drops could not be read completely, so it may drop "
            "certificate validation."
        )
        return api.failed(subject, message, *cites, name=label)
    dropped = any(section.elements for section in parents)
    what = (
        "the inbound policies of broader scopes (none of which validates the certificate)"
        if dropped
        else "nothing today, but inbound policies later added at broader scopes"
    )
    message = f"{where}: it drops {what}."
    return api.failed(subject, message, *cites, severity=api.Severity.LOW, name=label)


def _branched_base(inbound: EffectiveNode) -> tuple[EffectiveNode, bool] | None:
    """The first ``<choose>`` that holds ``<base/>`` in a ``<when>`` or ``<otherwise>``, and
    whether every branch (an ``<otherwise>`` included) holds it."""
    for choose in (child for child in inbound.children if child.tag == "choose"):
        branches = [b for b in choose.children if b.tag in ("when", "otherwise")]
        holding = [b for b in branches if any(c.tag == "base" for c in b.children)]
        if holding:
            complete = any(b.tag == "otherwise" for b in branches)
            return choose, complete and len(holding) == len(branches)
    return None


def _describe(nodes: list[EffectiveNode]) -> str:
    return ", ".join(f"{node.origin.label} <{node.tag}> (line {node.line})" for node in nodes)


def _cites(nodes: list[EffectiveNode]) -> list[api.PolicyCitation]:
    return list(dict.fromkeys(api.PolicyCitation(*node.place()) for node in nodes))
