"""An estate scanned end to end against the fake: discovered through Resource Graph, each
instance scanned into its own folder, concurrently, within each subscription's read budget."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from mtls_audit.audit.history import History
from mtls_audit.cli import main
from mtls_audit.sources.azure.source import AzureOptions, collect_azure

from .credentials import TOKEN, FakeCredential
from .estate import estate_instance, subscription_id
from .fake_azure import TOKEN_PATH, FakeAzure, Fault
from .tls_material import TlsFiles

SUBS = [subscription_id(n) for n in (1, 2, 3, 4)]
THROTTLED, FORBIDDEN, LOCKED = SUBS[1], SUBS[2], SUBS[3]
LAYOUT = {
    "apim-a1": SUBS[0],
    "apim-a2": SUBS[0],
    "apim-b1": THROTTLED,
    "apim-b2": THROTTLED,
    "apim-c1": FORBIDDEN,
    "apim-d1": LOCKED,  # Resource Graph shows it, but its children may not be read
}


@pytest.fixture
def estate(
    fake: FakeAzure, tls: TlsFiles, monkeypatch: pytest.MonkeyPatch, workload_identity: None
) -> FakeAzure:
    fake.serve(*(estate_instance(fake.url, sub, name) for name, sub in LAYOUT.items()))
    fake.forbidden_subscriptions = {FORBIDDEN}
    fake.throttled = {THROTTLED}
    fake.read_burst, fake.read_refill_per_s = 12.0, 30.0
    fake.faults.append(Fault(r"/service/apim-d1/", status=403, code="AuthorizationFailed"))
    fake.graph.page_size = 2
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(tls.ca))
    monkeypatch.setenv("SSL_CERT_FILE", str(tls.ca))
    monkeypatch.setenv("MTLS_AUDIT_ARM_ENDPOINT", fake.url)
    return fake


def _run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as info:
        main(args)
    out, err = capsys.readouterr()
    return int(info.value.code or 0), out, err


def _snapshot(root: Path, name: str) -> dict[str, Any]:
    (folder,) = (root / name).iterdir()
    document: dict[str, Any] = json.loads((folder / "snapshot.json").read_text("utf-8"))
    return document


def _reads(document: dict[str, Any]) -> list[str]:
    """The reads made: a throttled attempt is retried (not a read more), and Key Vault's
    authentication challenge (an unauthenticated request answered 401) is sent once or, when
    two certificates are asked for at once, twice, in an estate as in a single scan."""
    return sorted(
        r["url"]
        for r in document["provenance"]["requests"]
        if r["status"] != 429 and not (r["status"] == 401 and r["url"].startswith("/certificates/"))
    )


@pytest.mark.parametrize("processes", [1, 2])
def test_an_estate_is_found_and_each_instance_scanned_once_politely(
    estate: FakeAzure,
    tls: TlsFiles,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    processes: int,
) -> None:
    root = tmp_path / "runs"
    args = ["estate", "scan", "--out", str(root), "--auth", "workload-identity"]
    args += [a for sub in SUBS for a in ("--subscription", sub)]
    args += ["--workers", "4", "--retries", "6", "--processes", str(processes)]

    code, out, err = _run(args, capsys)

    assert code == 3, err  # the forbidden subscription and the locked instance: incomplete
    scanned = sorted(p.name for p in root.iterdir() if p.is_dir() and p.name.startswith("apim"))
    assert scanned == ["apim-a1", "apim-a2", "apim-b1", "apim-b2", "apim-d1"]
    lines = out.splitlines()
    assert any(
        line.startswith("estate: ERROR (exit 3) discovery: ") and FORBIDDEN in line
        for line in lines
    )
    assert lines[-1] == f"History: {root / 'history.sqlite'}"
    # Progress in a log: one plain line per target as it ends, then the totals.
    assert sum(line.startswith("mtls-audit: [") for line in err.splitlines()) == 6
    assert "6 of 6 targets done" in err

    # The throttled subscription's instances were slowed down, not cut short.
    throttled = [_snapshot(root, n) for n in ("apim-b1", "apim-b2")]
    assert any(r["status"] == 429 for s in throttled for r in s["provenance"]["requests"])
    for document in throttled:
        assert document["gaps"] == []
    # The instance whose children may not be read is a named gap, not silence.
    locked = _snapshot(root, "apim-d1")
    assert {g["kind"] for g in locked["gaps"]} >= {"forbidden"}
    assert all("apim-d1" in g["subject"] for g in locked["gaps"] if g["kind"] == "forbidden")
    # Each instance's provenance says how it was found; the discovery is kept beside.
    assert locked["provenance"]["discovery"] == {"via": "Azure Resource Graph", "target": "estate"}
    (discovery,) = (root / "estate").iterdir()
    found = json.loads((discovery / "discovery.json").read_text("utf-8"))
    assert [i["name"] for i in found["instances"]] == sorted(set(LAYOUT) - {"apim-c1"})
    # Two a page: three pages of five services, two of the three readable subscriptions.
    assert found["provenance"]["pages"] == 5

    # Requests per instance: exactly those of a scan of that one instance.
    options = AzureOptions(
        subscriptions=(SUBS[0],),
        resource_groups=("rg-mtls",),
        services=("apim-a1",),
        arm_endpoint=estate.url,
        connection_verify=str(tls.ca),
    )
    alone = collect_azure(options, credential=FakeCredential(TOKEN))
    assert _reads(_snapshot(root, "apim-a1")) == _reads(alone)

    history = History(root / "history.sqlite")
    assert sorted(r.target for r in history.runs()) == sorted([*scanned, "estate"])
    # One credential for the estate (per process): a token per audience (the discovery's, then
    # ARM's and Key Vault's in each process), not two per instance.
    assert len(estate.seen(TOKEN_PATH.pattern)) <= 1 + 2 * processes
    assert locked["provenance"]["auth"] == {
        "mode": "workload-identity",
        "credential": "WorkloadIdentityCredential",
    }


def test_shards_of_an_estate_scan_every_instance_once(
    estate: FakeAzure, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = tmp_path / "runs"
    estate.throttled = set()
    scanned: list[str] = []
    for index in (1, 2, 3):
        args = ["estate", "scan", "--out", str(root), "--auth", "workload-identity"]
        args += ["--subscription", SUBS[0], "--subscription", SUBS[1], "--shard", f"{index}/3"]
        _run(args, capsys)
        history = History(root / "history.sqlite")
        scanned = [r.target for r in history.runs()]
    assert sorted(scanned) == ["apim-a1", "apim-a2", "apim-b1", "apim-b2", "estate"]


def test_estate_discover_lists_instances_and_names_what_it_cannot_read(
    estate: FakeAzure, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["estate", "discover", "--auth", "workload-identity", "--tag", "env=none"]
    code, out, _ = _run([*args, "--all-subscriptions"], capsys)
    assert (code, out.splitlines()[-1]) == (0, "0 instances, 0 gaps")  # no such tag

    args = ["estate", "discover", "--auth", "workload-identity"]
    code, out, _ = _run([*args, *(a for sub in SUBS for a in ("--subscription", sub))], capsys)

    assert code == 3
    lines = out.splitlines()
    assert [line.split()[0] for line in lines[:5]] == sorted(set(LAYOUT) - {"apim-c1"})
    assert lines[5].startswith(f"GAP /subscriptions/{FORBIDDEN}: Resource Graph returns nothing")
    assert lines[6] == "5 instances, 1 gap"


def test_a_bad_estate_scope_is_a_usage_error(
    estate: FakeAzure, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = _run(
        ["estate", "scan", "--out", str(tmp_path), "--all-subscriptions", "--management-group",
         "mg", "--tag", "novalue"],
        capsys,
    )  # fmt: skip
    assert code == 2
    assert "'novalue' is not KEY=VALUE" in err
    code, _, err = _run(
        ["estate", "discover", "--all-subscriptions", "--management-group", "mg"], capsys
    )
    assert code == 2
    assert "exactly one of subscriptions, management groups or all subscriptions" in err
    assert estate.requests == []
