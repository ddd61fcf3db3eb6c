"""A run nobody watches ends on time: a hanging endpoint or token endpoint meets the deadline,
and SIGINT or SIGTERM end the collection with what was collected assessed and the rest named."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from mtls_audit.sources.azure.source import AzureOptions, collect_azure
from tests.cli.test_cli import run_cli

from .conftest import Collect
from .credentials import TOKEN, stub_az
from .fake_azure import TOKEN_PATH, FakeAzure, Fault
from .instance import SERVICE_ID, SUBSCRIPTION, TENANT, Instance
from .tls_material import TlsFiles

REPO = Path(__file__).resolve().parents[2]
OPERATIONS = r"/apis/[^/]+/operations$"


def test_a_hanging_endpoint_ends_at_the_deadline_with_named_gaps(
    collect: Collect, fake: FakeAzure, instance: Instance
) -> None:
    fake.faults.append(Fault(OPERATIONS, delay_s=30.0))

    started = time.monotonic()
    parts = collect(timeout_s=20.0, deadline_s=1.5)
    elapsed = time.monotonic() - started

    assert elapsed < 6  # a per-request timeout alone would wait 20 s, three times
    assert parts["provenance"]["stopped"]["kind"] == "deadline"
    cut = [g for g in parts["gaps"] if g["kind"] == "deadline"]
    assert {g["what"] for g in cut} >= {"operations"}
    assert all(g["subject"].startswith(SERVICE_ID) for g in cut if g["what"] == "operations")
    assert "deadline (1.5 s)" in cut[0]["message"]
    # What was collected before the deadline is kept.
    assert any(r["id"] == SERVICE_ID for r in parts["resources"])
    assert [r for r in parts["resources"] if r["type"].endswith("/service/apis")]
    # The reads cut short are in the request log, unanswered.
    cut_short = [
        r
        for r in parts["provenance"]["requests"]
        if r["status"] is None and re.search(OPERATIONS, r["url"].split("?")[0])
    ]
    assert cut_short


def test_a_vault_listing_cut_by_the_deadline_is_no_false_not_found(
    collect: Collect, fake: FakeAzure, instance: Instance
) -> None:
    fake.faults.append(Fault(r"/providers/Microsoft\.KeyVault/vaults$", delay_s=30.0))

    parts = collect(timeout_s=20.0, deadline_s=1.5)

    by_what = {g["what"]: g for g in parts["gaps"]}
    assert by_what["keyvaults"]["kind"] == "deadline"
    assert by_what["keyvault"]["kind"] == "not-collected"
    assert by_what["keyvault"]["subject"] == instance.vault_url
    assert all(g["kind"] != "not-found" for g in parts["gaps"])


def test_workload_identity_signs_in_at_the_authority_of_azure_authority_host(
    options: Callable[..., AzureOptions],
    fake: FakeAzure,
    instance: Instance,
    workload_identity: None,
) -> None:
    parts = collect_azure(options(auth="workload-identity"))

    assert parts["gaps"] == []
    token_requests = {(s.method, s.path) for s in fake.requests if TOKEN_PATH.fullmatch(s.path)}
    assert token_requests == {("POST", f"/{TENANT}/oauth2/v2.0/token")}  # ARM's and Key Vault's
    provenance = parts["provenance"]
    assert provenance["endpoints"]["authority"] == fake.url
    assert provenance["auth"] == {
        "mode": "workload-identity",
        "credential": "WorkloadIdentityCredential",
    }


def test_a_hanging_token_endpoint_ends_within_the_deadline_with_named_gaps(
    options: Callable[..., AzureOptions],
    fake: FakeAzure,
    instance: Instance,
    workload_identity: None,
) -> None:
    fake.faults.append(Fault(TOKEN_PATH.pattern + "$", delay_s=30.0))

    started = time.monotonic()
    parts = collect_azure(options(auth="workload-identity", timeout_s=20.0, deadline_s=1.5))
    elapsed = time.monotonic() - started

    assert elapsed < 6
    (gap,) = parts["gaps"]
    assert (gap["kind"], gap["subject"], gap["what"]) == (
        "deadline",
        f"/subscriptions/{SUBSCRIPTION}",
        "services",
    )
    assert parts["provenance"]["stopped"]["kind"] == "deadline"
    assert not fake.seen(r"^/subscriptions/")  # no ARM request was made without a token


def test_a_token_endpoint_slower_than_the_timeout_is_named(
    options: Callable[..., AzureOptions],
    fake: FakeAzure,
    instance: Instance,
    workload_identity: None,
) -> None:
    fake.faults.append(Fault(TOKEN_PATH.pattern + "$", delay_s=30.0))

    started = time.monotonic()
    parts = collect_azure(options(auth="workload-identity", timeout_s=0.5, max_retries=1))
    elapsed = time.monotonic() - started

    assert elapsed < 6
    (gap,) = parts["gaps"]
    assert gap["what"] == "services"
    assert f"no ARM token from {fake.url}" in gap["message"]
    assert "object at 0x" not in gap["message"]


def test_sigint_ends_the_collection_and_keeps_what_was_collected(
    collect: Collect, fake: FakeAzure, instance: Instance
) -> None:
    fake.faults.append(Fault(OPERATIONS, delay_s=30.0))

    def interrupt_when_stuck() -> None:
        while not fake.seen(OPERATIONS):
            time.sleep(0.02)
        os.kill(os.getpid(), signal.SIGINT)

    threading.Thread(target=interrupt_when_stuck, daemon=True).start()
    started = time.monotonic()
    parts = collect(timeout_s=20.0)
    elapsed = time.monotonic() - started

    assert elapsed < 6
    assert parts["provenance"]["stopped"] == {
        "kind": "interrupted",
        "message": "not collected: the collection was interrupted (SIGINT)",
    }
    assert "interrupted" in {g["kind"] for g in parts["gaps"]}
    assert any(r["id"] == SERVICE_ID for r in parts["resources"])
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # handler given back


def test_sigterm_halfway_through_a_scan_writes_incomplete_evidence(
    tmp_path: Path, fake: FakeAzure, instance: Instance, tls: TlsFiles
) -> None:
    stub_az(tmp_path / "bin")
    fake.faults.append(Fault(OPERATIONS, delay_s=30.0))
    out = tmp_path / "out"
    env = {
        **os.environ,
        "PATH": f"{tmp_path / 'bin'}{os.pathsep}{os.environ['PATH']}",
        "REQUESTS_CA_BUNDLE": str(tls.ca),
    }
    command = [
        sys.executable, "-m", "mtls_audit", "scan",
        "--subscription", SUBSCRIPTION, "--auth", "cli", "--arm-endpoint", fake.url,
        "--timeout", "20", "--out", str(out), "--format", "json,text",
    ]  # fmt: skip
    process = subprocess.Popen(
        command, env=env, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        deadline = time.monotonic() + 60
        while not fake.seen(OPERATIONS) and time.monotonic() < deadline:
            time.sleep(0.05)
        process.send_signal(signal.SIGTERM)
        stdout, stderr = process.communicate(timeout=60)
    finally:
        process.kill()

    assert process.returncode == 3, stderr
    assert "collection stopped early (interrupted)" in stderr
    evidence = json.loads((out / "evidence.json").read_text(encoding="utf-8"))
    assert [e["kind"] for e in evidence["errors"]] == ["collection-stopped"]
    assert "interrupted" in {g["kind"] for g in evidence["gaps"]}
    assert SERVICE_ID.lower() in json.dumps(evidence["run"]["scope"]).lower()
    snapshot = json.loads((out / "snapshot.json").read_text(encoding="utf-8"))
    assert snapshot["provenance"]["stopped"]["message"].endswith("(SIGTERM)")
    assert TOKEN not in stdout + stderr


@pytest.fixture
def live_schedule(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fake: FakeAzure, tls: TlsFiles
) -> Path:
    """A schedule with one live target, signed in through the stub az, at the fake."""
    stub_az(tmp_path / "bin")
    monkeypatch.setenv("PATH", f"{tmp_path / 'bin'}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(tls.ca))
    monkeypatch.setenv("MTLS_AUDIT_ARM_ENDPOINT", fake.url)
    config = tmp_path / "schedule.yaml"
    config.write_text(
        f"output: runs\nformats: [json]\ndeadline: 120\ntargets:\n"
        f"  - name: live\n    subscriptions: [{SUBSCRIPTION}]\n    timeout: 7\n    retries: 1\n",
        encoding="utf-8",
    )
    return config


def test_a_scheduled_live_target_runs_with_its_own_bounds_at_a_custom_endpoint(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    fake: FakeAzure,
    instance: Instance,
    live_schedule: Path,
) -> None:
    code, out, err = run_cli(["schedule", "run", str(live_schedule), "--auth", "cli"], capsys)

    assert code == 3, err  # the instance's workspace is not analysed
    (snapshot_file,) = (tmp_path / "runs" / "live").glob("*/snapshot.json")
    provenance = json.loads(snapshot_file.read_text(encoding="utf-8"))["provenance"]
    assert provenance["limits"] == {"timeout_s": 7, "max_retries": 1, "deadline_s": 120}
    assert provenance["endpoints"]["arm"] == fake.url
    assert out.startswith("live: ")


def test_collect_past_its_deadline_writes_the_snapshot_and_exits_3(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    fake: FakeAzure,
    instance: Instance,
    tls: TlsFiles,
) -> None:
    stub_az(tmp_path / "bin")
    monkeypatch.setenv("PATH", f"{tmp_path / 'bin'}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(tls.ca))
    fake.faults.append(Fault(OPERATIONS, delay_s=30.0))
    args = ["collect", "--subscription", SUBSCRIPTION, "--auth", "cli", "--arm-endpoint", fake.url]

    code, out, err = run_cli([*args, "--deadline", "1.5", "--out", str(tmp_path)], capsys)

    assert code == 3
    assert "collection stopped early (deadline)" in err
    assert out.startswith(f"Wrote {tmp_path / 'snapshot.json'}")
    document = json.loads((tmp_path / "snapshot.json").read_text(encoding="utf-8"))
    assert document["provenance"]["stopped"]["kind"] == "deadline"


def test_sigterm_during_a_scheduled_run_stops_the_collection_on_its_worker_thread(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    fake: FakeAzure,
    instance: Instance,
    live_schedule: Path,
) -> None:
    fake.faults.append(Fault(OPERATIONS, delay_s=30.0))

    def terminate_when_stuck() -> None:
        while not fake.seen(OPERATIONS):
            time.sleep(0.02)
        os.kill(os.getpid(), signal.SIGTERM)

    threading.Thread(target=terminate_when_stuck, daemon=True).start()
    started = time.monotonic()
    code, _, err = run_cli(["schedule", "run", str(live_schedule), "--auth", "cli"], capsys)

    assert time.monotonic() - started < 20
    assert code == 3, err
    (evidence_file,) = (tmp_path / "runs" / "live").glob("*/evidence.json")
    evidence = json.loads(evidence_file.read_text(encoding="utf-8"))
    assert evidence["run"]["source"]["stopped"]["message"].endswith("(SIGTERM)")
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL  # given back
