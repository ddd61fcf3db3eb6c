"""MTLS-IN-11: thumbprints shared by several APIs live in named values, not in shared text."""

from __future__ import annotations

from collections.abc import Iterator

from mtls_audit import api
from mtls_audit.api.policy import Effective, Layer, PinSite

from .. import _guide
from .._policy import document_subject, last_name, per_service, shown_pin

_SHARED_KINDS = ("fragment", "global")
_SECTIONS = ("inbound", "backend", "outbound", "on-error")


@api.rule(
    id="MTLS-IN-11",
    severity=api.Severity.LOW,
    guide=_guide.VALIDATE_IN_POLICY,
    needs=api.POLICY_NEEDS,
)
def shared_fragment_pins(svc: api.ServiceModel, ctx: api.Context) -> Iterator[api.Result]:
    """Shared policies keep thumbprints in named values.

    What it checks:
        Each policy fragment, and the global policy, that compares client certificates with
        thumbprints: it fails when a thumbprint is written as a literal in its text (not read
        from a ``{{named value}}``) and the document reaches more than one API, counting the
        APIs whose effective policy, on any product path, contains the element holding the
        thumbprint. Documents that pin through named values, or reach a single API, pass. Not
        applicable when no shared document pins a thumbprint.

    Why it matters:
        A thumbprint hard-coded in shared policy text must be edited in that text, and
        redeployed for every API using it, each time a client renews its certificate; a
        named value is changed once, audited on its own, and kept out of the policy diff.

    Example of a failing configuration:
        A fragment included by two APIs with
        ``context.Request.Certificate.Thumbprint != "37E87A4CC05004D5C6ED1DDCFC2BFE800255F3C2"``.

    What passes:
        The same fragment comparing with ``"{{northwind-clinics-thumbprint}}"``.

    How to fix:
        portal: Named values > Add: one named value per allowed thumbprint (or a list); in the
            fragment, compare with {{name}}.
        cli: az apim nv create -g RG --service-name APIM --named-value-id client-thumbprints
            --display-name client-thumbprints --value 'AB12…'
        arm: Microsoft.ApiManagement/service/namedValues with the thumbprints; the fragment reads
            {{client-thumbprints}}
        terraform: azurerm_api_management_named_value with the thumbprints, referenced from the
            fragment's xml_content
        policy: context.Request.Certificate.Thumbprint != "{{partner-thumbprint}}"

    References:
        https://learn.microsoft.com/azure/api-management/api-management-howto-mutual-certificates-for-clients
        https://learn.microsoft.com/azure/api-management/api-management-howto-properties
    """

    def judged(svc: api.ServiceModel) -> Iterator[api.Result]:
        apis_of = _apis_by_element(ctx, svc)
        for layer, pins in ctx.policy_pins(svc):
            if layer.origin.kind.value not in _SHARED_KINDS:
                continue
            sites = [s for s in pins.sites if any(p.field.is_thumbprint for p in s.pins)]
            if sites:
                yield _judge(layer, sites, apis_of)

    yield from per_service(
        ctx,
        svc,
        "thumbprint pins",
        judged,
        "No fragment or global policy of {name} pins a thumbprint.",
        _SHARED_KINDS,
    )


def _judge(layer: Layer, sites: list[PinSite], apis_of: dict[int, set[str]]) -> api.Result:
    label = layer.origin.label
    subject = document_subject(layer)
    cites = [api.PolicyCitation(*site.place()) for site in sites]
    pins = [pin for site in sites for pin in site.pins if pin.field.is_thumbprint]
    literal = [shown_pin(pin) for pin in pins if pin.hard_coded]
    apis = sorted({a for site in sites for a in apis_of.get(id(site.node), ())})
    named = f" ({', '.join(last_name(a) for a in apis)})" if apis else ""
    reach = f"reaches {api.plural(len(apis), 'API')}{named}"
    if not literal:
        message = f"{label} pins thumbprints through named values only; it {reach}."
        return api.passed(subject, message, *cites, name=label)
    if len(apis) > 1:
        message = (
            f"{label} hard-codes {api.plural(len(literal), 'thumbprint')} "
            f"({'; '.join(literal)}) and "
            f"{reach}: renewing a client certificate means editing shared policy text."
        )
        return api.failed(subject, message, *cites, name=label)
    return api.passed(subject, f"{label} hard-codes thumbprints but {reach}.", *cites, name=label)


def _apis_by_element(ctx: api.Context, svc: api.ServiceModel) -> dict[int, set[str]]:
    """The APIs whose effective policy (on some path) contains each parsed element, by the
    element's identity."""
    apis: dict[str, set[str]] = {}
    distinct: dict[str, Effective] = {}
    for path, effective in ctx.effective_policies(svc).paths():
        apis.setdefault(effective.key, set()).add(path.api_id)
        distinct[effective.key] = effective
    found: dict[int, set[str]] = {}
    for key, effective in distinct.items():
        for element in _elements(effective):
            found.setdefault(element, set()).update(apis[key])
    return found


def _elements(effective: Effective) -> set[int]:
    return {id(node.node) for name in _SECTIONS for node in effective.section(name).iter()}
