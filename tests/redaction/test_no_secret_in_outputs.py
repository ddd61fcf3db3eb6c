"""No planted secret reaches any output: snapshot, evidence, PDF, HTML, SARIF, JUnit, Markdown,
the manifest or the console, whether the input is ARM files, a Terraform plan or a snapshot
another tool wrote."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from pypdf import PdfReader

from tests.cli.test_cli import run_cli
from tests.redaction.canaries import (
    PUBLIC_MARKER,
    Canaries,
    export_resources,
    planted_inputs,
    policy_text,
)
from tests.sources import iac_instance as iac

FORMATS = "json,text,pdf,html,sarif,junit,markdown"


def outputs(folder: Path, console: str) -> dict[str, str]:
    """Every output as searchable text: each file's bytes, the PDF's page text (whitespace
    removed, so a value wrapped across lines is still found) and the console."""
    found = {"console": console}
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        found[path.name] = path.read_bytes().decode("utf-8", "replace")
        if path.suffix == ".pdf":
            reader = PdfReader(path)
            pages = "".join(page.extract_text() or "" for page in reader.pages)
            found[f"{path.name} (text)"] = re.sub(r"\s+", "", pages)
            for name, contents in reader.attachments.items():
                found[f"{path.name} attachment {name}"] = b"".join(contents).decode("utf-8")
    return found


def leaks(canaries: Canaries, texts: dict[str, str]) -> list[str]:
    """Each canary found in an output, and each output holding a part of one (a message cut
    short or a table cell wrapped may show only its start)."""
    whole = [
        f"{place} ({value}) in {output}"
        for value, place in canaries.planted.items()
        for output, text in texts.items()
        if value in text
    ]
    parts = [f"a canary in {output}" for output, text in texts.items() if canaries.prefix in text]
    return whole + parts


def test_offline_scan_writes_no_planted_secret(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    canaries, files = planted_inputs(tmp_path)
    given = "".join(path.read_text("utf-8") for path in files)
    assert all(value in given for value in canaries.planted)  # every canary is in the input
    out = tmp_path / "out"
    args = ["scan", *(a for f in files for a in ("--from-file", str(f))), "--format", FORMATS]

    code, stdout, stderr = run_cli([*args, "--out", str(out)], capsys)

    assert code in (1, 3), stderr
    texts = outputs(out, stdout + stderr)
    expected = {"snapshot.json", "evidence.json", "report.pdf", "report.html", "results.sarif"}
    assert expected | {"junit.xml", "summary.md", "manifest.json"} <= set(texts)
    assert leaks(canaries, texts) == []
    # The search does find what is there: a value that is not secret, and text in the PDF.
    assert PUBLIC_MARKER in texts["snapshot.json"]
    assert "apim-canary" in texts["report.pdf (text)"]
    snapshot = json.loads(texts["snapshot.json"])
    assert snapshot["provenance"]["redactions"]["named-value-secret"] == 5
    messages = [gap["message"] for gap in snapshot["gaps"]]
    hidden = [m for m in messages if m.startswith("the value at ")]
    assert len(hidden) == 4  # the unresolved expressions in secret places are not quoted


def test_a_foreign_snapshot_with_secrets_is_assessed_without_them(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    canaries = Canaries()
    foreign = {
        "schema": "mtls-audit/snapshot/v1",
        "provenance": {"source": "files", "collected_at": "2026-11-20T09:00:00Z"},
        "resources": export_resources(canaries),
        "keyvault": {},
        "gaps": [
            {
                "kind": "request-failed",
                "subject": "/subscriptions/x",
                "what": "policies",
                "message": f"GET …?sig={canaries('gap message sig')} failed: Authorization: "
                f"Bearer {canaries('gap message Bearer', shape='token')}",
            }
        ],
    }
    path = tmp_path / "foreign.json"
    path.write_text(json.dumps(foreign), "utf-8")
    out = tmp_path / "out"

    code, stdout, stderr = run_cli(
        ["assess", str(path), "--format", FORMATS, "--out", str(out)], capsys
    )

    assert code in (1, 3), stderr
    texts = outputs(out, stdout + stderr)
    assert "report.pdf (text)" in texts
    assert leaks(canaries, texts) == []
    assert "sig=[redacted]" in texts["evidence.json"]


def test_a_terraform_plan_scan_writes_no_planted_secret(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    canaries = Canaries()
    plan = iac.terraform_plan()
    planted = [
        iac._apim_child(
            "azurerm_api_management_api_policy.planted",
            api_name="patients",
            xml_content=policy_text(canaries, "Terraform API policy"),
            xml_link=None,
        ),
        iac._apim_child(
            "azurerm_api_management_backend.planted",
            name="planted",
            protocol="http",
            url=f"https://fn.example.org/api?code={canaries('Terraform backend url code')}",
            credentials=[
                {
                    "certificate": [],
                    "header": {"x-functions-key": canaries("Terraform backend header")},
                    "query": {"code": canaries("Terraform backend query")},
                    "authorization": [
                        {"scheme": "Basic", "parameter": canaries("Terraform backend parameter")}
                    ],
                }
            ],
            proxy=[{"url": "http://p", "username": "u", "password": canaries("Terraform proxy")}],
        ),
        iac._apim_child(
            "azurerm_api_management_certificate.planted",
            name="planted",
            data=canaries("Terraform certificate data", shape="base64"),
            password=canaries("Terraform certificate password"),
            key_vault_secret_id=None,
        ),
        iac._apim_child(
            "azurerm_api_management_subscription.planted",
            display_name="planted",
            state="active",
            primary_key=canaries("Terraform subscription primary_key"),
            secondary_key=canaries("Terraform subscription secondary_key"),
        ),
    ]
    plan["resource_changes"] = [
        change
        for change in plan["resource_changes"]
        if change["address"] != "azurerm_api_management_api_policy.patients"
    ] + [iac._change(address, values) for address, values in planted]
    path = tmp_path / "plan.json"
    path.write_text(json.dumps(plan), "utf-8")
    out = tmp_path / "out"

    code, stdout, stderr = run_cli(
        ["scan", "--from-file", str(path), "--format", FORMATS, "--out", str(out)], capsys
    )

    assert code in (0, 1, 3), stderr
    texts = outputs(out, stdout + stderr)
    assert "report.pdf (text)" in texts
    assert leaks(canaries, texts) == []
    snapshot = json.loads(texts["snapshot.json"])
    policy = next(r for r in snapshot["resources"] if r["id"].endswith("patients/policies/policy"))
    assert "<value>[redacted]</value>" in policy["properties"]["value"]  # the policy was read
    backend = next(r for r in snapshot["resources"] if r["id"].endswith("/backends/planted"))
    credentials = backend["properties"]["credentials"]  # mapped from the plan, then hidden
    assert credentials["header"] == {"x-functions-key": ["[redacted]"]}
    assert credentials["authorization"]["parameter"] == "[redacted]"
