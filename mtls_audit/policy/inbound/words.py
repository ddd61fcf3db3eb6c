"""Counterexamples in words: which failing certificate gets through, and how.

For example "a certificate with a valid chain but another thumbprint is forwarded to the
backend", or "a request without the X-ARR-ClientCert header is answered 200 by <return-response>
(api:fax, line 5)".
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from mtls_audit.policy.expressions.atoms import REQUEST, Atom, AtomKind
from mtls_audit.policy.expressions.templates import switch_words
from mtls_audit.policy.inbound.judge import FailureKind, KindResult
from mtls_audit.policy.inbound.program import Exit, Stop
from mtls_audit.policy.inbound.validate import ISSUER

Place = Callable[[int], str]
"""Describes an element by index, e.g. ``api:fax, line 5``."""

_FAILURES = {
    FailureKind.MISSING: "without",
    FailureKind.UNTRUSTED: "whose chain does not validate",
    FailureKind.REVOKED: "that is revoked (its chain validates otherwise)",
    FailureKind.EXPIRED: "that has expired",
    FailureKind.NOT_YET_VALID: "that is not yet valid",
    FailureKind.WRONG_THUMBPRINT: "another thumbprint",
    FailureKind.WRONG_NAME: "another issuer and subject",
}
_PINS = {
    AtomKind.THUMBPRINT_EQ: "thumbprint",
    AtomKind.ISSUER_EQ: "issuer",
    AtomKind.SUBJECT_EQ: "subject",
    AtomKind.SUBJECT_CONTAINS: "a subject containing",
    AtomKind.ISSUER_CONTAINS: "an issuer containing",
    AtomKind.NAME_CLAIM: "a name",
    AtomKind.SERIAL_EQ: "serial number",
}


def certificate_noun(source: str) -> str:
    if source == REQUEST:
        return "client certificate"
    return f"certificate in the {source.removeprefix('header:')} header"


def subject(kind: FailureKind, source: str, extras: list[str] | None = None) -> str:
    """The failing request in words, e.g. "an expired client certificate", with what else it
    has (``extras``: "a valid chain", the pinned values it carries)."""
    noun = certificate_noun(source)
    more = " and ".join(extras or ())
    if kind is FailureKind.MISSING:
        if source == REQUEST:
            return "a request without a client certificate"
        return f"a request without the {source.removeprefix('header:')} header"
    if kind in (FailureKind.WRONG_THUMBPRINT, FailureKind.WRONG_NAME):
        return (
            f"a {noun} with {more} but {_FAILURES[kind]}"
            if more
            else (f"a {noun} with {_FAILURES[kind]}")
        )
    return f"a {noun} {_FAILURES[kind]}" + (f" but with {more}" if more else "")


def fate(stopped: Exit | None, place: Place) -> str:
    if stopped is None:
        return "is forwarded to the backend"
    status = stopped.status if stopped.status is not None else "a response"
    assert stopped.stop is Stop.SERVE
    return f"is answered {status} by <{stopped.how}> ({place(stopped.node)})"


def condition_text(atom: Atom) -> str:
    """An atom a bypass hinges on, as the policy wrote it where possible."""
    if atom.kind is AtomKind.OPAQUE:
        return atom.text
    if atom.kind is AtomKind.CERT_NULL and atom.header:
        return f"the {atom.header} header is absent"
    return str(atom)


def condition_words(atom: Atom, holds: bool) -> str:
    """One condition of a bypass: "`path == "/x"` is true", or of a Terraform directive
    "`length(t) > 0` is false at deployment"."""
    deployment = switch_words(atom.text, holds) if atom.kind is AtomKind.OPAQUE else None
    return deployment or f"`{condition_text(atom)}` is {'true' if holds else 'false'}"


def qualifiers(result: KindResult, source: str) -> list[str]:
    """What else the let-through certificate has: a valid chain, the pinned values it carries."""
    witness: Mapping[Atom, bool] = result.witness or {}
    parts: list[str] = []
    chain_tested = any(
        a.kind in (AtomKind.CHAIN_VALID, AtomKind.CHAIN_VALID_NO_REVOCATION) for a in witness
    )
    if result.kind in (FailureKind.WRONG_THUMBPRINT, FailureKind.WRONG_NAME) and chain_tested:
        parts.append("a valid chain")
    for atom, held in sorted(witness.items(), key=lambda item: str(item[0])):
        if not held or atom.source not in (source, ISSUER):
            continue
        if atom.kind is AtomKind.IN_DEPLOYMENT_CERTS:
            parts.append("a thumbprint among the certificates uploaded to the instance")
        elif atom.kind in _PINS:
            what = "issuer thumbprint" if atom.source == ISSUER else _PINS[atom.kind]
            shown = repr(atom.literal) if atom.literal is not None else atom.text
            parts.append(f"{what} {shown}")
    return parts


def counterexample(result: KindResult, source: str, place: Place) -> str:
    """The sentence for a kind that is not always rejected ("" when it is, or undecided)."""
    if result.witness is None:
        return ""
    when = " and ".join(condition_words(atom, held) for atom, held in result.conditions)
    when = f" when {when}" if when else ""
    who = subject(result.kind, source, qualifiers(result, source))
    return f"{who} {fate(result.exit, place)}{when}"
