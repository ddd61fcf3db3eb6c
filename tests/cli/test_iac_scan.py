"""`scan --from-file` on a Terraform plan and on an APIOps folder, through the command line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.cli.test_cli import run_cli
from tests.sources import iac_instance as iac


def test_scan_a_terraform_plan(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    plan = tmp_path / "plan.json"
    plan.write_text(json.dumps(iac.terraform_plan(broken=True)), encoding="utf-8")
    code, out, _ = run_cli(
        ["scan", "--from-file", str(plan), "--format", "json,text", "--out", str(tmp_path / "o")],
        capsys,
    )
    assert code == 1
    evidence = json.loads((tmp_path / "o" / "evidence.json").read_text())
    assert evidence["run"]["source"]["inputs"] == [str(plan)]
    failed = {r["rule_id"] for r in evidence["results"] if r["status"] == "fail"}
    assert {"MTLS-GW-01", "MTLS-OUT-01", "MTLS-OUT-02", "MTLS-TLS-01"} <= failed
    assert "FAIL" in out


def test_scan_an_apiops_folder_with_its_service(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = iac.apiops_folder(tmp_path)
    service = iac.apiops_service_export(tmp_path)
    configuration = iac.apiops_configuration(tmp_path)
    args = [
        "scan",
        "--from-file",
        str(service),
        "--from-file",
        str(folder),
        "--parameters",
        str(configuration),
        "--out",
        str(tmp_path / "o"),
    ]
    code, _, _ = run_cli(args, capsys)
    assert code == 0
    alone, _, _ = run_cli(
        ["scan", "--from-file", str(folder), "--out", str(tmp_path / "a")], capsys
    )
    assert alone == 3


def test_a_terraform_file_is_an_input_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    main = tmp_path / "main.tf"
    main.write_text('resource "azurerm_api_management" "apim" {}\n', encoding="utf-8")
    code, _, err = run_cli(["scan", "--from-file", str(main), "--out", str(tmp_path)], capsys)
    assert code == 2
    assert "terraform show -json" in err
    assert "Traceback" not in err
