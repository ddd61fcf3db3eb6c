"""Provenance, population and risk acceptances, read back from the evidence and the PDF: the
population reconciles with the snapshot, every option and the collecting identity are printed,
the snapshot's age is stated, and expired and unmatched waivers are flagged in words."""

from __future__ import annotations

import copy
import json
from collections import Counter
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from mtls_audit.cli import main
from mtls_audit.report.pdf import write_pdf
from mtls_audit.report.scope import option_rows, snapshot_age

from .evidence_factory import realistic_evidence, to_bytes
from .test_pdf import pdf_text, squeeze

EPOCH = "1795165200"  # 2026-11-20T09:00:00Z, the sample's collection time
WAIVERS = """\
waivers:
  - rule: MTLS-KV-09
    subjects: ["*/certificates/fax-relay-client"]
    justification: The fax relay is retired at the end of the year.
    approver: Jane Roe, CISO
    approved_on: 2026-11-01
    expires_on: 2027-01-31
  - rule: MTLS-IN-01
    subjects: ["*/apis/fax-gateway*"]
    justification: Accepted until the fax gateway migration.
    approver: John Doe, CTO
    approved_on: 2026-01-01
    expires_on: 2026-06-30
  - rule: MTLS-GW-03
    subjects: ["*/service/apim-retired"]
    justification: Old instance, decommissioned.
    approver: Jane Roe, CISO
    approved_on: 2026-10-01
    expires_on: 2027-10-01
"""


@pytest.fixture(scope="module")
def waived_scan(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sample scanned with three waivers (in force, expired, unmatched), as PDF and HTML."""
    folder = tmp_path_factory.mktemp("waived")
    (folder / "waivers.yaml").write_text(WAIVERS, encoding="utf-8")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("SOURCE_DATE_EPOCH", EPOCH)
        with pytest.raises(SystemExit):
            main(
                [
                    "scan", "--sample", "--notice-days", "45", "--waivers",
                    str(folder / "waivers.yaml"), "--format", "json,pdf,html",
                    "--out", str(folder / "out"),
                ]
            )  # fmt: skip
    return folder / "out"


def _types(resources: list[Mapping[str, Any]]) -> Counter[str]:
    return Counter(
        str(r["type"]).lower().removeprefix("microsoft.apimanagement/") for r in resources
    )


def recount(snapshot: Mapping[str, Any]) -> dict[str, int]:
    """The population counted from the snapshot's raw resources, without the model."""
    resources = snapshot["resources"]
    types = _types(resources)
    services = [r for r in resources if str(r["type"]).lower() == "microsoft.apimanagement/service"]
    hostnames = [h for s in services for h in s["properties"].get("hostnameConfigurations", [])]
    links: Counter[str] = Counter()
    for r in resources:
        if str(r["type"]).lower().endswith("products/apilinks"):
            links[r["properties"]["apiId"].rsplit("/", 1)[-1].lower()] += 1
    operations: Counter[str] = Counter(
        r["id"].split("/apis/")[1].split("/")[0].lower()
        for r in resources
        if str(r["type"]).lower().endswith("apis/operations")
    )
    apis = [r["name"].lower() for r in resources if str(r["type"]).lower().endswith("service/apis")]
    thumbprints = {h["certificate"]["thumbprint"] for h in hostnames if h.get("certificate")}
    thumbprints |= {
        c["certificate"]["thumbprint"] for s in services for c in s["properties"]["certificates"]
    }
    thumbprints |= {
        r["properties"]["thumbprint"]
        for r in resources
        if str(r["type"]).lower().endswith("service/certificates")
    }
    vault_certs = [c for v in snapshot["keyvault"].values() for c in v["certificates"].values()]
    thumbprints |= {c["properties"]["x509_thumbprint"] for c in vault_certs}
    return {
        "services": len(services),
        "hostnames": len(hostnames) + types["service/gateways/hostnameconfigurations"],
        "apis": len(apis),
        "operations": types["service/apis/operations"],
        "operation_paths": sum((1 + links[a]) * max(1, operations[a]) for a in apis),
        "products": types["service/products"],
        "policies": sum(n for t, n in types.items() if t.endswith("/policies")),
        "policy_fragments": types["service/policyfragments"],
        "backends": types["service/backends"],
        "certificates": types["service/certificates"],
        "distinct_certificates": len({t.upper() for t in thumbprints}),
        "named_values": types["service/namedvalues"],
        "subscriptions": types["service/subscriptions"],
        "gateways": types["service/gateways"],
        "workspaces": types["service/workspaces"],
        "key_vaults": types["microsoft.keyvault/vaults"],
        "role_assignments": types["microsoft.authorization/roleassignments"],
        "keyvault_certificates": len(vault_certs),
    }


def test_every_population_count_reconciles_with_the_snapshot(waived_scan: Path) -> None:
    snapshot = json.loads((waived_scan / "snapshot.json").read_text("utf-8"))
    population = json.loads((waived_scan / "evidence.json").read_text("utf-8"))["run"]["population"]
    expected = recount(snapshot)
    assert {k: population[k] for k in expected} == expected
    # The units the issue found irreconcilable: 22 operations on 48 paths; 14 inventory
    # records of 10 certificates (an APIM copy and its Key Vault copy count once).
    assert (population["operations"], population["operation_paths"]) == (22, 48)
    assert (population["certificate_records"], population["distinct_certificates"]) == (14, 10)


def test_the_pdf_prints_provenance_and_every_option_with_its_value(waived_scan: Path) -> None:
    evidence = json.loads((waived_scan / "evidence.json").read_text("utf-8"))
    text = squeeze(pdf_text(waived_scan / "report.pdf"))
    for label, value in option_rows(evidence):
        assert squeeze(f"{label}{value}") in text, label
    assert squeeze("--notice-days45 days") in text  # the window that fails a certificate
    for fact in (
        "Collected by",
        "No identity: the bundled sample snapshot",
        "Microsoft.ApiManagement 2024-05-01",
        evidence["run"]["rule_pack_sha256"],
        evidence["snapshot"]["sha256"],
        "mtls-audit collect --sample",
        "mtls-audit assess snapshot.json --as-of 2026-11-20T09:00:00 --fail-on critical",
        "--notice-days 45 --waivers waivers.yaml",
        "APIM subscriptions (keys)",
        "Operation paths48",
        "Distinct certificates10",
        "Not covered by this assessment",
        "Front Door",
    ):
        assert squeeze(fact) in text, fact
    html = (waived_scan / "report.html").read_text("utf-8")
    assert "Rule pack SHA-256" in html
    assert "APIM subscriptions (keys)" in html


def test_expired_and_unmatched_waivers_are_flagged_in_the_pdf(waived_scan: Path) -> None:
    text = squeeze(pdf_text(waived_scan / "report.pdf"))
    table = text[text.index(squeeze("Risk acceptances (waivers)")) :]
    table = table[: table.index("Methodologyandpopulation")]
    kv09 = table[table.index("MTLS-KV-09") : table.index("MTLS-IN-01")]
    in01 = table[table.index("MTLS-IN-01") : table.index("MTLS-GW-03")]
    gw03 = table[table.index("MTLS-GW-03") :]
    assert "EXPIRED" not in kv09
    assert "UNMATCHED" not in kv09
    assert squeeze("EXPIRED: not applied") in in01
    assert squeeze("UNMATCHED: covers no failing result") in gw03
    assert squeeze("In force; covers 1 failing result") in kv09
    # One table with one header row, not a key/value table per waiver.
    assert table.count("RuleSubjectsReasonApproverExpiresState") == 1
    assert "Justification" not in table


def test_a_live_collection_prints_its_identity_and_requests_and_the_snapshot_age(
    tmp_path: Path,
) -> None:
    evidence = copy.deepcopy(realistic_evidence())
    evidence["run"]["finished_at"] = "2026-12-22T11:00:00Z"  # 25 days and 1 hour later
    evidence["run"]["source"] = {
        "kind": "azure",
        "collected_at": "2026-11-27T10:00:00Z",
        "inputs": [],
        "identity": {
            "object_id": "0b7e33c2-0000-4000-8000-00000000c0de",
            "app_id": "5a1d0000-0000-4000-8000-0000000000aa",
            "tenant_id": "72f988bf-0000-4000-8000-000000000001",
        },
        "auth": {"mode": "workload-identity", "credential": "WorkloadIdentityCredential"},
        "cloud": "AzureCloud",
        "requests": {"count": 12, "failed": 2, "by_status": {"200": 10, "429": 2}},
    }
    out = tmp_path / "report.pdf"
    write_pdf(evidence, to_bytes(evidence), out)
    text = squeeze(pdf_text(out))
    assert squeeze("Snapshot collected 2026-11-27, 25 days before this report (2026-12-22)") in text
    for fact in (
        "object id 0b7e33c2-0000-4000-8000-00000000c0de",
        "tenant 72f988bf-0000-4000-8000-000000000001",
        "signed in with --auth workload-identity",
        "12 HTTP requests, 2 without success (10 × 200, 2 × 429)",
        "mtls-audit collect --cloud AzureCloud --auth workload-identity",
    ):
        assert squeeze(fact) in text, fact


@pytest.mark.parametrize(
    ("finished", "said"),
    [
        ("2026-11-28T09:59:59Z", None),  # 23 h 59 min 59 s: not a full day
        ("2026-11-28T10:00:00Z", "Snapshot collected 2026-11-27, 1 day before this report"),
        ("2026-12-22T10:00:00Z", "Snapshot collected 2026-11-27, 25 days before this report"),
    ],
)
def test_the_snapshot_age_counts_full_days(finished: str, said: str | None) -> None:
    evidence = realistic_evidence()
    evidence["run"]["finished_at"] = finished
    age = snapshot_age(evidence)
    assert age == (None if said is None else f"{said} ({finished[:10]}).")


def test_options_an_older_evidence_did_not_record_are_not_guessed() -> None:
    rows = dict(option_rows(realistic_evidence()))  # no notice_days recorded
    assert rows["--notice-days"] == "not recorded"
    assert rows["--warning-days"] == "30 days"
