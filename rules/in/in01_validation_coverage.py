"""MTLS-IN-01: every operation's effective inbound policy validates the client certificate."""

from __future__ import annotations

from mtls_audit import api

from .._validation import Judged, validation_rule


@validation_rule(id="MTLS-IN-01", severity=api.Severity.CRITICAL)
def validation_coverage(item: Judged) -> api.Result:
    """Every operation validates the client certificate in inbound.

    What it checks:
        Every API operation, on every product path (without a product, and through each
        product it belongs to), of a service that requests client certificates: its effective
        inbound policy (global, product, API and operation scopes merged, fragments included)
        rejects a bad client certificate before the request reaches the backend. Passing
        needs a check of the certificate's chain or identity that is applied on every request
        and rejects a missing certificate. A failure names the reason: no validation
        anywhere; a scope that dropped ``<base/>`` and with it the validation of a parent
        scope; validation only in a product policy (not applied for all-APIs or API-scoped
        subscriptions, nor without a subscription); validation in ``outbound``, ``on-error``
        or ``backend``; validation guarded by a condition of the request (path, method,
        header), which is named; logic that lets a failing certificate through; a check of a
        certificate read from a request header instead of the TLS certificate; checks that
        test neither chain nor identity (expiry only). Results are per API and product path,
        per operation where the operations differ.

    Why it matters:
        A gateway that asks for a client certificate but never checks it in policy accepts
        any certificate, or none: mutual TLS then authenticates nobody.

    Example of a failing configuration:
        The global policy validates, but an API policy's ``<inbound>`` has no ``<base/>``; or
        the check sits inside ``<when condition="@(!context.Request.Url.Path.StartsWith(
        "/health"))">``.

    What passes:
        A global ``validate-client-certificate`` (or a sound ``<choose>`` check) that every
        product, API and operation policy keeps through ``<base/>``.

    How to fix:
        portal: APIs > All APIs > Inbound processing: add validate-client-certificate; in API,
            operation and product policies keep <base/> in <inbound>.
        cli: az apim api policy show …; restore <base/> or add the check, then az rest --method put
            …/policies/policy?api-version=2024-05-01
        arm: service/policies (global): properties.value with <validate-client-certificate
            validate-revocation="true" validate-trust="true" validate-not-before="true"
            validate-not-after="true" ignore-error="false" /> in <inbound>
        terraform: azurerm_api_management_policy.xml_content with validate-client-certificate in
            <inbound>
        policy: <inbound><base /><validate-client-certificate validate-revocation="true"
            validate-trust="true" validate-not-before="true" validate-not-after="true"
            ignore-error="false" /></inbound> (global: the check itself)

    References:
        https://learn.microsoft.com/azure/api-management/api-management-howto-mutual-certificates-for-clients
        https://learn.microsoft.com/azure/api-management/validate-client-certificate-policy
    """
    found = item.coverage
    if found.verdict == "validated":
        return item.passed(f"the client certificate is {found.reason}.", *found.evidence)
    if found.verdict == "indeterminate":
        return item.indeterminate(f"coverage is unknown: {found.reason}.", *found.evidence)
    what = "validation can be bypassed" if found.verdict == "bypass" else "not validated"
    return item.failed(f"{what}: {found.reason}.", *found.evidence)
