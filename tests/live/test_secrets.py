"""Secrets the fake serves (and the token itself) never reach the snapshot or any log: one in
every secret-bearing property of each resource type the collector reads, and in every policy
construct that can carry one (in a policy and in a fragment)."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.redaction.canaries import PUBLIC_MARKER
from tests.redaction.test_no_secret_in_outputs import outputs

from .conftest import Collect
from .credentials import TOKEN, stub_az
from .fake_azure import FakeAzure
from .instance import PLANTED_SECRETS, POLICY_CANARIES, SERVICE, SUBSCRIPTION, build_instance
from .test_cli_e2e import REPO
from .tls_material import TlsFiles


def test_planted_secrets_stay_out_of_snapshot_and_logs(
    collect: Collect, fake: FakeAzure, caplog: pytest.LogCaptureFixture
) -> None:
    served = build_instance(fake.url, plant_secrets=True)
    fake.serve(served)
    served_text = json.dumps(served.resources)
    assert all(secret in served_text for secret in PLANTED_SECRETS)  # the fake does serve them

    with caplog.at_level(logging.DEBUG):
        parts = collect(verbose=True)

    assert parts["gaps"] == []
    snapshot_text = json.dumps(parts)
    log_text = caplog.text + "\n".join(record.getMessage() for record in caplog.records)
    assert caplog.records  # the run did log (each call, and the SDK's own HTTP log)
    token_payload = TOKEN.split(".")[1]
    for secret in (*PLANTED_SECRETS, TOKEN, token_payload):
        assert secret not in snapshot_text
        assert secret not in log_text


def test_redaction_keeps_what_is_not_secret(collect: Collect, fake: FakeAzure) -> None:
    fake.serve(build_instance(fake.url, plant_secrets=True))

    parts = collect()

    found = {(r["type"].rsplit("/", 1)[1], r["name"]): r["properties"] for r in parts["resources"]}
    assert found["namedValues", "plain"]["value"] == "weu"
    assert found["namedValues", "secret"]["value"] == "[redacted]"  # hidden, not dropped
    assert found["namedValues", "secret"]["secret"] is True
    assert found["certificates", "uploaded-ca"]["thumbprint"] == "11" * 20
    backend = found["backends", "patients-backend"]
    assert backend["credentials"]["authorization"] == {"scheme": "Basic", "parameter": "[redacted]"}
    assert backend["proxy"] == {"url": "http://proxy.contoso.example", "password": "[redacted]"}
    assert found["subscriptions", "team-a"]["allowTracing"] is False
    planted = "/apis/planted/policies/policy"
    policy = next(r for r in parts["resources"] if r["id"].endswith(planted))
    fragment = found["policyFragments", "planted"]
    for text in (policy["properties"]["value"], fragment["value"]):
        assert '<authentication-basic username="svc" password="[redacted]" />' in text
        assert f"<value>{PUBLIC_MARKER}</value>" in text  # a header that is no credential
    assert parts["provenance"]["redactions"] == {
        "backend-credential": 3,
        "certificatepassword": 2,
        "data": 1,
        "encodedcertificate": 1,
        "named-value-secret": 1,
        "password": 2,
        "primarykey": 1,
        "secondarykey": 1,
        # each policy construct, once in the API policy and once in the fragment
        "policy-body": 2,
        "policy-header-value": 22,
        "policy-key": 4,
        "policy-password-literal": 4,
        "policy-variable": 2,
        "secret-json-member": 2,
        "secret-query-parameter": 6,
    }


def test_a_live_scan_writes_no_planted_secret_in_any_output(
    tmp_path: Path, fake: FakeAzure, tls: TlsFiles
) -> None:
    fake.serve(build_instance(fake.url, plant_secrets=True))
    stub_az(tmp_path / "bin")
    env = {
        **os.environ,
        "PATH": f"{tmp_path / 'bin'}{os.pathsep}{os.environ['PATH']}",
        "REQUESTS_CA_BUNDLE": str(tls.ca),
        "SSL_CERT_FILE": str(tls.ca),
    }
    out = tmp_path / "out"
    command = [
        sys.executable, "-m", "mtls_audit", "scan", "--verbose",
        "--subscription", SUBSCRIPTION, "--auth", "cli", "--arm-endpoint", fake.url,
        "--out", str(out), "--format", "json,text,pdf,html,sarif,junit,markdown",
    ]  # fmt: skip

    result = subprocess.run(
        command, env=env, cwd=REPO, capture_output=True, text=True, timeout=300, check=False
    )

    assert result.returncode in (1, 3), result.stderr[-2000:]
    texts = outputs(out, result.stdout + result.stderr)
    assert {"snapshot.json", "report.pdf (text)", "results.sarif", "junit.xml"} <= set(texts)
    assert SERVICE in texts["report.pdf (text)"]  # the search does read the PDF's text
    token_payload = TOKEN.split(".")[1]
    leaked = [
        f"{secret} in {name}"
        for secret in (*PLANTED_SECRETS, TOKEN, token_payload, POLICY_CANARIES.prefix)
        for name, text in texts.items()
        if secret in text
    ]
    assert leaked == []
