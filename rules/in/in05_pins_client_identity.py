"""MTLS-IN-05: the policy pins which clients are accepted, beyond "any certificate from the CA"."""

from __future__ import annotations

from mtls_audit import api
from mtls_audit.api.policy import FailureKind

from .._validation import Judged, example, listed, validation_rule


@validation_rule(id="MTLS-IN-05", severity=api.Severity.HIGH)
def pins_client_identity(item: Judged) -> api.Result:
    """The policy pins the client identities it accepts.

    What it checks:
        For every API (or operation) and product path of a service that requests client
        certificates: the effective inbound policy pins who may call, beyond "any certificate
        the CA store trusts": thumbprints, issuer, subject, serial number or
        ``validate-client-certificate`` identities, or a look-up of the certificate in a known
        set — and a certificate failing the pin is rejected (a pin in an empty ``<when>``, an
        inverted look-up or ``ignore-error="true"`` pins nothing). Identities are alternatives:
        a mixed list pins. Substring tests of names (``Subject.Contains``, ``StartsWith``,
        ``EndsWith``, ``IndexOf``) are no pin, reported at high: any CA the chain trusts can
        issue ``CN=x.attacker.example``. A look-up in ``context.Deployment.Certificates``
        passes with a note: it accepts every certificate uploaded to the instance, backend
        client certificates included.

    Why it matters:
        A chain check alone accepts every certificate the CA ever issued, for any purpose
        and any holder: with a public or shared CA that is everyone.

    Example of a failing configuration:
        ``<validate-client-certificate validate-trust="true" />`` without ``<identities>``.

    What passes:
        ``<identities><identity thumbprint="{{partner-thumbprint}}" /></identities>``, or
        ``context.Request.Certificate.Thumbprint != "…"`` in the rejecting condition.

    How to fix:
        portal: APIs > Inbound processing: list the accepted clients in validate-client-certificate
            <identities> (thumbprint, or subject and issuer).
        cli: az apim nv create … --display-name client-thumbprints; reference it from the policy and
            az rest --method put …/policies/policy
        arm: policies: properties.value with <identities><identity
            thumbprint="{{client-thumbprint}}" /></identities>
        terraform: azurerm_api_management_named_value for the thumbprints, used in
            azurerm_api_management_policy.xml_content
        policy: <identities><identity thumbprint="{{partner-a-thumbprint}}" /><identity
            subject="CN=partner-b, O=Partner B, C=NL" issuer-subject="CN=Partner CA, O=Partner,
            C=NL" /></identities>

    References:
        https://learn.microsoft.com/azure/api-management/validate-client-certificate-policy
        https://learn.microsoft.com/azure/api-management/api-management-howto-mutual-certificates-for-clients
    """
    verdict = item.verdict
    skipped = item.unjudged() or item.unknown()
    if skipped is not None:
        return skipped
    identity = [verdict[kind] for kind in (FailureKind.WRONG_THUMBPRINT, FailureKind.WRONG_NAME)]
    tested = [kind for kind in identity if kind.tested]
    undecided = item.unknown(*(tested or identity))
    if undecided is not None:
        return undecided
    pins = tuple(node for kind in tested for node in kind.checks)
    open_ = [kind for kind in tested if not kind.rejected]
    if open_:
        return item.failed(
            f"the identity tests ({listed(pins)}) reject no certificate that fails them: "
            f"{example(open_[0])}.",
            *item.cite(pins),
        )
    if tested and verdict.deployment_lookups:
        lookups = verdict.deployment_lookups
        return item.passed(
            f"{item.noun} is looked up among the certificates uploaded to the "
            f"instance ({listed(lookups)}). Note (medium): that set holds every uploaded "
            "certificate, backend client certificates included, so any of them is accepted.",
            *item.cite(lookups),
        )
    if tested:
        return item.passed(
            f"the identities {item.noun} may carry are pinned by {listed(pins)}.", *item.cite(pins)
        )
    if verdict.weak_pins:
        weak = verdict.weak_pins
        _, field, shown = weak[0]
        nodes = [node for node, _, _ in weak]
        return item.failed(
            f"only substring tests of names pin {item.noun} ({listed(nodes)}), and they are no "
            f"pin: a {field} merely containing {shown!r}, such as "
            f"{shown + '.attacker.example'!r}, passes from any CA the chain trusts; compare the "
            "whole name (or the thumbprint) exactly.",
            *item.cite(nodes),
        )
    return item.failed(
        f"no element pins the identity of {item.noun}: {example(identity[0])}.",
        *item.cite(verdict.checks),
    )
