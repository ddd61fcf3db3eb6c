"""``<validate-client-certificate>`` as a formula over certificate atoms.

Attributes (``validate-revocation``, ``validate-trust``, ``validate-not-before``,
``validate-not-after`` default true; ``ignore-error`` defaults false) are literals, possibly
through ``{{named values}}``; anything else is an unknown fact (the verdicts that hinge on it are
undecidable). The chain is judged apart from the validity period, which has flags of its own, so
``validate-not-after="false"`` lets an expired certificate through even when the chain is checked
(the reading of the gateway's behaviour least favourable to the policy). The certificate must
match all claims of at least one ``<identity>``; claims with no literal atom (``common-name``,
``dns-name``, ``issuer-certificate-id``) are pins whose value is unknown, free while a
certificate is present.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from mtls_audit.policy.effective.tree import EffectiveNode
from mtls_audit.policy.expressions.atoms import (
    REQUEST,
    Atom,
    AtomKind,
    NamedValueResolver,
    resolve_literal,
)
from mtls_audit.policy.expressions.logic import FALSE, TRUE, Formula, Var, and_, not_, or_

ISSUER = "request-issuer"
"""Source of the atoms about the certificate that issued the client certificate
(``issuer-thumbprint``, ``issuer-certificate-id``)."""

_FLAGS = (
    ("validate-revocation", True),
    ("validate-trust", True),
    ("validate-not-before", True),
    ("validate-not-after", True),
    ("ignore-error", False),
)
_CLAIMS: Mapping[str, tuple[AtomKind, str]] = {
    "thumbprint": (AtomKind.THUMBPRINT_EQ, REQUEST),
    "serial-number": (AtomKind.SERIAL_EQ, REQUEST),
    "subject": (AtomKind.SUBJECT_EQ, REQUEST),
    "common-name": (AtomKind.NAME_CLAIM, REQUEST),
    "dns-name": (AtomKind.NAME_CLAIM, REQUEST),
    "issuer-subject": (AtomKind.ISSUER_EQ, REQUEST),
    "issuer-thumbprint": (AtomKind.THUMBPRINT_EQ, ISSUER),
    "issuer-certificate-id": (AtomKind.THUMBPRINT_EQ, ISSUER),
}
_UNMATCHED_CLAIMS = frozenset({"common-name", "dns-name", "issuer-certificate-id"})


def unknown_fact(text: str) -> Var:
    """A fact about the client certificate or the configuration that is not known here."""
    return Var(Atom(AtomKind.OPAQUE, REQUEST, text=" ".join(text.split())))


@dataclass(frozen=True, slots=True)
class Flags:
    """The attributes of one ``validate-client-certificate``: True, False or None (unknown),
    and whether its identities pin thumbprints or other names."""

    revocation: bool | None
    trust: bool | None
    not_before: bool | None
    not_after: bool | None
    ignore_error: bool | None
    thumbprint_pins: bool
    name_pins: bool


@dataclass(frozen=True, slots=True)
class Validation:
    """When the policy fails the certificate (``fails``), and when it ignores that
    (``ignore``, from ``ignore-error``)."""

    fails: Formula
    ignore: Formula
    flags: Flags


def validation(node: EffectiveNode, resolve: NamedValueResolver) -> Validation:
    revocation, trust, not_before, not_after, ignore = (
        _flag(node, name, default, resolve) for name, default in _FLAGS
    )
    null = Var(Atom(AtomKind.CERT_NULL, REQUEST))
    chain = Var(Atom(AtomKind.CHAIN_VALID, REQUEST))
    chain_no_revocation = Var(Atom(AtomKind.CHAIN_VALID_NO_REVOCATION, REQUEST))
    expired = Var(Atom(AtomKind.EXPIRED, REQUEST))
    early = Var(Atom(AtomKind.NOT_YET_VALID, REQUEST))
    bad_chain = or_(
        and_(trust, revocation, not_(chain)),
        and_(trust, not_(revocation), not_(chain_no_revocation)),
        and_(not_(trust), revocation, chain_no_revocation, not_(chain)),
    )
    identities, thumbprints, names = _identities(node, resolve)
    fails = or_(
        null,
        and_(not_(expired), not_(early), bad_chain),
        and_(not_after, expired),
        and_(not_before, early),
        not_(identities),
    )
    flags = Flags(
        revocation=_known(revocation),
        trust=_known(trust),
        not_before=_known(not_before),
        not_after=_known(not_after),
        ignore_error=_known(ignore),
        thumbprint_pins=thumbprints,
        name_pins=names,
    )
    return Validation(fails, ignore, flags)


def _flag(node: EffectiveNode, name: str, default: bool, resolve: NamedValueResolver) -> Formula:
    raw = node.attr(name)
    if raw is None:
        return TRUE if default else FALSE
    word = (resolve_literal(raw, resolve) or "").strip().lower()
    if word in ("true", "false"):
        return TRUE if word == "true" else FALSE
    return unknown_fact(f'{name}="{raw}"')


def _identities(node: EffectiveNode, resolve: NamedValueResolver) -> tuple[Formula, bool, bool]:
    """Whether the certificate matches one identity (all its claims), and which kinds of claim
    appear (thumbprints, other names)."""
    found: list[Formula] = []
    thumbprints = names = False
    for holder in (c for c in node.children if c.tag == "identities"):
        for identity in (c for c in holder.children if c.tag == "identity"):
            claims: list[Formula] = []
            for attr in identity.node.attrs:
                claim = attr.name.lower()
                if claim == "thumbprint":
                    thumbprints = True
                else:
                    names = True
                claims.append(_claim(claim, attr.value, resolve))
            found.append(and_(*claims))
    return (or_(*found) if found else TRUE), thumbprints, names


def _claim(claim: str, raw: str, resolve: NamedValueResolver) -> Formula:
    known = _CLAIMS.get(claim)
    if known is None:
        return unknown_fact(f'identity claim {claim}="{raw}"')
    kind, source = known
    literal = None if claim in _UNMATCHED_CLAIMS else resolve_literal(raw, resolve)
    text = f'{claim}="{raw}"' if literal is None else ""
    return Var(Atom(kind, source, literal, False, text))


def _known(formula: Formula) -> bool | None:
    return True if formula == TRUE else False if formula == FALSE else None
