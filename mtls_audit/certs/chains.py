"""Issuing chains: from a leaf certificate up to a self-signed root among candidate CAs."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from cryptography import x509

from mtls_audit.certs.facts import is_self_signed, sha256_fingerprint, signed_by
from mtls_audit.certs.names import dotnet_name


@dataclass(frozen=True)
class ChainResult:
    chain_complete: bool
    path: tuple[x509.Certificate, ...]
    """From the leaf up to the self-signed root when complete, else as far as it could be built."""
    missing_issuer: str | None
    """The issuer (.NET form) of the last certificate in ``path`` when no candidate signed it."""
    reason: str


def build_chain(leaf: x509.Certificate, candidates: Iterable[x509.Certificate]) -> ChainResult:
    """Find the issuing chain of ``leaf`` among ``candidates`` up to a self-signed root.

    Each link needs the issuer's subject to equal the certificate's issuer and its key to verify
    the signature; validity periods and CA flags are not judged here.
    """
    pool = list({sha256_fingerprint(cert): cert for cert in candidates}.values())
    return _extend((leaf,), pool)


def _extend(path: tuple[x509.Certificate, ...], pool: Sequence[x509.Certificate]) -> ChainResult:
    current = path[-1]
    if is_self_signed(current):
        return ChainResult(True, path, None, _complete_reason(path))
    named = [c for c in pool if c.subject == current.issuer and c not in path]
    issuers = [c for c in named if signed_by(current, c)]
    best: ChainResult | None = None
    for issuer in issuers:
        result = _extend((*path, issuer), pool)
        if result.chain_complete:
            return result
        if best is None or len(result.path) > len(best.path):
            best = result
    if best is not None:
        return best
    missing = dotnet_name(current.issuer)
    if named:
        why = (
            f"a certificate named {missing!r} is present but did not sign it"
            if len(named) == 1
            else f"{len(named)} certificates named {missing!r} are present but none signed it"
        )
    else:
        why = f"no certificate named {missing!r} is present"
    return ChainResult(
        False, path, missing, f"The chain stops at {dotnet_name(current.subject)!r}: {why}."
    )


def _complete_reason(path: tuple[x509.Certificate, ...]) -> str:
    if len(path) == 1:
        return "The certificate is self-signed."
    return f"Complete chain of {len(path)} certificates up to {dotnet_name(path[-1].subject)!r}."
