"""MTLS-GW-06: self-hosted gateways negotiate client certificates over TLS 1.2+."""

from __future__ import annotations

from collections.abc import Iterator

from mtls_audit import api


@api.rule(id="MTLS-GW-06", severity=api.Severity.MEDIUM, needs=("gateways",))
def self_hosted_gateway_negotiation(
    svc: api.ServiceModel, ctx: api.Context
) -> Iterator[api.Result]:
    """Self-hosted gateways negotiate client certificates and refuse TLS 1.0/1.1.

    What it checks:
        Every hostname entity of a self-hosted gateway has ``negotiateClientCertificate``
        true and neither ``tls10Enabled`` nor ``tls11Enabled`` true. A gateway with no
        hostname entity fails. Not applicable when there are no self-hosted gateways.

    Why it matters:
        Self-hosted gateways carry the same APIs outside Azure; a hostname that does not
        negotiate serves them without client certificates.

    Example of a failing configuration:
        A gateway hostname ``onprem.contoso.example`` with ``negotiateClientCertificate: false``
        and ``tls10Enabled: true``.

    What passes:
        Every gateway hostname negotiating, TLS 1.0 and 1.1 off.

    How to fix:
        portal: Gateways > gateway > Hostnames > each hostname: enable 'Negotiate client
            certificate', disable TLS 1.0 and TLS 1.1.
        cli: az rest --method put …/gateways/GW/hostnameConfigurations/NAME with
            negotiateClientCertificate: true, tls10Enabled: false, tls11Enabled: false
        arm: Microsoft.ApiManagement/service/gateways/hostnameConfigurations:
            negotiateClientCertificate: true, tls10Enabled: false, tls11Enabled: false
        terraform: azurerm_api_management_gateway_host_name_configuration:
            request_client_certificate_enabled = true, tls10_enabled = false, tls11_enabled = false

    References:
        https://learn.microsoft.com/rest/api/apimanagement/gateway-hostname-configuration
    """
    if not svc.gateways:
        yield api.not_applicable(
            svc.id, f"{svc.service.name} has no self-hosted gateways.", name=svc.service.name
        )
        return
    for gateway in svc.gateways:
        hosts = [h for h in svc.gateway_hostnames if h.gateway_id.lower() == gateway.id.lower()]
        if not hosts:
            if ctx.gaps_about(subject=gateway.id):
                yield api.indeterminate(
                    gateway.id,
                    f"Self-hosted gateway {gateway.name}: its "
                    "hostname configurations were not collected.",
                    name=gateway.name,
                )
            else:
                yield api.failed(
                    gateway.id,
                    f"Self-hosted gateway {gateway.name} has no "
                    "hostname configuration that negotiates client certificates.",
                    name=gateway.name,
                )
        for host in hosts:
            props = host.props
            problems: list[str] = []
            cites: list[api.Citation] = []
            negotiate = props.flag("negotiateClientCertificate")
            if negotiate is not True:
                problems.append("does not negotiate client certificates")
                cites.append(props.cite("negotiateClientCertificate"))
            for flag, label in (("tls10Enabled", "TLS 1.0"), ("tls11Enabled", "TLS 1.1")):
                if props.flag(flag) is True:
                    problems.append(f"allows {label}")
                    cites.append(props.cite(flag))
            label = (
                f"Self-hosted gateway {gateway.name}, hostname "
                f"{props.text('hostname') or host.name}"
            )
            if problems:
                yield api.failed(
                    host.id, f"{label} " + " and ".join(problems) + ".", *cites, name=host.name
                )
            else:
                yield api.passed(
                    host.id,
                    f"{label} negotiates client certificates over TLS 1.2+.",
                    props.cite("negotiateClientCertificate"),
                    name=host.name,
                )
