"""MTLS-GW-03: every custom gateway hostname negotiates client certificates."""

from __future__ import annotations

from collections.abc import Iterator

from mtls_audit import api

from .._common import classic_only, hostnames_unknown


@api.rule(
    id="MTLS-GW-03",
    severity=api.Severity.HIGH,
    topics=("client-certificates",),
    guide="Configure the gateway to request client certificates",
)
def every_gateway_hostname_negotiates(
    svc: api.ServiceModel, ctx: api.Context
) -> Iterator[api.Result]:
    """Every custom gateway hostname negotiates client certificates.

    What it checks:
        On classic tiers, each custom gateway (Proxy) hostname has
        ``negotiateClientCertificate`` true. One result per hostname.

    Why it matters:
        A secondary alias without negotiation gives ``context.Request.Certificate == null`` on
        that name: callers who use it skip certificate authentication, or are rejected at
        random depending on the name they use.

    Example of a failing configuration:
        ``api.contoso.example`` negotiates but its alias ``partners.contoso.example`` does not.

    What passes:
        Every custom Proxy hostname negotiating.

    How to fix:
        portal: Custom domains > each Gateway hostname > enable 'Negotiate client certificate'.
        cli: az rest --method patch on the service, setting negotiateClientCertificate: true for
            every Proxy entry of properties.hostnameConfigurations.
        arm: properties.hostnameConfigurations[?type=='Proxy'].negotiateClientCertificate: true on
            every entry.
        terraform: every hostname_configuration.proxy block: negotiate_client_certificate = true

    References:
        https://learn.microsoft.com/azure/api-management/api-management-howto-mutual-certificates-for-clients
    """
    skip = list(classic_only(svc, "per-hostname negotiation")) or list(
        hostnames_unknown(svc, "per-hostname negotiation")
    )
    if skip:
        yield from skip
        return
    custom = [h for h in svc.service.hostnames if h.is_proxy and not h.is_builtin]
    if not custom:
        yield api.not_applicable(
            svc.id,
            f"{svc.service.name} has no custom gateway hostname (see MTLS-GW-02).",
            svc.service.props.cite("hostnameConfigurations"),
            name=svc.service.name,
        )
    for host in custom:
        cite = host.view.cite("negotiateClientCertificate")
        label = f"{svc.service.name}: gateway hostname {host.host_name}"
        if host.negotiates is True:
            make, message = api.passed, f"{label} negotiates client certificates."
        elif host.negotiates is None:
            make, message = (
                api.indeterminate,
                f"{label}: negotiateClientCertificate cannot be read.",
            )
        else:
            make, message = (
                api.failed,
                f"{label} does not negotiate client certificates: requests through it carry no "
                "certificate.",
            )
        yield make(svc.id, message, cite, key=host.host_name.lower(), name=host.host_name)
