"""MTLS-GW-04: the built-in hostname, which never carries a certificate, bypasses no check."""

from __future__ import annotations

from collections.abc import Iterator

from mtls_audit import api
from mtls_audit.api.policy import Outcome

from .._common import tier_gate
from .._validation import Judged, service_verdicts


@api.rule(id="MTLS-GW-04", severity=api.Severity.HIGH)
def default_hostname_bypass(svc: api.ServiceModel, ctx: api.Context) -> Iterator[api.Result]:
    """The built-in gateway hostname does not bypass mutual TLS.

    What it checks:
        Classic tiers: the built-in ``*.azure-api.net`` gateway hostname cannot negotiate
        client certificates, so through it ``context.Request.Certificate`` is always null.
        The service fails when some API's effective inbound policy (on any operation and
        product path) does not reject a request without a TLS client certificate; the failing
        APIs are named and cited. Rejection by a null dereference (a 500) counts as
        rejection here (MTLS-IN-02 reports it). Not applicable on Consumption and v2 tiers,
        and where the gateway requests no client certificate at all (MTLS-GW-01).

    Why it matters:
        Mutual TLS configured on a custom domain protects nothing if the same APIs answer on
        the default hostname without a certificate.

    Example of a failing configuration:
        Custom hostname ``api.contoso.example`` negotiates; an operation policy without
        ``<base/>`` drops the global validation, so
        ``https://contoso.azure-api.net/scheduling/slots`` answers without a certificate.

    What passes:
        Every API rejects a missing certificate in its effective inbound policy.

    How to fix:
        portal: Reject requests without a certificate in policy (validate-client-certificate in the
            global inbound policy, kept by every scope through <base/>); where possible place APIM
            in an internal virtual network so the built-in hostname is not public.
        cli: az rest --method put …/service/NAME/policies/policy?api-version=2024-05-01 with
            validate-client-certificate in <inbound>
        arm: service/policies: properties.value with validate-client-certificate in <inbound>
        terraform: azurerm_api_management_policy.xml_content with validate-client-certificate in
            <inbound>
        policy: <validate-client-certificate validate-trust="true" validate-revocation="true" /> in
            the global <inbound>

    References:
        https://learn.microsoft.com/azure/api-management/api-management-howto-mutual-certificates-for-clients
        https://learn.microsoft.com/azure/api-management/configure-custom-domain
    """
    gate = tier_gate(
        svc,
        unknown=": whether its built-in hostname can carry a client certificate cannot be decided.",
        other=": the built-in hostname requests client certificates like any other "
        "(enableClientCertificate).",
    )
    if gate is not None:
        yield gate
        return
    found = service_verdicts(ctx, svc)
    yield found if isinstance(found, api.Result) else _judge(ctx, svc, found)


def _judge(ctx: api.Context, svc: api.ServiceModel, subjects: list[Judged]) -> api.Result:
    name = svc.service.name
    open_ = [i for i in subjects if i.verdict.tls_missing.outcome in _THROUGH]
    unknown = [
        i
        for i in subjects
        if i.verdict.problems or i.verdict.tls_missing.outcome is Outcome.UNDECIDABLE
    ]
    if open_:
        names = {a.id.lower(): a.display_name for a in svc.apis}
        apis: dict[str, list[str]] = {}
        for item in open_:
            title = names.get(item.api_id.lower(), item.subject.name)
            apis.setdefault(title, []).append(item.verdict.tls_missing.counterexample)
        shown = "; ".join(f"{title} ({reasons[0]})" for title, reasons in apis.items())
        through = [
            node
            for item in open_
            for node in (
                item.verdict.tls_missing.answered_by,
                *(c.node for c in item.verdict.tls_missing.conditions),
            )
            if node is not None
        ]
        evidence = [
            *ctx.cite_all(through),
            *(e for item in open_ for e in item.coverage.evidence),
        ]
        return api.failed(
            svc.id,
            f"{name}: through the built-in hostname, which never carries a client certificate, "
            f"{api.plural(len(apis), 'API')} {'answers' if len(apis) == 1 else 'answer'} "
            f"without one: {shown}.",
            *dict.fromkeys(evidence),
            name=name,
        )
    if unknown:
        labels = ", ".join(dict.fromkeys(i.subject.name for i in unknown))
        return api.indeterminate(
            svc.id,
            f"{name}: whether {labels} reject a request without a certificate cannot be decided.",
            name=name,
        )
    stops = [r.node for i in subjects for r in i.verdict.tls_missing.rejections]
    return api.passed(
        svc.id,
        f"{name}: every API rejects a request without a client certificate, so the built-in "
        "hostname bypasses nothing.",
        *ctx.cite_all(stops),
        name=name,
    )


_THROUGH = (Outcome.NEVER, Outcome.BYPASS)
