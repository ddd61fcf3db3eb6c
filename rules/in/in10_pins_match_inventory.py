"""MTLS-IN-10: pinned thumbprints and issuers name certificates the snapshot knows."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from mtls_audit import api
from mtls_audit.api.certificates import CertificateRole, InventoryCertificate, expiry_phrase
from mtls_audit.api.policy import Pin, PinField, PinSite

from .._policy import PinWalk, dn_key, judge_pin_sites, shown_pin, site_key

_JUDGED = (PinField.THUMBPRINT, PinField.ISSUER_THUMBPRINT, PinField.ISSUER)
_NOT_HEX = re.compile(r"[^0-9A-Fa-f]")
_NOT_A_CLIENT = {
    CertificateRole.GATEWAY_TLS: "the gateway's own TLS certificate",
    CertificateRole.BACKEND_CLIENT: "the client certificate a backend presents",
}


@api.rule(id="MTLS-IN-10", severity=api.Severity.MEDIUM, needs=api.POLICY_NEEDS)
def pins_match_inventory(svc: api.ServiceModel, ctx: api.Context) -> Iterator[api.Result]:
    """Pinned thumbprints and issuers match known, unexpired certificates.

    What it checks:
        Every pinned thumbprint (``thumbprint`` and ``issuer-thumbprint`` identity claims,
        ``Thumbprint`` comparisons) and every pinned issuer name (``issuer-subject`` claims,
        ``Issuer`` comparisons) in every policy document and fragment is matched against the
        certificates the snapshot knows: the CA store, certificate entities, gateway
        certificates and Key Vault certificates. Thumbprints match ignoring case and
        separators; an issuer name matches a known certificate's subject whatever its form
        and order. A pin matching a certificate that has expired fails at high severity; a
        pin matching nothing the snapshot knows fails at low severity (client certificates are
        rarely in a snapshot, so this is a prompt to confirm the pin, not a verdict). Named
        values are resolved; an unknown value, or a match whose expiry is not recorded, is
        indeterminate. One result per element holding pins.

        A pin that names the wrong kind of certificate can never match and fails at high
        severity: a client ``thumbprint`` equal to a CA's (the CA store, a self-hosted gateway's
        certificate authorities, any certificate whose basic constraints say CA), to the
        gateway's own TLS certificate or to a backend's client certificate; an
        ``issuer-thumbprint`` or issuer name naming a certificate that is not a CA; a client
        subject equal to a CA's subject. A self-signed client certificate uploaded to the CA
        store as its own anchor (basic constraints CA:FALSE) may rightly be pinned by thumbprint.

    Why it matters:
        A pin on a certificate that has expired or been replaced either locks every client
        out or, in a "reject unless it matches" list, keeps a retired partner's access alive
        until someone notices; a pin on an issuer the gateway does not hold cannot be chained.

    Example of a failing configuration:
        ``<identity issuer-thumbprint="…"/>`` naming an intermediate CA that expired last
        month; ``context.Request.Certificate.Thumbprint == "…"`` with the thumbprint copied
        from the CA certificates blade, which refuses every client.

    What passes:
        Pins naming the CA certificates uploaded to the service, within their validity.

    How to fix:
        portal: APIs > policy editor: remove pins of retired certificates, and pin a client
            certificate's issuing CA as issuer-thumbprint, never as thumbprint; CA certificates:
            upload the issuing CA the policy names (classic tiers).
        cli: az apim update … to upload the CA; az rest --method put …/policies/policy with the
            current thumbprints
        arm: certificates / properties.certificates with the pinned CA, and policies with pins that
            name it
        terraform: azurerm_api_management.certificate { … } and the policy xml_content
        policy: <identity issuer-thumbprint="{{client-ca-thumbprint}}" />

    References:
        https://learn.microsoft.com/azure/api-management/api-management-howto-ca-certificates
        https://learn.microsoft.com/azure/api-management/validate-client-certificate-policy
    """
    known = _Inventory.of(ctx.certificate_inventory)
    walk = PinWalk(
        what="certificate pins",
        # Subject pins are judged only when they name a CA: no inventory holds client leaves.
        chosen=lambda pin: pin.field in _JUDGED or bool(known.wrong_kind(pin)),
        none="No policy of {name} pins a thumbprint or an issuer.",
    )
    yield from judge_pin_sites(
        ctx,
        svc,
        walk,
        lambda subject, site, pins: _judge(ctx, subject, site, pins, known),
    )


@dataclass(frozen=True)
class _Inventory:
    by_thumbprint: dict[str, list[InventoryCertificate]]
    by_subject: dict[frozenset[tuple[str, str]], list[InventoryCertificate]]

    @classmethod
    def of(cls, inventory: tuple[InventoryCertificate, ...]) -> _Inventory:
        by_thumbprint: dict[str, list[InventoryCertificate]] = {}
        by_subject: dict[frozenset[tuple[str, str]], list[InventoryCertificate]] = {}
        for cert in inventory:
            if cert.thumbprint:
                by_thumbprint.setdefault(_hex(cert.thumbprint), []).append(cert)
            subject = dn_key(cert.subject)
            if subject is not None:
                by_subject.setdefault(subject, []).append(cert)
        return cls(by_thumbprint, by_subject)

    def matches(self, pin: Pin) -> list[InventoryCertificate]:
        if pin.value is None:
            return []
        if pin.field.is_thumbprint:
            return self.by_thumbprint.get(_hex(pin.value), [])
        subject = dn_key(pin.value)
        return [] if subject is None else self.by_subject.get(subject, [])

    def wrong_kind(self, pin: Pin) -> str:
        """Why no client certificate can ever satisfy the pin, from what the certificates it
        names are; empty when nothing says so."""
        found = self.matches(pin)
        if pin.field in (PinField.THUMBPRINT, PinField.SUBJECT):
            cas = [cert for cert in found if cert.is_ca]
            if cas:
                own = "thumbprint" if pin.field is PinField.THUMBPRINT else "subject"
                fix = (
                    "to accept the clients it issues, pin issuer-thumbprint (or "
                    "issuer-certificate-id), or check the chain with Verify() with the CA "
                    "uploaded"
                    if pin.field is PinField.THUMBPRINT
                    else "compare the issuer (issuer-subject) with it, or the subject with the "
                    "client's own name"
                )
                return (
                    f"{shown_pin(pin)} is the {own} of the CA certificate {_names(cas)}: no "
                    f"client certificate carries its CA's {own}, so every client is refused; "
                    f"{fix}"
                )
            if pin.field is PinField.THUMBPRINT:
                for cert in found:
                    role = next((r for r in cert.roles if r in _NOT_A_CLIENT), None)
                    if role is not None:
                        return (
                            f"{shown_pin(pin)} is the thumbprint of {_names([cert])}, "
                            f"{_NOT_A_CLIENT[role]}, not a client's: no client presents it, so "
                            "every client is refused; pin the thumbprint of the client's "
                            "certificate"
                        )
            return ""
        leaves = [cert for cert in found if _leaf(cert)]
        if not leaves or len(leaves) < len(found):
            return ""
        own = "thumbprint" if pin.field.is_thumbprint else "subject"
        return (
            f"{shown_pin(pin)} is the {own} of {_names(leaves)}, which is not a CA: it issues no "
            "certificate, so every client is refused; pin the client certificate's issuing CA"
        )


def _leaf(cert: InventoryCertificate) -> bool:
    """Known not to be a CA: its basic constraints say so, or the service uses it as a leaf."""
    return cert.is_ca is False or any(role in _NOT_A_CLIENT for role in cert.roles)


def _hex(thumbprint: str) -> str:
    return _NOT_HEX.sub("", thumbprint).upper()


def _judge(
    ctx: api.Context, subject: str, site: PinSite, pins: list[Pin], known: _Inventory
) -> api.Result:
    label = site.origin.label
    where = f"{label} line {site.line}"
    evidence: list[api.Evidence] = [api.PolicyCitation(*site.place())]
    wrong: list[str] = []
    expired: list[str] = []
    unknown: list[str] = []
    undated: list[str] = []
    valid: list[str] = []
    for pin in pins:
        if pin.value is None:
            undated.append(shown_pin(pin))
            continue
        found = known.matches(pin)
        evidence += [cert.citation for cert in found]
        if why := known.wrong_kind(pin):
            wrong.append(why)
            continue
        dated = [(cert, api.days_left(cert.expiry, ctx.as_of)) for cert in found if cert.expiry]
        alive = [cert for cert, days in dated if days >= 0]
        if alive:
            valid.append(f"{shown_pin(pin)} matches {_names(alive)}")
        elif not found:
            unknown.append(f"{shown_pin(pin)} matches no certificate in the snapshot")
        elif len(dated) < len(found):
            undated.append(f"{shown_pin(pin)} matches {_names(found)}, whose expiry is unknown")
        else:
            latest = max(cert.expiry for cert in found if cert.expiry)
            expired.append(
                f"{shown_pin(pin)} matches {_names(found)}, {expiry_phrase(latest, ctx.as_of)}"
            )
    cites = tuple(dict.fromkeys(evidence))
    key = site_key(label, site.line)
    message = f"{where}: " + "; ".join(wrong + expired + unknown + undated + valid) + "."
    if wrong or expired or unknown:
        severity = api.Severity.HIGH if wrong or expired else api.Severity.LOW
        return api.failed(subject, message, *cites, key=key, severity=severity, name=label)
    if undated:
        return api.indeterminate(subject, message, *cites, key=key, name=label)
    return api.passed(subject, message, *cites, key=key, name=label)


def _names(certs: list[InventoryCertificate]) -> str:
    return ", ".join(dict.fromkeys(f"{cert.name} ({cert.kind})" for cert in certs))
