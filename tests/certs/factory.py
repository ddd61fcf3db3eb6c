"""Mint throw-away test certificates: roots, intermediates and leaves with chosen keys and dates.

Keys are generated in memory for each certificate and never written anywhere.

    root = mint_root("CN=Test Root, O=Example, C=US")
    ca = mint_intermediate(root, "CN=Test Issuing CA")
    leaf = mint_leaf(ca, "CN=client", key="rsa2048", days=-3)   # expired three days ago
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.hazmat.primitives.asymmetric.types import CertificateIssuerPrivateKeyTypes

KeyKind = Literal["rsa1024", "rsa2048", "rsa3072", "p256", "p384", "ed25519"]
PrivateKey = CertificateIssuerPrivateKeyTypes
NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
"""The reference "now" of certificate tests; pass it as ``as_of``."""


@dataclass(frozen=True)
class Minted:
    cert: x509.Certificate
    key: PrivateKey

    @property
    def der(self) -> bytes:
        return self.cert.public_bytes(serialization.Encoding.DER)

    @property
    def pem(self) -> bytes:
        return self.cert.public_bytes(serialization.Encoding.PEM)


def new_key(kind: KeyKind = "p256") -> PrivateKey:
    if kind.startswith("rsa"):
        return rsa.generate_private_key(public_exponent=65537, key_size=int(kind[3:]))
    if kind == "ed25519":
        return ed25519.Ed25519PrivateKey.generate()
    return ec.generate_private_key(ec.SECP256R1() if kind == "p256" else ec.SECP384R1())


def as_name(name: x509.Name | str) -> x509.Name:
    """A name from RFC 4514 text (most specific first, e.g. "CN=leaf,O=Org,C=US")."""
    return name if isinstance(name, x509.Name) else x509.Name.from_rfc4514_string(name)


def mint(
    subject: x509.Name | str,
    *,
    issuer: Minted | None = None,
    key: KeyKind | PrivateKey = "p256",
    ca: bool | None = False,
    path_length: int | None = None,
    days: float = 365,
    valid_days: float = 730,
    serial: int | None = None,
    issuer_name: x509.Name | str | None = None,
) -> Minted:
    """One certificate, self-signed when ``issuer`` is None.

    It expires ``days`` after :data:`NOW` (negative: already expired) and became valid
    ``valid_days`` before it expires (so ``days > valid_days`` gives one not yet valid).
    ``ca=None`` leaves out the basic-constraints extension. ``issuer_name`` overrides the issuer
    field, to forge a certificate that names an issuer whose key did not sign it.
    """
    private = new_key(key) if isinstance(key, str) else key
    signer = issuer.key if issuer else private
    if issuer_name is None:
        issuer_name = issuer.cert.subject if issuer else subject
    not_after = NOW + timedelta(days=days)
    builder = (
        x509.CertificateBuilder()
        .subject_name(as_name(subject))
        .issuer_name(as_name(issuer_name))
        .public_key(private.public_key())
        .serial_number(serial if serial is not None else x509.random_serial_number())
        .not_valid_before(not_after - timedelta(days=valid_days))
        .not_valid_after(not_after)
    )
    if ca is not None:
        builder = builder.add_extension(
            x509.BasicConstraints(ca=ca, path_length=path_length if ca else None), critical=True
        )
    algorithm = None if isinstance(signer, ed25519.Ed25519PrivateKey) else hashes.SHA256()
    return Minted(builder.sign(signer, algorithm), private)


def mint_root(
    subject: x509.Name | str = "CN=Test Root,O=Example,C=US",
    *,
    key: KeyKind | PrivateKey = "p256",
    days: float = 3000,
) -> Minted:
    return mint(subject, key=key, ca=True, days=days, valid_days=3650)


def mint_intermediate(
    parent: Minted,
    subject: x509.Name | str = "CN=Test Issuing CA,O=Example,C=US",
    *,
    key: KeyKind | PrivateKey = "p256",
    days: float = 2000,
) -> Minted:
    return mint(subject, issuer=parent, key=key, ca=True, path_length=0, days=days)


def mint_leaf(
    parent: Minted,
    subject: x509.Name | str = "CN=client",
    *,
    key: KeyKind | PrivateKey = "p256",
    days: float = 365,
    valid_days: float = 730,
) -> Minted:
    return mint(subject, issuer=parent, key=key, days=days, valid_days=valid_days)
