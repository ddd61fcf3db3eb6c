"""Shared fixtures: sample variants, Ed25519 keys made in the test, one signed run with a PDF.

The PDF is slow to render, so one signed, waived run of the bundled sample is made per session
and the tests that need a PDF (reading its text, flipping its bytes) use copies of it.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from mtls_audit.cli import main
from mtls_audit.resources import package_data

from .postgres import postgres

__all__ = ["postgres"]  # a real PostgreSQL server, for the history tests

PARTNERS = "partners.contoso-health.example"
WAIVERS_YAML = """\
waivers:
  - rule: MTLS-OUT-01
    subjects:
      - "*/apis/lab-results"
      - "*/BACKENDS/LAB-RESULTS-BACKEND"
    justification: The lab interface runs on an isolated network until the LIS upgrade.
    compensating_control: IPsec tunnel between the gateway and the LIS.
    approver: Jane Roe (CISO)
    approved_on: 2020-11-01
    expires_on: 2099-03-31
    ticket: CHG-1042
  - rule: MTLS-GW-03
    subjects: "*/service/apim-contoso-health"
    justification: Partner onboarding window.
    approver: John Doe
    approved_on: 2020-01-01
    expires_on: 2021-06-30
  - rule: MTLS-TLS-01
    subjects: "*/service/no-such-service"
    justification: Legacy clients.
    approver: John Doe
    approved_on: 2020-01-01
    expires_on: 2099-01-01
"""


def exit_of(args: list[str]) -> int:
    """Run the command line; its exit code."""
    with pytest.raises(SystemExit) as info:
        main(args)
    return int(info.value.code or 0)


def sample_document(*, fix: bool = False, regress: bool = False) -> dict[str, Any]:
    """The bundled sample, optionally with one fix (the partners hostname negotiates client
    certificates) and one regression (the EHR backend's URL becomes http://)."""
    document: dict[str, Any] = json.loads(package_data("samples", "healthcare.json").read_text())
    for resource in document["resources"]:
        if fix and resource["type"] == "Microsoft.ApiManagement/service":
            for host in resource["properties"]["hostnameConfigurations"]:
                if host.get("hostName") == PARTNERS:
                    host["negotiateClientCertificate"] = True
        if regress and resource["type"].endswith("/backends") and "ehr-fhir" in resource["name"]:
            url = resource["properties"]["url"]
            resource["properties"]["url"] = url.replace("https://", "http://")
    return document


def write_sample(path: Path, **changes: bool) -> Path:
    path.write_text(json.dumps(sample_document(**changes)), encoding="utf-8")
    return path


@dataclass(frozen=True)
class Keys:
    private: Path
    public: Path


def _write_keys(folder: Path) -> Keys:
    key = Ed25519PrivateKey.generate()
    private = folder / "signing.pem"
    private.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    public = folder / "signing.pub.pem"
    public.write_bytes(
        key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    return Keys(private, public)


@pytest.fixture
def keys(tmp_path: Path) -> Keys:
    return _write_keys(tmp_path)


@dataclass(frozen=True)
class SignedRun:
    folder: Path
    keys: Keys
    exit_code: int


@pytest.fixture(scope="session")
def signed_run_master(tmp_path_factory: pytest.TempPathFactory) -> SignedRun:
    base = tmp_path_factory.mktemp("signed")
    keys = _write_keys(base)
    waivers = base / "waivers.yaml"
    waivers.write_text(WAIVERS_YAML, encoding="utf-8")
    folder = base / "out"
    code = exit_of(
        [
            "scan",
            "--sample",
            "--waivers",
            str(waivers),
            "--sign-key",
            str(keys.private),
            "--format",
            "json,pdf,sarif,junit",
            "--out",
            str(folder),
        ]
    )
    return SignedRun(folder, keys, code)


@pytest.fixture
def signed_run(signed_run_master: SignedRun, tmp_path: Path) -> SignedRun:
    """A private copy of the signed run, free to be tampered with."""
    copy = tmp_path / "out"
    shutil.copytree(signed_run_master.folder, copy)
    return SignedRun(copy, signed_run_master.keys, signed_run_master.exit_code)
