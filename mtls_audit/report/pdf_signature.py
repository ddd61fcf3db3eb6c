"""An optional PAdES signature of the PDF report with the user's X.509 key (pyHanko).

The signature is appended as an incremental update: the bytes WeasyPrint wrote stay as they are,
the embedded evidence and the PDF/A-3b metadata with them, and the signature (PAdES baseline,
``ETSI.CAdES.detached``, SHA-256) covers the whole file. The output folder's manifest is written
afterwards, so it lists the signed PDF's digest.

The key and its certificate come as a PKCS#12 file; its password from the environment variable
``MTLS_AUDIT_SIGN_PDF_PASSWORD`` (unset: a PKCS#12 file without a password), never from the
command line, where process lists and shell histories would keep it. It is not printed, and it is
not kept once the file is read.
"""

from __future__ import annotations

import io
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from mtls_audit.dependencies import importing
from mtls_audit.errors import InputError
from mtls_audit.output_files import write_file

PASSWORD_ENV = "MTLS_AUDIT_SIGN_PDF_PASSWORD"
FIELD_NAME = "mtls-audit-signature"
PURPOSE = "Signing the PDF report (--sign-pdf)"


class PdfSigner:
    """A key and certificate loaded from a PKCS#12 file, ready to sign PDF files in place."""

    def __init__(self, signer: Any, source: str) -> None:
        self._signer = signer
        self.source = source

    def sign(self, path: Path) -> None:
        """Append a PAdES signature over the whole of the PDF at ``path``."""
        with importing(PURPOSE, "pyHanko"):
            from pyhanko.pdf_utils import generic
            from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
            from pyhanko.pdf_utils.metadata.model import VENDOR
            from pyhanko.sign import fields, signers

        writer = IncrementalPdfFileWriter(io.BytesIO(path.read_bytes()))
        # pyHanko writes itself as the XMP pdf:Producer but appends itself to the info
        # dictionary's; PDF/A wants the two equal, so the info dictionary names it alone.
        info = generic.DictionaryObject(writer.trailer_view["/Info"])  # type: ignore[no-untyped-call]
        info[generic.NameObject("/Producer")] = generic.TextStringObject(VENDOR)
        writer.set_info(info)
        metadata = signers.PdfSignatureMetadata(
            field_name=FIELD_NAME,
            md_algorithm="sha256",
            subfilter=fields.SigSeedSubFilter.PADES,
            reason="mtls-audit compliance evidence",
        )
        signed = signers.sign_pdf(writer, metadata, signer=self._signer)
        write_file(path, signed.getvalue())


def load_pdf_signer(path: Path, environ: Mapping[str, str] | None = None) -> PdfSigner:
    """The signer of a PKCS#12 file, its password read from ``MTLS_AUDIT_SIGN_PDF_PASSWORD``.

    Raises InputError, naming the file but never the password, when the file cannot be read,
    is not PKCS#12, the password is wrong, or it holds no key or no certificate.
    """
    source = str(path)
    password = (os.environ if environ is None else environ).get(PASSWORD_ENV)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read the PKCS#12 file: {exc.strerror}", source=source) from None
    with importing(PURPOSE, "pyHanko"):
        from cryptography.hazmat.primitives.serialization import pkcs12
        from pyhanko.sign.signers import SimpleSigner

    secret = password.encode("utf-8") if password else None
    try:
        key, certificate, _ = pkcs12.load_key_and_certificates(data, secret)
    except ValueError:
        given = "the password in" if password else "no password: set"
        raise InputError(
            f"cannot open the PKCS#12 file with {given} {PASSWORD_ENV}; the password is wrong "
            "or the file is not PKCS#12 (.p12/.pfx)",
            source=source,
        ) from None
    if key is None or certificate is None:
        raise InputError(
            "the PKCS#12 file holds no private key or no certificate: it needs both",
            source=source,
        )
    signer = SimpleSigner.load_pkcs12_data(data, other_certs=(), passphrase=secret)
    return PdfSigner(signer, source)
