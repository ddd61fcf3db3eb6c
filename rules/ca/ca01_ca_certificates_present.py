"""MTLS-CA-01: where policies rely on chain trust, CA certificates are uploaded."""

from __future__ import annotations

from collections.abc import Iterator

from mtls_audit import api

from .. import _guide
from .._common import tier_gate
from .._validation import Judged, listed, service_verdicts


@api.rule(id="MTLS-CA-01", severity=api.Severity.HIGH, guide=_guide.UPLOAD_CA)
def ca_certificates_present(svc: api.ServiceModel, ctx: api.Context) -> Iterator[api.Result]:
    """CA certificates are uploaded where policies verify the chain.

    What it checks:
        Classic tiers whose effective inbound policies rely on chain trust
        (``Verify()``, ``VerifyNoRevocation()``, or ``validate-client-certificate`` with
        ``validate-trust`` not false): at least one CA certificate is uploaded to the
        service's CA store (``properties.certificates``). Not applicable when no policy
        relies on chain trust, and on Consumption and v2 tiers, which have no CA store:
        there MTLS-IN-05 must pin client identities instead.

    Why it matters:
        A privately issued or self-signed client certificate only chains to a root that the
        gateway knows: without the CA upload every chain check fails, and the usual reaction,
        switching the check off, removes mutual TLS altogether.

    Example of a failing configuration:
        A Premium service whose global policy holds ``<validate-client-certificate
        validate-trust="true" />`` and whose ``properties.certificates`` is empty.

    What passes:
        The same service with the issuing CA uploaded (store Root or CertificateAuthority).

    How to fix:
        portal: Certificates > CA certificates > Add: upload the root (store Root) and intermediate
            (store CertificateAuthority) certificates of the client CA.
        cli: az apim update … with properties.certificates, or az rest --method patch
            …/service/NAME?api-version=2024-05-01
        arm: service: properties.certificates: [{ encodedCertificate: '…', storeName: 'Root' }]
        terraform: azurerm_api_management: certificate { encoded_certificate = … store_name = "Root"
            }

    References:
        https://learn.microsoft.com/azure/api-management/api-management-howto-ca-certificates
        https://learn.microsoft.com/azure/api-management/api-management-howto-mutual-certificates-for-clients
    """
    gate = tier_gate(
        svc,
        unknown=": whether it has a CA store cannot be decided.",
        other=", which has no CA certificate store: MTLS-IN-05 must pin client identities "
        "instead of relying on a chain.",
    )
    if gate is not None:
        yield gate
        return
    found = service_verdicts(ctx, svc, gated=False)
    yield found if isinstance(found, api.Result) else _judge(ctx, svc, found)


def _judge(ctx: api.Context, svc: api.ServiceModel, subjects: list[Judged]) -> api.Result:
    name = svc.service.name
    distinct = {
        (id(node.node), id(node.origin)): node for i in subjects for node in i.verdict.chain_checks
    }
    chain = list(distinct.values())
    store = svc.service.props.cite("certificates")
    if not chain:
        unknown = [i.subject.name for i in subjects if i.verdict.problems]
        if unknown:
            return api.indeterminate(
                svc.id,
                f"{name}: whether policies rely on chain trust cannot be told: the policies of "
                f"{', '.join(dict.fromkeys(unknown))} are not fully known.",
                name=name,
            )
        return api.not_applicable(
            svc.id, f"{name}: no effective inbound policy relies on chain trust.", name=name
        )
    cas = svc.service.ca_certificates
    if cas:
        return api.passed(
            svc.id,
            f"{name}: {listed(chain)} verify the chain, and "
            f"{api.plural(len(cas), 'CA certificate')} "
            f"{'is' if len(cas) == 1 else 'are'} uploaded.",
            store,
            *ctx.cite_all(chain),
            name=name,
        )
    return api.failed(
        svc.id,
        f"{name}: {listed(chain)} verify the chain, but no CA certificate is uploaded: privately "
        "issued client certificates cannot chain to a trusted root.",
        store,
        *ctx.cite_all(chain),
        name=name,
    )
