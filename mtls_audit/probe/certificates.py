"""The client certificates the probe presents: two generated on the fly (self-signed, and
expired under a throw-away CA) and the user's good one.

Generated keys never leave memory: Python's ``ssl`` loads a certificate chain only from a file
name, so the PEM is written to an anonymous in-memory file (``memfd_create``, Linux) and loaded
from ``/proc/self/fd``; it never touches a disk. Where that is not available the attempts that
need a generated certificate are recorded as not made, with the reason.
"""

from __future__ import annotations

import os
import ssl
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID

from mtls_audit.errors import InputError

PrivateKey = ec.EllipticCurvePrivateKey
_PEM = serialization.Encoding.PEM


class CertificateUnavailable(Exception):
    """A client certificate that cannot be loaded on this platform (the reason is the text)."""


@dataclass(frozen=True)
class ClientCertificate:
    """A certificate to present, its chain and key (in memory only)."""

    label: str
    certificate: x509.Certificate
    pem: bytes  # certificate, chain and unencrypted private key, PEM

    @property
    def thumbprint(self) -> str:
        return self.certificate.fingerprint(hashes.SHA1()).hex().upper()

    def load_into(self, context: ssl.SSLContext) -> None:
        """Load this certificate and key into ``context`` without writing them to disk."""
        create = getattr(os, "memfd_create", None)
        if create is None:
            raise CertificateUnavailable(
                "this platform cannot hand an in-memory key to Python's ssl (no memfd_create)"
            )
        fd = create("mtls-audit-probe", os.MFD_CLOEXEC)
        try:
            os.write(fd, self.pem)
            context.load_cert_chain(f"/proc/self/fd/{fd}")
        finally:
            os.close(fd)


def _name(common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "mtls-audit probe (throw-away)"),
        ]
    )


def _key() -> PrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def _key_pem(key: PrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def _certificate(
    subject: x509.Name,
    key: PrivateKey,
    issuer: x509.Name,
    signer: PrivateKey,
    not_before: datetime,
    not_after: datetime,
    *,
    ca: bool,
) -> x509.Certificate:
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if not ca:
        builder = builder.add_extension(
            x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False
        )
    return builder.sign(signer, hashes.SHA256())


def self_signed(now: datetime | None = None) -> ClientCertificate:
    """A valid self-signed client certificate no gateway can trust."""
    moment = now or datetime.now(UTC)
    key = _key()
    name = _name("mtls-audit-probe-untrusted")
    cert = _certificate(
        name, key, name, key, moment - timedelta(hours=1), moment + timedelta(days=1), ca=False
    )
    return ClientCertificate("self-signed", cert, cert.public_bytes(_PEM) + _key_pem(key))


def expired(now: datetime | None = None) -> ClientCertificate:
    """A client certificate that expired yesterday, issued by a throw-away CA (sent along)."""
    moment = now or datetime.now(UTC)
    ca_key, key = _key(), _key()
    ca_name = _name("mtls-audit-probe-throwaway-ca")
    ca = _certificate(
        ca_name, ca_key, ca_name, ca_key, moment - timedelta(days=30), moment + timedelta(days=1),
        ca=True,
    )  # fmt: skip
    cert = _certificate(
        _name("mtls-audit-probe-expired"),
        key,
        ca_name,
        ca_key,
        moment - timedelta(days=10),
        moment - timedelta(days=1),
        ca=False,
    )
    pem = cert.public_bytes(_PEM) + ca.public_bytes(_PEM) + _key_pem(key)
    return ClientCertificate("expired", cert, pem)


def user_certificate(
    cert_path: Path, key_path: Path | None = None, password: str | None = None
) -> ClientCertificate:
    """The user's good certificate: a PEM certificate (with ``key_path``, or the key in the same
    file) or a PFX/PKCS#12 file. Bad input is an :class:`InputError` naming the file."""
    data = _read(cert_path)
    if cert_path.suffix.lower() in {".pfx", ".p12"}:
        return from_pfx(data, password, source=str(cert_path))
    key_data = _read(key_path) if key_path else None
    key_source = str(key_path) if key_path else None
    return from_pem(data, password, source=str(cert_path), key=key_data, key_source=key_source)


def from_pfx(data: bytes, password: str | None, *, source: str) -> ClientCertificate:
    """A certificate and key from PFX/PKCS#12 bytes."""
    try:
        key, cert, chain = pkcs12.load_key_and_certificates(data, _secret(password))
    except ValueError as exc:
        raise InputError(f"not a readable PFX ({exc})", source=source) from None
    if key is None or cert is None:
        raise InputError("the PFX holds no certificate with its key", source=source)
    return _assemble(cert, chain, key, source)


def from_pem(
    data: bytes,
    password: str | None,
    *,
    source: str,
    key: bytes | None = None,
    key_source: str | None = None,
) -> ClientCertificate:
    """A certificate (and chain) from PEM bytes, its key from ``key`` or the same bytes."""
    try:
        certs = x509.load_pem_x509_certificates(data)
    except ValueError:
        raise InputError("no PEM certificate found", source=source) from None
    try:
        private = serialization.load_pem_private_key(key or data, _secret(password))
    except (ValueError, TypeError) as exc:
        raise InputError(f"no readable private key ({exc})", source=key_source or source) from None
    return _assemble(certs[0], certs[1:], private, source)


def _secret(password: str | None) -> bytes | None:
    return password.encode() if password else None


def _assemble(
    cert: x509.Certificate, chain: Sequence[x509.Certificate], key: object, source: str
) -> ClientCertificate:
    if not isinstance(key, ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey):
        raise InputError("the private key is neither RSA nor EC", source=source)
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    extra = b"".join(c.public_bytes(_PEM) for c in chain)
    return ClientCertificate("good-certificate", cert, cert.public_bytes(_PEM) + extra + key_pem)


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise InputError(f"cannot be read: {exc.strerror or exc}", source=str(path)) from None
