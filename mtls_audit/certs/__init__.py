"""X.509 helpers: read certificates, describe them as APIM and .NET show them, check chains.

Pure functions over ``cryptography`` objects; nothing here calls Azure. ``facts`` reads one
certificate (thumbprint, serial, key, CA flags, self-signature), ``names`` renders and reads
distinguished names in .NET's form, ``times`` judges validity, ``chains`` builds issuing chains.
"""

from mtls_audit.certs.chains import ChainResult, build_chain
from mtls_audit.certs.facts import (
    CaConstraints,
    CertificateError,
    CertificateFacts,
    KeyInfo,
    KeyType,
    ca_constraints,
    is_self_signed,
    key_info,
    load_certificate,
    serial_hex,
    sha256_fingerprint,
    signed_by,
    thumbprint,
)
from mtls_audit.certs.names import (
    DistinguishedNameError,
    DnForm,
    ParsedDn,
    Rdn,
    dotnet_name,
    parse_dn,
)
from mtls_audit.certs.times import (
    TimestampError,
    Validity,
    as_utc,
    days_left,
    days_phrase,
    expiry_phrase,
    full_days,
    parse_timestamp,
    validity_at,
)

__all__ = [
    "CaConstraints",
    "CertificateError",
    "CertificateFacts",
    "ChainResult",
    "DistinguishedNameError",
    "DnForm",
    "KeyInfo",
    "KeyType",
    "ParsedDn",
    "Rdn",
    "TimestampError",
    "Validity",
    "as_utc",
    "build_chain",
    "ca_constraints",
    "days_left",
    "days_phrase",
    "dotnet_name",
    "expiry_phrase",
    "full_days",
    "is_self_signed",
    "key_info",
    "load_certificate",
    "parse_dn",
    "parse_timestamp",
    "serial_hex",
    "sha256_fingerprint",
    "signed_by",
    "thumbprint",
    "validity_at",
]
