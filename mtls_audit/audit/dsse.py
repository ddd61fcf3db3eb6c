"""DSSE envelopes signed with Ed25519, carrying an in-toto Statement v1.

DSSE (Dead Simple Signing Envelope, https://github.com/secure-systems-lab/dsse) signs the
pre-authentication encoding of the payload, never the JSON text of the envelope::

    PAE(type, body) = "DSSEv1" SP LEN(type) SP type SP LEN(body) SP body

where SP is one space and LEN is the length in bytes as ASCII decimal without leading zeros.
The signature's ``keyid`` is the SHA-256 (hex) of the public key's DER SubjectPublicKeyInfo.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from mtls_audit.audit.files import AuditInputError, read_bytes

PAYLOAD_TYPE = "application/vnd.in-toto+json"
STATEMENT_TYPE = "https://in-toto.io/Statement/v1"


def pae(payload_type: str, body: bytes) -> bytes:
    """The DSSE v1 pre-authentication encoding: what a signature covers."""
    kind = payload_type.encode("utf-8")
    return b"DSSEv1 %d %s %d %s" % (len(kind), kind, len(body), body)


def keyid(public_key: Ed25519PublicKey) -> str:
    der = public_key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return hashlib.sha256(der).hexdigest()


def load_private_key(path: Path) -> Ed25519PrivateKey:
    """An unencrypted Ed25519 private key in PEM (PKCS#8)."""
    data = read_bytes(path, "signing key")
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except TypeError:
        raise AuditInputError(
            "the signing key is encrypted; give an unencrypted PKCS#8 PEM key", source=str(path)
        ) from None
    except ValueError:
        raise AuditInputError(
            "not a PEM private key (expected an Ed25519 key in PKCS#8 PEM, such as "
            "`openssl genpkey -algorithm ed25519` writes)",
            source=str(path),
        ) from None
    if not isinstance(key, Ed25519PrivateKey):
        raise AuditInputError(
            f"the signing key is {type(key).__name__}, not an Ed25519 key", source=str(path)
        )
    return key


def load_public_key(path: Path) -> Ed25519PublicKey:
    """An Ed25519 public key in PEM (SubjectPublicKeyInfo)."""
    data = read_bytes(path, "public key")
    try:
        key = serialization.load_pem_public_key(data)
    except ValueError:
        raise AuditInputError(
            "not a PEM public key (derive it from the signing key with "
            "`openssl pkey -in signing.pem -pubout`)",
            source=str(path),
        ) from None
    if not isinstance(key, Ed25519PublicKey):
        raise AuditInputError(
            f"the public key is {type(key).__name__}, not an Ed25519 key", source=str(path)
        )
    return key


def sign(statement: Mapping[str, Any], key: Ed25519PrivateKey) -> dict[str, Any]:
    """A DSSE envelope over the statement's JSON bytes."""
    body = json.dumps(statement, indent=2, sort_keys=True, ensure_ascii=False).encode("utf-8")
    signature = key.sign(pae(PAYLOAD_TYPE, body))
    return {
        "payloadType": PAYLOAD_TYPE,
        "payload": base64.b64encode(body).decode("ascii"),
        "signatures": [
            {
                "keyid": keyid(key.public_key()),
                "sig": base64.b64encode(signature).decode("ascii"),
            }
        ],
    }


@dataclass(frozen=True)
class Opened:
    """What an envelope holds; ``problems`` is empty when it could be read (and verified)."""

    statement: dict[str, Any] | None
    problems: tuple[str, ...]
    verified: bool


def _b64(text: Any) -> bytes:
    """DSSE allows standard and URL-safe base64, padded or not."""
    if not isinstance(text, str):
        raise ValueError("not a string")
    padded = text + "=" * (-len(text) % 4)
    try:
        return base64.b64decode(padded, validate=True)
    except binascii.Error:
        return base64.urlsafe_b64decode(padded)


def open_envelope(envelope: Any, key: Ed25519PublicKey | None) -> Opened:
    """Check the envelope's shape and, given a key, its signature; then read the statement."""
    if not isinstance(envelope, Mapping):
        return Opened(None, ("the envelope is not a JSON object",), False)
    if envelope.get("payloadType") != PAYLOAD_TYPE:
        return Opened(None, (f"payloadType is not {PAYLOAD_TYPE!r}",), False)
    signatures = envelope.get("signatures")
    if not isinstance(signatures, list) or not signatures:
        return Opened(None, ("the envelope has no signature",), False)
    try:
        body = _b64(envelope.get("payload"))
    except (ValueError, binascii.Error):
        return Opened(None, ("the payload is not base64",), False)
    verified = False
    if key is not None:
        expected = keyid(key)
        verified = any(_verifies(s, key, body, expected) for s in signatures)
        if not verified:
            return Opened(None, ("no signature verifies with the given public key",), False)
    try:
        statement = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError):
        return Opened(None, ("the payload is not a JSON statement",), verified)
    if not isinstance(statement, dict) or statement.get("_type") != STATEMENT_TYPE:
        return Opened(None, (f"the payload is not an in-toto Statement ({STATEMENT_TYPE})",), False)
    return Opened(statement, (), verified)


def _verifies(signature: Any, key: Ed25519PublicKey, body: bytes, expected: str) -> bool:
    if not isinstance(signature, Mapping) or signature.get("keyid", expected) not in ("", expected):
        return False
    try:
        key.verify(_b64(signature.get("sig")), pae(PAYLOAD_TYPE, body))
    except (InvalidSignature, ValueError, binascii.Error):
        return False
    return True
