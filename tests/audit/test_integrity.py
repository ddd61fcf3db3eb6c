"""Manifests, DSSE signatures and `mtls-audit verify`: any changed byte is found."""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ec import SECP256R1, generate_private_key
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from mtls_audit.audit.dsse import PAYLOAD_TYPE, keyid, load_public_key, pae
from mtls_audit.audit.integrity import ENVELOPE_NAME, MANIFEST_NAME, PREDICATE_TYPE
from tests.audit.conftest import Keys, SignedRun, exit_of
from tests.cli.test_cli import run_cli

OUTPUTS = {"evidence.json", "report.pdf", "results.sarif", "junit.xml", "snapshot.json"}


def verify(
    folder: Path, capsys: pytest.CaptureFixture[str], key: Path | None = None
) -> tuple[int, str]:
    args = ["verify", str(folder), *(["--key", str(key)] if key else [])]
    code, out, err = run_cli(args, capsys)
    return code, out + err


def flip(path: Path, position: int | None = None) -> None:
    data = bytearray(path.read_bytes())
    index = len(data) // 2 if position is None else position
    data[index] ^= 0x01
    path.write_bytes(bytes(data))


def test_pae_matches_the_dsse_specification_vector() -> None:
    assert (
        pae("http://example.com/HelloWorld", b"hello world")
        == b"DSSEv1 29 http://example.com/HelloWorld 11 hello world"
    )
    assert pae("t", b"") == b"DSSEv1 1 t 0 "
    assert pae("é", b"\x00") == b"DSSEv1 2 \xc3\xa9 1 \x00"  # lengths in bytes, not characters


def test_manifest_and_envelope_describe_every_output(signed_run: SignedRun) -> None:
    folder = signed_run.folder
    manifest = json.loads((folder / MANIFEST_NAME).read_text("utf-8"))
    listed = {entry["path"]: entry for entry in manifest["files"]}
    assert set(listed) >= OUTPUTS
    assert MANIFEST_NAME not in listed
    assert ENVELOPE_NAME not in listed
    for name, entry in listed.items():
        data = (folder / name).read_bytes()
        assert entry["sha256"] == hashlib.sha256(data).hexdigest()
        assert entry["size"] == len(data)

    envelope = json.loads((folder / ENVELOPE_NAME).read_text("utf-8"))
    assert envelope["payloadType"] == PAYLOAD_TYPE
    payload = base64.b64decode(envelope["payload"])
    statement = json.loads(payload)
    assert statement["_type"] == "https://in-toto.io/Statement/v1"
    assert statement["predicateType"] == PREDICATE_TYPE
    subjects = {s["name"]: s["digest"]["sha256"] for s in statement["subject"]}
    manifest_sha = hashlib.sha256((folder / MANIFEST_NAME).read_bytes()).hexdigest()
    assert subjects == {**{n: e["sha256"] for n, e in listed.items()}, MANIFEST_NAME: manifest_sha}
    (signature,) = envelope["signatures"]
    public = load_public_key(signed_run.keys.public)
    assert signature["keyid"] == keyid(public)
    public.verify(base64.b64decode(signature["sig"]), pae(PAYLOAD_TYPE, payload))


def test_verify_accepts_untouched_outputs(
    signed_run: SignedRun, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out = verify(signed_run.folder, capsys, signed_run.keys.public)
    assert code == 0
    assert "The signature is valid" in out
    code, out = verify(signed_run.folder, capsys)
    assert code == 0
    assert "The signature was NOT checked" in out


@pytest.mark.parametrize("name", ["report.pdf", "evidence.json", MANIFEST_NAME])
@pytest.mark.parametrize("with_key", [True, False])
def test_one_flipped_byte_fails_verification(
    name: str, with_key: bool, signed_run: SignedRun, capsys: pytest.CaptureFixture[str]
) -> None:
    flip(signed_run.folder / name)
    code, out = verify(signed_run.folder, capsys, signed_run.keys.public if with_key else None)
    assert code == 1
    assert f"MISMATCH {name}" in out
    assert "FAILED" in out


def test_a_flipped_whitespace_byte_of_the_manifest_is_found(
    signed_run: SignedRun, capsys: pytest.CaptureFixture[str]
) -> None:
    path = signed_run.folder / MANIFEST_NAME
    data = path.read_bytes()
    path.write_bytes(data.replace(b'\n  "files"', b'\n \t"files"', 1))  # same JSON meaning
    code, out = verify(signed_run.folder, capsys)
    assert code == 1
    assert f"MISMATCH {MANIFEST_NAME} was edited" in out


def test_a_tampered_signature_or_statement_fails(
    signed_run: SignedRun, capsys: pytest.CaptureFixture[str]
) -> None:
    path = signed_run.folder / ENVELOPE_NAME
    envelope = json.loads(path.read_text("utf-8"))
    statement = json.loads(base64.b64decode(envelope["payload"]))
    statement["subject"][0]["digest"]["sha256"] = "0" * 64
    envelope["payload"] = base64.b64encode(json.dumps(statement).encode()).decode()
    path.write_text(json.dumps(envelope), encoding="utf-8")
    code, out = verify(signed_run.folder, capsys, signed_run.keys.public)
    assert code == 1
    assert "no signature verifies with the given public key" in out
    code, out = verify(signed_run.folder, capsys)  # unauthenticated, but still inconsistent
    assert code == 1
    assert "the signed statement says sha256 " + "0" * 64 in out


def test_a_wrong_key_fails(
    signed_run: SignedRun, keys: Keys, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out = verify(signed_run.folder, capsys, keys.public)
    assert code == 1
    assert "no signature verifies with the given public key" in out


def test_unlisted_and_missing_files_fail(
    signed_run: SignedRun, capsys: pytest.CaptureFixture[str]
) -> None:
    (signed_run.folder / "notes.txt").write_text("added later")
    (signed_run.folder / "junit.xml").unlink()
    code, out = verify(signed_run.folder, capsys, signed_run.keys.public)
    assert code == 1
    assert "MISMATCH notes.txt: present but not listed in manifest.json" in out
    assert "MISMATCH junit.xml: listed in manifest.json but missing" in out


def test_unsigned_outputs_have_a_manifest_and_a_key_requires_a_signature(
    tmp_path: Path, keys: Keys, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "o"
    assert exit_of(["scan", "--sample", "--format", "json", "--out", str(out)]) == 1
    manifest = json.loads((out / MANIFEST_NAME).read_text("utf-8"))
    assert {e["path"] for e in manifest["files"]} == {"evidence.json", "snapshot.json"}
    assert not (out / ENVELOPE_NAME).exists()
    code, text = verify(out, capsys)
    assert code == 0
    assert "not signed" in text
    code, text = verify(out, capsys, keys.public)
    assert code == 1
    assert f"MISMATCH {ENVELOPE_NAME} is missing" in text
    code, text = verify(tmp_path, capsys)
    assert code == 1
    assert f"MISMATCH {MANIFEST_NAME} is missing" in text


def _pem(key: Ed25519PrivateKey, password: bytes | None = None) -> bytes:
    encryption = (
        serialization.BestAvailableEncryption(password)
        if password
        else serialization.NoEncryption()
    )
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption
    )


@pytest.mark.parametrize(
    ("content", "words"),
    [
        (b"not a key", "not a PEM private key"),
        (_pem(Ed25519PrivateKey.generate(), b"secret"), "the signing key is encrypted"),
        (
            generate_private_key(SECP256R1()).private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            ),
            "not an Ed25519 key",
        ),
    ],
)
def test_an_unusable_signing_key_is_an_input_error(
    content: bytes, words: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    key = tmp_path / "key.pem"
    key.write_bytes(content)
    out = tmp_path / "o"
    code, _, err = run_cli(["scan", "--sample", "--sign-key", str(key), "--out", str(out)], capsys)
    assert code == 2
    assert f"{key}: " in err
    assert words in err
    assert not out.exists()


def test_verify_usage_errors(
    signed_run: SignedRun, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, _ = run_cli(["verify", str(tmp_path / "absent")], capsys)
    assert code == 2
    code, _, err = run_cli(
        ["verify", str(signed_run.folder), "--key", str(signed_run.keys.private)], capsys
    )
    assert code == 2
    assert "not a PEM public key" in err
