"""MTLS-GW-01: the gateway requests client certificates."""

from __future__ import annotations

from collections.abc import Iterator

from mtls_audit import api

from .. import _guide
from .._common import hostnames_unknown


@api.rule(id="MTLS-GW-01", severity=api.Severity.CRITICAL, guide=_guide.REQUEST_CERTIFICATES)
def client_certificates_requested(svc: api.ServiceModel, ctx: api.Context) -> Iterator[api.Result]:
    """The gateway requests client certificates.

    What it checks:
        Classic tiers (Developer, Basic, Standard, Premium, Isolated): at least one gateway
        (Proxy) hostname has ``negotiateClientCertificate`` true. Consumption and v2 tiers:
        ``enableClientCertificate`` is true. An unknown tier is indeterminate.

    Why it matters:
        Without it the gateway never asks the client for a certificate, so
        ``context.Request.Certificate`` is always null and no policy can authenticate the
        caller by certificate.

    Example of a failing configuration:
        A Premium service whose only Proxy hostnames have ``negotiateClientCertificate: false``
        (or omit it: the default is false).

    What passes:
        A Premium service with ``api.contoso.example`` negotiating client certificates; a
        Consumption service with ``enableClientCertificate: true``.

    How to fix:
        portal: Classic tiers: Custom domains > gateway hostname > enable 'Negotiate client
            certificate'. Consumption and v2 tiers: Custom domains > 'Request client certificate'.
        cli: az apim update -g RG -n NAME --enable-client-certificate true  (Consumption/v2); for
            classic tiers set hostnameConfigurations[].negotiateClientCertificate with az rest
            --method patch.
        arm: Classic: properties.hostnameConfigurations[?type=='Proxy'].negotiateClientCertificate:
            true. Consumption/v2: properties.enableClientCertificate: true.
        terraform: azurerm_api_management: hostname_configuration { proxy {
            negotiate_client_certificate = true } } (classic) or client_certificate_enabled = true
            (Consumption).

    References:
        https://learn.microsoft.com/azure/api-management/api-management-howto-mutual-certificates-for-clients
    """
    service = svc.service
    name = service.name
    unknown_hosts = hostnames_unknown(svc, "client certificate negotiation")
    if service.tier is api.Tier.CLASSIC and unknown_hosts:
        yield unknown_hosts
    elif service.tier is api.Tier.CLASSIC:
        proxies = [h for h in service.hostnames if h.is_proxy]
        yes = [h for h in proxies if h.negotiates is True]
        unknown = [h for h in proxies if h.negotiates is None]
        if yes:
            yield api.passed(
                svc.id,
                f"{name} negotiates client certificates on "
                + ", ".join(h.host_name for h in yes)
                + ".",
                *(h.view.cite("negotiateClientCertificate") for h in yes),
                name=name,
            )
        elif unknown:
            yield api.indeterminate(
                svc.id,
                f"{name}: negotiateClientCertificate cannot be read for "
                + ", ".join(h.host_name or "?" for h in unknown)
                + ".",
                *(h.view.cite("negotiateClientCertificate") for h in unknown),
                name=name,
            )
        else:
            yield api.failed(
                svc.id,
                f"{name} ({service.sku_name}) negotiates client certificates on none of its "
                f"{api.plural(len(proxies), 'gateway hostname')}.",
                *(h.view.cite("negotiateClientCertificate") for h in proxies),
                *(() if proxies else (service.props.cite("hostnameConfigurations"),)),
                name=name,
            )
    elif service.tier in (api.Tier.CONSUMPTION, api.Tier.V2):
        flag = service.props.flag("enableClientCertificate")
        cite = service.props.cite("enableClientCertificate")
        if flag is None and service.props.has("enableClientCertificate"):
            yield api.indeterminate(
                svc.id, f"{name}: enableClientCertificate cannot be read.", cite, name=name
            )
        elif flag:
            yield api.passed(svc.id, f"{name} requests client certificates.", cite, name=name)
        else:
            note = (
                " (for v2 tiers this is the documented Consumption setting; its v2 "
                "behaviour is not confirmed by Microsoft)"
                if service.tier is api.Tier.V2
                else ""
            )
            yield api.failed(
                svc.id,
                f"{name} ({service.sku_name}) does not request client certificates: "
                f"enableClientCertificate is {'absent' if flag is None else 'false'}{note}.",
                cite,
                name=name,
            )
    else:
        yield api.indeterminate(
            svc.id,
            f"{name}: the tier {service.sku_name!r} is unknown, so how it requests client "
            "certificates cannot be decided.",
            service.view.cite("sku"),
            name=name,
        )
