"""MTLS-GW-03: every custom gateway hostname negotiates client certificates."""

from __future__ import annotations

from collections.abc import Iterator

from mtls_audit import api
from mtls_audit.api.certificates import Hostname

from .. import _guide
from .._common import classic_only, hostnames_unknown


@api.rule(
    id="MTLS-GW-03",
    severity=api.Severity.HIGH,
    guide=_guide.REQUEST_CERTIFICATES,
    subject=api.subjects.Hostname.where(
        lambda host: host.is_proxy and not host.is_builtin,
        absent="{name} has no custom gateway hostname (see MTLS-GW-02).",
    ).unless(
        lambda svc, ctx: (
            classic_only(svc, "per-hostname negotiation")
            or hostnames_unknown(svc, "per-hostname negotiation")
        )
    ),
)
def every_gateway_hostname_negotiates(host: Hostname, ctx: api.Context) -> Iterator[api.Result]:
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
    svc = ctx.service_of(host.view.resource_id)
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
