"""MTLS-GW-02: a custom gateway domain exists (classic tiers)."""

from __future__ import annotations

from collections.abc import Iterator

from mtls_audit import api

from .. import _guide
from .._common import classic_only, hostnames_unknown


@api.rule(id="MTLS-GW-02", severity=api.Severity.HIGH, guide=_guide.CUSTOM_DOMAIN)
def custom_gateway_domain(svc: api.ServiceModel, ctx: api.Context) -> Iterator[api.Result]:
    """A custom gateway domain exists.

    What it checks:
        On classic tiers, at least one gateway (Proxy) hostname is a custom domain, not the
        built-in ``*.azure-api.net`` host.

    Why it matters:
        Client-certificate negotiation is configured per custom hostname; the built-in host
        cannot negotiate, so without a custom domain no request carries a certificate.

    Example of a failing configuration:
        A Developer service with only ``contoso.azure-api.net``.

    What passes:
        A Proxy hostname ``api.contoso.example`` with its own TLS certificate.

    How to fix:
        portal: Custom domains > + Add > Type: Gateway, with a certificate from Key Vault.
        cli: az apim update with properties.hostnameConfigurations including a Proxy entry (az rest
            --method patch).
        arm: properties.hostnameConfigurations: [{type: 'Proxy', hostName: 'api.example.org',
            keyVaultId: 'https://kv.vault.azure.net/secrets/gateway', negotiateClientCertificate:
            true}]
        terraform: azurerm_api_management_custom_domain { gateway { host_name = ... key_vault_id =
            ... negotiate_client_certificate = true } }

    References:
        https://learn.microsoft.com/azure/api-management/configure-custom-domain
    """
    skip = classic_only(svc, "a custom gateway domain") or hostnames_unknown(
        svc, "a custom gateway domain"
    )
    if skip:
        yield skip
        return
    name = svc.service.name
    custom = [h for h in svc.service.hostnames if h.is_proxy and not h.is_builtin]
    if custom:
        yield api.passed(
            svc.id,
            f"{name} has {api.plural(len(custom), 'custom gateway hostname')}: "
            + ", ".join(h.host_name for h in custom)
            + ".",
            *(h.view.cite("hostName") for h in custom),
            name=name,
        )
    else:
        yield api.failed(
            svc.id,
            f"{name} has no custom gateway hostname; only the built-in *.azure-api.net host, "
            "which cannot negotiate client certificates.",
            svc.service.props.cite("hostnameConfigurations"),
            name=name,
        )
