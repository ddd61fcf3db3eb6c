"""One certificate read and described in the forms APIM shows (thumbprint, serial, names, key).

APIM reports certificates through .NET's ``X509Certificate2``: ``Thumbprint`` is the SHA-1 of the
DER in upper-case hex and ``SerialNumber`` the upper-case hex of the DER integer's bytes (so a
leading ``00`` appears when the top bit is set; dotnet/runtime ``CertificateData``).
"""

from __future__ import annotations

import base64
import contextlib
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed448, ed25519, rsa
from cryptography.utils import CryptographyDeprecationWarning

from mtls_audit.certs.names import dotnet_name
from mtls_audit.errors import InputError


class CertificateError(InputError):
    """Bytes or text that hold no readable X.509 certificate."""


@contextlib.contextmanager
def any_serial() -> Iterator[None]:
    """Read certificates whose serial number is not positive (RFC 5280 forbids it; Windows and
    APIM accept it, and real certificates have one) without the deprecation warning
    cryptography prints on stderr when it loads one and when its serial is read."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", CryptographyDeprecationWarning)
        yield


def load_certificate(
    data: bytes | str, *, source: str | None = None, where: str | None = None
) -> x509.Certificate:
    """Read one certificate from DER bytes, PEM (bytes or text) or base64-encoded DER text."""
    blob = data.encode("utf-8") if isinstance(data, str) else data
    try:
        with any_serial():
            if b"-----BEGIN" in blob:
                cert = x509.load_pem_x509_certificate(blob)
            elif isinstance(data, bytes) and blob.startswith(b"\x30"):
                cert = x509.load_der_x509_certificate(blob)
            else:
                der = base64.b64decode(b"".join(blob.split()), validate=True)
                cert = x509.load_der_x509_certificate(der)
            cert.extensions  # noqa: B018 - parse the extensions now, so that errors surface here
    except (ValueError, x509.DuplicateExtension) as exc:
        raise CertificateError(
            f"not a readable X.509 certificate (DER, PEM or base64 DER): {exc}",
            source=source,
            where=where,
        ) from None
    return cert


def thumbprint(cert: x509.Certificate) -> str:
    """SHA-1 of the DER, 40 upper-case hex digits, as APIM's ``Thumbprint`` shows it."""
    return cert.fingerprint(hashes.SHA1()).hex().upper()


def sha256_fingerprint(cert: x509.Certificate) -> str:
    """SHA-256 of the DER, 64 upper-case hex digits."""
    return cert.fingerprint(hashes.SHA256()).hex().upper()


def serial_hex(cert: x509.Certificate) -> str:
    """The serial number as .NET's ``SerialNumber`` shows it: the DER integer's bytes in hex.

    A serial that is not positive is shown like any other (see :func:`any_serial`).
    """
    with any_serial():
        n = cert.serial_number
    length = (n + (n < 0)).bit_length() // 8 + 1
    return n.to_bytes(length, "big", signed=True).hex().upper()


class KeyType(StrEnum):
    RSA = "RSA"
    EC = "EC"
    ED25519 = "Ed25519"
    ED448 = "Ed448"
    DSA = "DSA"
    OTHER = "other"


@dataclass(frozen=True)
class KeyInfo:
    key_type: KeyType
    size: int | None
    """RSA modulus bits, EC field bits; None when unknown."""
    curve: str | None
    """EC curve as Key Vault names it (P-256, P-384, P-521, P-256K), else the curve's own name."""


_KEY_VAULT_CURVES = {
    "secp256r1": "P-256",
    "secp384r1": "P-384",
    "secp521r1": "P-521",
    "secp256k1": "P-256K",
}


def key_info(cert: x509.Certificate) -> KeyInfo:
    try:
        key = cert.public_key()
    except (ValueError, UnsupportedAlgorithm):
        return KeyInfo(KeyType.OTHER, None, None)
    match key:
        case rsa.RSAPublicKey():
            return KeyInfo(KeyType.RSA, key.key_size, None)
        case ec.EllipticCurvePublicKey():
            curve = _KEY_VAULT_CURVES.get(key.curve.name, key.curve.name)
            return KeyInfo(KeyType.EC, key.key_size, curve)
        case ed25519.Ed25519PublicKey():
            return KeyInfo(KeyType.ED25519, 256, None)
        case ed448.Ed448PublicKey():
            return KeyInfo(KeyType.ED448, 448, None)
        case dsa.DSAPublicKey():
            return KeyInfo(KeyType.DSA, key.key_size, None)
        case _:
            return KeyInfo(KeyType.OTHER, None, None)


@dataclass(frozen=True)
class CaConstraints:
    is_ca: bool
    path_length: int | None
    present: bool
    """Whether the certificate carries a basic-constraints extension at all."""


def ca_constraints(cert: x509.Certificate) -> CaConstraints:
    try:
        value = cert.extensions.get_extension_for_class(x509.BasicConstraints).value
    except x509.ExtensionNotFound:
        return CaConstraints(is_ca=False, path_length=None, present=False)
    return CaConstraints(is_ca=value.ca, path_length=value.path_length, present=True)


def signed_by(cert: x509.Certificate, issuer: x509.Certificate) -> bool:
    """Whether ``issuer``'s subject is ``cert``'s issuer and its key verifies the signature."""
    try:
        cert.verify_directly_issued_by(issuer)
    except (ValueError, TypeError, InvalidSignature, UnsupportedAlgorithm):
        return False
    return True


def is_self_signed(cert: x509.Certificate) -> bool:
    """Issuer equals subject and the signature verifies with the certificate's own key."""
    return signed_by(cert, cert)


@dataclass(frozen=True)
class CertificateFacts:
    """What the audit needs to know of one certificate, in the forms APIM shows."""

    thumbprint: str
    sha256: str
    subject: str
    issuer: str
    not_before: datetime
    not_after: datetime
    self_signed: bool
    is_ca: bool
    path_length: int | None
    key_type: KeyType
    key_size: int | None
    key_curve: str | None
    serial: str

    @classmethod
    def from_certificate(cls, cert: x509.Certificate) -> CertificateFacts:
        key = key_info(cert)
        constraints = ca_constraints(cert)
        return cls(
            thumbprint=thumbprint(cert),
            sha256=sha256_fingerprint(cert),
            subject=dotnet_name(cert.subject),
            issuer=dotnet_name(cert.issuer),
            not_before=cert.not_valid_before_utc,
            not_after=cert.not_valid_after_utc,
            self_signed=is_self_signed(cert),
            is_ca=constraints.is_ca,
            path_length=constraints.path_length,
            key_type=key.key_type,
            key_size=key.size,
            key_curve=key.curve,
            serial=serial_hex(cert),
        )
