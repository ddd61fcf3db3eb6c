"""--sign-pdf: a PAdES signature of the sample PDF, checked with pyHanko's own validation.

The key and its self-signed certificate are made for the test; no key is committed.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import pkcs12

from mtls_audit.cli import main
from mtls_audit.probe.certificates import self_signed
from mtls_audit.report.pdf_signature import PASSWORD_ENV

pytest.importorskip("pyhanko", reason="pyHanko (the [sign] extra) is not installed")
PASSWORD = "correct horse battery staple"


@pytest.fixture(scope="module")
def signer_files(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, x509.Certificate]:
    made = self_signed()  # the probe's throw-away certificate: any X.509 key will do
    certificate = made.certificate
    key = serialization.load_pem_private_key(made.pem, password=None)
    assert isinstance(key, ec.EllipticCurvePrivateKey)
    encryption = serialization.BestAvailableEncryption(PASSWORD.encode())
    data = pkcs12.serialize_key_and_certificates(b"signer", key, certificate, None, encryption)
    path = tmp_path_factory.mktemp("key") / "signer.p12"
    path.write_bytes(data)
    return path, certificate


@pytest.fixture(scope="module")
def signed_out(
    signer_files: tuple[Path, x509.Certificate], tmp_path_factory: pytest.TempPathFactory
) -> Path:
    out = tmp_path_factory.mktemp("signed")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(PASSWORD_ENV, PASSWORD)
        args = ["scan", "--sample", "--format", "json,pdf", "--out", str(out)]
        with pytest.raises(SystemExit) as exited:
            main([*args, "--sign-pdf", str(signer_files[0])])
    assert exited.value.code == 1  # the sample's critical findings, as without a signature
    return out


def test_the_signature_is_intact_trusted_and_covers_the_whole_file(
    signed_out: Path, signer_files: tuple[Path, x509.Certificate]
) -> None:
    from asn1crypto import x509 as asn1_x509
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign.validation import validate_pdf_signature
    from pyhanko.sign.validation.status import SignatureCoverageLevel
    from pyhanko_certvalidator import ValidationContext

    root = asn1_x509.Certificate.load(signer_files[1].public_bytes(serialization.Encoding.DER))
    with (signed_out / "report.pdf").open("rb") as handle:
        signatures = PdfFileReader(handle).embedded_signatures
        assert len(signatures) == 1
        status = validate_pdf_signature(signatures[0], ValidationContext(trust_roots=[root]))
    assert status.intact
    assert status.valid
    assert status.trusted
    assert status.coverage == SignatureCoverageLevel.ENTIRE_FILE
    assert signatures[0].sig_object["/SubFilter"] == "/ETSI.CAdES.detached"  # PAdES


def test_the_evidence_attachment_and_pdfa_identification_survive(signed_out: Path) -> None:
    from pypdf import PdfReader

    reader = PdfReader(signed_out / "report.pdf")
    assert reader.attachments["evidence.json"] == [(signed_out / "evidence.json").read_bytes()]
    stream: Any = reader.root_object["/Metadata"].get_object()
    xmp = stream.get_data().decode("utf-8")
    assert 'pdfaid:part="3"' in xmp
    assert 'pdfaid:conformance="B"' in xmp
    # PDF/A wants the info dictionary and the XMP to agree.
    producer = re.search(r'pdf:Producer="([^"]*)"', xmp)
    assert producer is not None
    assert reader.metadata is not None
    assert reader.metadata["/Producer"] == producer.group(1)


def test_the_manifest_lists_the_signed_pdf(
    signed_out: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["verify", str(signed_out)])
    assert exited.value.code == 0
    assert "OK" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("password", "expected"),
    [("Tr0ub4dor&3", "the password is wrong"), (None, "no password: set " + PASSWORD_ENV)],
)
def test_a_wrong_password_is_one_clear_error_without_the_password(
    password: str | None,
    expected: str,
    signer_files: tuple[Path, x509.Certificate],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    if password is None:
        monkeypatch.delenv(PASSWORD_ENV, raising=False)
    else:
        monkeypatch.setenv(PASSWORD_ENV, password)
    args = ["scan", "--sample", "--format", "json,pdf", "--out", str(tmp_path / "out")]
    with pytest.raises(SystemExit) as exited:
        main([*args, "--sign-pdf", str(signer_files[0])])
    assert exited.value.code == 2
    captured = capsys.readouterr()
    assert expected in captured.err
    assert "Traceback" not in captured.err
    assert not (tmp_path / "out" / "report.pdf").exists()  # refused before any work
    if password:
        assert password not in captured.err + captured.out


def test_a_file_that_is_not_pkcs12_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv(PASSWORD_ENV, PASSWORD)
    bogus = tmp_path / "key.pem"
    bogus.write_text("-----BEGIN PRIVATE KEY-----\nnot a key\n", encoding="utf-8")
    args = ["scan", "--sample", "--format", "json,pdf", "--out", str(tmp_path / "out")]
    with pytest.raises(SystemExit) as exited:
        main([*args, "--sign-pdf", str(bogus)])
    assert exited.value.code == 2
    err = capsys.readouterr().err
    assert f"{bogus}: cannot open the PKCS#12 file" in err
    assert PASSWORD not in err


def test_signing_needs_the_pdf_format(
    signer_files: tuple[Path, x509.Certificate], tmp_path: Path
) -> None:
    args = ["scan", "--sample", "--format", "json", "--out", str(tmp_path)]
    with pytest.raises(SystemExit) as exited:
        main([*args, "--sign-pdf", str(signer_files[0])])
    assert exited.value.code == 2
