"""Which response headers disclose the client certificate that was presented."""

from __future__ import annotations

import base64
import re
from collections.abc import Sequence

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509.oid import NameOID

# Header names that carry a forwarded client certificate, whatever their value.
CERTIFICATE_HEADER = re.compile(
    r"^(x-arr-clientcert|x-client-cert\w*|x-client-certificate[\w-]*|x-ssl-client[\w-]*"
    r"|ssl-client-cert|x-forwarded-client-cert|x-cert[\w-]*)$",
    re.IGNORECASE,
)
_MIN_MARKER = 8  # shorter serials and names would match by chance


def _markers(cert: x509.Certificate) -> dict[str, str]:
    """What of ``cert`` a header could show, upper-cased for comparison."""
    der = cert.public_bytes(serialization.Encoding.DER)
    found = {
        "thumbprint": cert.fingerprint(hashes.SHA1()).hex(),
        "SHA-256 fingerprint": cert.fingerprint(hashes.SHA256()).hex(),
        "serial number": format(cert.serial_number, "x"),
        "serial number (decimal)": str(cert.serial_number),
        "certificate body": base64.b64encode(der).decode()[: _MIN_MARKER * 4],
    }
    names = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    if names:
        found["subject"] = str(names[0].value)
    return {k: v.upper() for k, v in found.items() if len(v) >= _MIN_MARKER}


def disclosures(
    headers: Sequence[tuple[str, str]], cert: x509.Certificate | None
) -> list[dict[str, str]]:
    """``{"header", "discloses"}`` for each response header that shows ``cert`` (its
    thumbprint, fingerprint, serial, subject or body) or is named like a forwarded client
    certificate. Values are not recorded."""
    markers = _markers(cert) if cert is not None else {}
    found: list[dict[str, str]] = []
    for name, value in headers:
        seen = value.upper().replace(":", "")
        shown = next((what for what, marker in markers.items() if marker in seen), None)
        if shown is None and CERTIFICATE_HEADER.match(name):
            shown = "a client certificate header"
        if shown is not None:
            found.append({"header": name, "discloses": shown})
    return found
