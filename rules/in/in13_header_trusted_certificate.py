"""MTLS-IN-13: no check trusts a certificate or thumbprint a client can write into a header."""

from __future__ import annotations

from mtls_audit import api

from .._validation import Judged, listed, validation_rule


@validation_rule(
    id="MTLS-IN-13",
    severity=api.Severity.HIGH,
    guide="beyond",
    subject=api.subjects.ApiPath.where(
        lambda path: bool(path.verdict.header_reads),
        absent="No policy of {name} reads a client certificate or thumbprint from a request "
        "header.",
    ),
)
def header_trusted_certificate(item: Judged) -> api.Result:
    """No check trusts a client certificate read from a request header.

    What it checks:
        For every API (or operation) and product path: a check that reads a client
        certificate or thumbprint from a request header (``X-ARR-ClientCert``,
        ``X-ARR-ClientCertThumbprint``, ``X-Client-Certificate``, any header whose name speaks
        of a certificate or thumbprint) fails unless the header is deleted earlier in the
        effective inbound policy (``<set-header exists-action="delete">``) or the instance is
        reachable only inside its virtual network (``virtualNetworkType`` Internal), which
        then passes on the assumption that only the proxy in front of it reaches it. APIs that
        read no certificate header get no result; a service where none does is not applicable.
        Judged whether or not the gateway itself requests client certificates.

    Why it matters:
        Anyone who can call the gateway directly can send the header: a certificate is public,
        so a copy of a trusted client's certificate (or its thumbprint) in the header passes
        a check that the TLS handshake would never have let through.

    Example of a failing configuration:
        ``context.Request.Headers.GetValueOrDefault("X-ARR-ClientCertThumbprint", "") !=
        "…"`` on an instance with a public gateway.

    What passes:
        The same check on an instance in an internal virtual network, or one that validates
        ``context.Request.Certificate``.

    How to fix:
        portal: Validate context.Request.Certificate on the gateway itself (negotiate client
            certificates on its hostname); if a proxy in front must pass the certificate on, make
            APIM reachable only through it (internal virtual network) and strip the header from
            client requests at the proxy.
        cli: az apim update … --virtual-network Internal; App Gateway rewrite rules that delete the
            incoming X-ARR-ClientCert header
        arm: service: properties.virtualNetworkType: 'Internal'
        terraform: azurerm_api_management.virtual_network_type = "Internal"
        policy: <set-header name="X-ARR-ClientCert" exists-action="delete" /> before any trusted
            proxy sets it, or validate-client-certificate

    References:
        https://learn.microsoft.com/azure/application-gateway/rewrite-http-headers-url#mutual-authentication-server-variables
        https://learn.microsoft.com/azure/api-management/api-management-using-with-internal-vnet
    """
    reads = item.verdict.header_reads
    exposed = [r for r in reads if r.deleted_by is None]
    headers = ", ".join(dict.fromkeys(r.header for r in exposed or reads))
    if not exposed:
        deletes = [r.deleted_by for r in reads if r.deleted_by is not None]
        return item.passed(
            f"the {headers} header is deleted ({listed(deletes)}) before it is read.",
            *item.cite([*deletes, *(r.node for r in reads)]),
        )
    service = item.svc.service
    network = service.props.cite("virtualNetworkType")
    if (service.virtual_network_type or "").lower() == "internal":
        return item.passed(
            f"the check trusts the {headers} header ({listed(r.node for r in exposed)}), and "
            f"{service.name} is reachable only inside its virtual network (virtualNetworkType "
            "Internal): this assumes only the proxy that sets the header reaches it.",
            *item.cite(r.node for r in exposed),
            network,
        )
    reach = service.virtual_network_type or "None"
    return item.failed(
        f"the check trusts the {headers} header ({listed(r.node for r in exposed)}) without "
        f"deleting it first, and {service.name} is reachable directly (virtualNetworkType "
        f"{reach}): a client can write any certificate or thumbprint into the header.",
        *item.cite(r.node for r in exposed),
        network,
    )
