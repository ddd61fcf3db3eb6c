"""MTLS-TLS-03: weak cipher suites are off."""

from __future__ import annotations

from collections.abc import Iterator

from mtls_audit import api

from .._common import classic_only

WEAK = (
    "TripleDes168",
    "TLS_RSA_WITH_AES_128_CBC_SHA",
    "TLS_RSA_WITH_AES_256_CBC_SHA",
    "TLS_RSA_WITH_AES_128_CBC_SHA256",
    "TLS_RSA_WITH_AES_256_CBC_SHA256",
    "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA",
    "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA",
    "TLS_RSA_WITH_AES_128_GCM_SHA256",
)


@api.rule(id="MTLS-TLS-03", severity=api.Severity.MEDIUM)
def weak_ciphers_off(svc: api.ServiceModel, ctx: api.Context) -> Iterator[api.Result]:
    """Weak cipher suites are disabled.

    What it checks:
        On classic tiers, ``customProperties`` turn off ``Security.Ciphers.TripleDes168`` and
        the seven RSA-key-exchange / CBC suites APIM exposes. Absent keys follow the
        2018-04-01 creation-date default. Not applicable on Consumption and v2 tiers, where
        cipher settings are not supported.

    Why it matters:
        Triple DES and CBC suites without forward secrecy weaken the confidentiality of
        data in transit (NIST SC-13, HIPAA 164.312(e)(2)(ii)).

    Example of a failing configuration:
        ``"…Gateway.Security.Ciphers.TLS_RSA_WITH_AES_128_CBC_SHA": "True"``

    What passes:
        Every listed key ``"False"``.

    How to fix:
        portal: Protocols + ciphers > Ciphers: turn off Triple DES and the CBC / RSA key exchange
            suites.
        cli: az apim update -g RG -n NAME --set
            properties.customProperties.'Microsoft.WindowsAzure.ApiManagement.Gateway.Security.Ciphers.TripleDes168'=False
            …
        arm: properties.customProperties:
            {'Microsoft.WindowsAzure.ApiManagement.Gateway.Security.Ciphers.TripleDes168': 'False',
            '….TLS_RSA_WITH_AES_128_CBC_SHA': 'False', …}
        terraform: security { triple_des_ciphers_enabled =
            false  tls_rsa_with_aes128_cbc_sha_ciphers_enabled = false … }

    References:
        https://learn.microsoft.com/azure/api-management/api-management-howto-manage-protocols-ciphers
    """
    skip = classic_only(svc, "cipher configuration")
    if skip:
        yield skip
        return
    settings = [svc.service.protocol_setting(f"Security.Ciphers.{c}") for c in WEAK]
    enabled = [(c, s) for c, s in zip(WEAK, settings, strict=True) if s.enabled]
    unknown = [(c, s) for c, s in zip(WEAK, settings, strict=True) if s.enabled is None]
    name = svc.service.name
    if enabled:
        yield api.failed(
            svc.id,
            f"{name} allows weak cipher suites: " + ", ".join(c for c, _ in enabled) + ".",
            *(s.citation for _, s in enabled),
            name=name,
        )
    elif unknown:
        yield api.indeterminate(
            svc.id,
            f"{name}: cipher settings "
            + ", ".join(c for c, _ in unknown)
            + " are absent or unreadable "
            "and the creation date is unknown.",
            *(s.citation for _, s in unknown),
            name=name,
        )
    else:
        yield api.passed(
            svc.id,
            f"{name}: weak cipher suites are off.",
            *(s.citation for s in settings),
            name=name,
        )
