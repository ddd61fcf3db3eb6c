"""Helpers shared by the policy rules: who a result is about, and how results are keyed.

Rules that judge the effective policy report per API and product path (per operation when the
operations of an API differ on that path); rules that judge what one document says report per
document, or per element of it (key: the document's label and the element's line).
"""

from __future__ import annotations

from collections.abc import Callable, Generator, Iterable, Iterator
from dataclasses import dataclass, replace
from itertools import chain

from mtls_audit import api
from mtls_audit.api.certificates import DistinguishedNameError, parse_dn
from mtls_audit.api.policy import (
    REDACTED,
    EffectiveNode,
    Layer,
    Pin,
    PinSite,
    document_elements,
    escaped,
    find_placeholders,
    secret_attribute,
)

from ._common import uncollected


def policies_uncollected(ctx: api.Context, svc: api.ServiceModel) -> list[api.Result]:
    """An indeterminate result when the service's policies, or what places them (APIs,
    operations, products and their links, fragments, named values), were not fully collected:
    a policy rule must not pass what it could not read."""
    return list(uncollected(ctx, svc, *api.POLICY_NEEDS))


def document_subject(layer: Layer) -> str:
    """What a result about a document is about: the scope it is attached to (the service for
    the global policy), or the fragment itself."""
    return layer.origin.resource_id if layer.origin.kind.value == "fragment" else layer.scope_id


def dn_key(text: str | None) -> frozenset[tuple[str, str]] | None:
    """A distinguished name as a set of (attribute OID, case-folded value) pairs, whatever its
    form and order, to tell whether two names mean the same; None when it is not a DN."""
    if not text:
        return None
    try:
        parsed = parse_dn(text)
    except DistinguishedNameError:
        return None
    return frozenset((oid, value.casefold()) for rdn in parsed.rdns for oid, value in rdn)


def is_literal(value: str) -> bool:
    """Text written as is: not a policy expression, no named value or deployment placeholder."""
    return value.lstrip()[:2] not in ("@(", "@{") and not find_placeholders(value)


def authentication_certificates(
    ctx: api.Context, svc: api.ServiceModel
) -> Iterator[tuple[Layer, EffectiveNode]]:
    """Every ``authentication-certificate`` element written in the service's documents."""
    for layer in ctx.policy_layers(svc):
        for node in document_elements(layer, "authentication-certificate"):
            yield layer, node


def redacted_place(node: EffectiveNode) -> api.PolicyCitation:
    """The element's citation with its secret attributes masked, expressions too (an
    ``authentication-certificate`` may hold a key and its password in clear)."""
    attrs = tuple(
        replace(attr, value=REDACTED) if secret_attribute(node.node.tag, attr.name) else attr
        for attr in node.node.attrs
    )
    masked = EffectiveNode(replace(node.node, attrs=attrs), node.origin, node.via, ())
    return api.PolicyCitation(*masked.place())


def site_key(label: str, line: int) -> str:
    return f"{label}:{line}"


def last_name(resource_id: str) -> str:
    return resource_id.rstrip("/").rsplit("/", 1)[-1]


def shown_pin(pin: Pin) -> str:
    """A pin for a message: its field, its value with invisible characters escaped, and the
    named values it was read through."""
    if pin.value is None:
        return f"{pin.field.value} {escaped(pin.written)} (its value is not in the snapshot)"
    via = f" (from {', '.join('{{' + n + '}}' for n in pin.named_values)})"
    return f'{pin.field.value} "{escaped(pin.value)}"' + (via if pin.named_values else "")


def policy_gaps(
    ctx: api.Context, svc: api.ServiceModel, what: str
) -> Generator[api.Result, None, bool]:
    """Yield what stops a walk of the service's policies (they were not all collected) or
    leaves ``what`` unjudged in a document that cannot be read; return whether the walk can
    go on."""
    blocked = policies_uncollected(ctx, svc)
    yield from blocked
    if blocked:
        return False
    yield from unreadable_documents(ctx, svc, what)
    return True


def unreadable_documents(
    ctx: api.Context, svc: api.ServiceModel, what: str, kinds: tuple[str, ...] = ()
) -> Iterator[api.Result]:
    """An indeterminate result for each policy document that cannot be read (of the given
    origin kinds, e.g. ``fragment``; all kinds by default)."""
    for layer in ctx.policy_layers(svc):
        if layer.document is None and (not kinds or layer.origin.kind.value in kinds):
            reason = layer.problem.message if layer.problem else "it cannot be read"
            yield api.indeterminate(
                document_subject(layer),
                f"{layer.origin.label}: {what} cannot be judged: {reason}.",
                api.PolicyCitation(layer.origin.resource_id, layer.origin.label, 0, ""),
                key=layer.origin.label,
                name=layer.origin.label,
            )


def per_service(
    ctx: api.Context,
    svc: api.ServiceModel,
    what: str,
    judge: Callable[[api.ServiceModel], Iterable[api.Result]],
    none: str,
    kinds: tuple[str, ...] = (),
) -> Iterator[api.Result]:
    """The frame of the rules that judge what a service's policy documents say.

    The rule declares ``needs=POLICY_NEEDS``, so the engine judges only services whose
    policies were collected; each of their unreadable documents (of ``kinds``, all by default)
    is indeterminate about ``what``, then come ``judge(service)``'s results, and when there is
    none at all the service is not applicable with the message ``none`` (``{name}``: the
    service's name).
    """
    judged = False
    for result in chain(unreadable_documents(ctx, svc, what, kinds), judge(svc)):
        judged = True
        yield result
    if not judged:
        yield api.not_applicable(svc.id, none.format(name=svc.service.name), name=svc.service.name)


@dataclass(frozen=True)
class PinWalk:
    """What a rule judging pinned literals (thumbprints, names) looks for in each document.

    ``what`` names the literals in messages about unreadable documents; ``chosen`` picks the pins
    of a site the rule judges; ``unreadable_words`` picks, by the words in their text, the
    expressions the analyser could not read that may hold such literals (``unreadable`` says
    what they may do, e.g. "comparing a thumbprint"); ``none`` is the not-applicable message
    (see :func:`per_service`).
    """

    what: str
    chosen: Callable[[Pin], bool]
    none: str
    unreadable_words: tuple[str, ...] = ()
    unreadable: str = ""


def judge_pin_sites(
    ctx: api.Context,
    svc: api.ServiceModel,
    walk: PinWalk,
    judge: Callable[[str, PinSite, list[Pin]], api.Result],
) -> Iterator[api.Result]:
    """Each element with pins the rule judges (``judge(subject, site, pins)``) and each
    unreadable expression that may hold some, in the frame of :func:`per_service`."""

    def sites(svc: api.ServiceModel) -> Iterator[api.Result]:
        for layer, pins in ctx.policy_pins(svc):
            subject = document_subject(layer)
            for site in pins.sites:
                chosen = [pin for pin in site.pins if walk.chosen(pin)]
                if chosen:
                    yield judge(subject, site, chosen)
            for expression in pins.unreadable:
                lowered = expression.text.lower()
                if any(word in lowered for word in walk.unreadable_words):
                    label = layer.origin.label
                    yield api.indeterminate(
                        subject,
                        f"{label} line {expression.line}: an expression {walk.unreadable} "
                        f"cannot be read ({expression.message}).",
                        api.PolicyCitation(
                            layer.origin.resource_id, label, expression.line, expression.text[:120]
                        ),
                        key=site_key(label, expression.line),
                        name=label,
                    )

    return per_service(ctx, svc, walk.what, sites, walk.none)


def judge_literal_forms(
    subject: str,
    site: PinSite,
    pins: list[Pin],
    wrong: list[str],
    passes: str,
    severity: api.Severity | None = None,
) -> api.Result:
    """A pin site's result on how its literals are written, cited at the element: failed
    listing what is ``wrong`` (at ``severity``, else the rule's), indeterminate for pins whose
    value is unknown, else passed saying ``passes`` of the pins."""
    label = site.origin.label
    where = f"{label} line {site.line}"
    cite = api.PolicyCitation(*site.place())
    key = site_key(label, site.line)
    if wrong:
        message = f"{where}: {'; '.join(wrong)}."
        return api.failed(subject, message, cite, key=key, severity=severity, name=label)
    unknown = [shown_pin(pin) for pin in pins if pin.value is None]
    if unknown:
        message = f"{where}: {'; '.join(unknown)}."
        return api.indeterminate(subject, message, cite, key=key, name=label)
    shown = "; ".join(shown_pin(pin) for pin in pins)
    return api.passed(subject, f"{where}: {shown}: {passes}.", cite, key=key, name=label)
