"""The command line end to end against the fake Azure, signed in through a stub ``az``.

The stub answers ``az account get-access-token --output json --resource R [--tenant T]`` the way
azure-identity's ``AzureCliCredential`` parses it (``accessToken`` and ``expires_on``).
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from mtls_audit.sources.azure.source import AzureOptions, collect_azure

from .credentials import stub_az
from .fake_azure import FakeAzure
from .instance import SERVICE_ID, SUBSCRIPTION, TENANT, Instance
from .tls_material import TlsFiles

REPO = Path(__file__).resolve().parents[2]


def test_cli_auth_gets_tokens_from_az(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    options: Callable[..., AzureOptions],
    fake: FakeAzure,
    instance: Instance,
) -> None:
    log = stub_az(tmp_path / "bin")
    monkeypatch.setenv("PATH", f"{tmp_path / 'bin'}{os.pathsep}{os.environ['PATH']}")

    parts = collect_azure(options(auth="cli"))

    assert parts["gaps"] == []
    calls = log.read_text().splitlines()
    # A custom ARM endpoint is its own token audience.
    assert any(c.endswith(f"--resource {fake.url}") for c in calls)
    assert any(f"--resource https://vault.azure.net --tenant {TENANT}" in c for c in calls)


@pytest.mark.skipif(
    importlib.util.find_spec("mtls_audit.__main__") is None,
    reason="waits for `python -m mtls_audit` (mtls_audit/__main__.py and cli.py)",
)
def test_scan_writes_evidence_naming_the_service(
    tmp_path: Path, fake: FakeAzure, instance: Instance, tls: TlsFiles
) -> None:
    log = stub_az(tmp_path / "bin")
    env = {
        **os.environ,
        "PATH": f"{tmp_path / 'bin'}{os.pathsep}{os.environ['PATH']}",
        "REQUESTS_CA_BUNDLE": str(tls.ca),
        "SSL_CERT_FILE": str(tls.ca),
    }
    out = tmp_path / "out"
    command = [
        sys.executable, "-m", "mtls_audit", "scan",
        "--subscription", SUBSCRIPTION,
        "--auth", "cli",
        "--cloud", "AzureCloud",
        "--arm-endpoint", fake.url,
        "--out", str(out),
        "--format", "json",
    ]  # fmt: skip

    result = subprocess.run(
        command, env=env, cwd=REPO, capture_output=True, text=True, timeout=300, check=False
    )

    # The instance has a workspace, whose APIs are not judged: the evidence is incomplete.
    assert result.returncode == 3, result.stderr
    evidence = json.loads((out / "evidence.json").read_text(encoding="utf-8"))
    assert SERVICE_ID.lower() in json.dumps(evidence).lower()
    assert [g["subject"].rsplit("/", 1)[-1] for g in evidence["gaps"]] == ["team-a"]
    assert evidence["gaps"][0]["kind"] == "not-analysed"
    assert log.read_text()  # the token came from the stub az
    assert len(fake.requests) > 0
