"""Offline flows through the command line: templates and exports in, evidence out."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.cli.test_cli import run_cli

TEMPLATE = {
    "$schema": "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#",
    "contentVersion": "1.0.0.0",
    "parameters": {
        "name": {"type": "string", "defaultValue": "apim-ci"},
        "negotiate": {"type": "bool"},
    },
    "resources": [
        {
            "type": "Microsoft.ApiManagement/service",
            "apiVersion": "2024-05-01",
            "name": "[parameters('name')]",
            "location": "westeurope",
            "sku": {"name": "Developer", "capacity": 1},
            "properties": {
                "hostnameConfigurations": [
                    {
                        "type": "Proxy",
                        "hostName": "api.example.org",
                        "negotiateClientCertificate": "[parameters('negotiate')]",
                    }
                ],
                "customProperties": {
                    "[concat('Microsoft.WindowsAzure.ApiManagement.Gateway.', "
                    "'Security.Protocols.Tls10')]": "false"
                },
            },
            "resources": [
                {
                    "type": "apis",
                    "apiVersion": "2024-05-01",
                    "name": "patients",
                    "properties": {
                        "path": "p",
                        "protocols": ["https"],
                        "serviceUrl": "[format('https://{0}.example', uniqueString('x'))]",
                    },
                }
            ],
        }
    ],
}


def test_template_with_parameters_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    template = tmp_path / "apim.json"
    template.write_text(json.dumps(TEMPLATE, indent=2))
    params = tmp_path / "apim.parameters.json"
    params.write_text(json.dumps({"parameters": {"negotiate": {"value": True}}}))
    out = tmp_path / "out"
    code, _, _ = run_cli(
        [
            "scan",
            "--from-file",
            str(template),
            "--parameters",
            str(params),
            "--out",
            str(out),
            "--select",
            "MTLS-GW-01,MTLS-EVID-01",
            "--fail-on",
            "critical",
        ],
        capsys,
    )
    evidence = json.loads((out / "evidence.json").read_text())
    statuses = {r["rule_id"]: r["status"] for r in evidence["results"]}
    assert statuses["MTLS-GW-01"] == "pass"
    # uniqueString cannot be resolved offline: a gap, so evidence is incomplete (exit 3)
    assert statuses["MTLS-EVID-01"] == "fail"
    assert code == 3
    assert any("uniqueString" in g["message"] for g in evidence["gaps"])
    result = next(r for r in evidence["results"] if r["rule_id"] == "MTLS-GW-01")
    lines = template.read_text().splitlines()
    type_line = lines.index('      "type": "Microsoft.ApiManagement/service",') + 1
    assert result["location"] == {"file": str(template), "line": type_line - 1}
    snapshot = json.loads((out / "snapshot.json").read_text())
    formats = {i["path"]: i["format"] for i in snapshot["provenance"]["inputs"]}
    assert formats == {str(template): "arm-template", str(params): "arm-parameters"}


def test_missing_parameter_is_a_gap_and_the_rule_indeterminate(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    template = tmp_path / "apim.json"
    template.write_text(json.dumps(TEMPLATE))
    out = tmp_path / "out"
    code, _, _ = run_cli(
        ["scan", "--from-file", str(template), "--out", str(out), "--select", "MTLS-GW-01"], capsys
    )
    evidence = json.loads((out / "evidence.json").read_text())
    assert [r["status"] for r in evidence["results"]] == ["indeterminate"]
    assert code == 3


def test_collect_then_assess(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    template = tmp_path / "apim.json"
    template.write_text(json.dumps(TEMPLATE))
    code, out, _ = run_cli(
        ["collect", "--from-file", str(template), "--out", str(tmp_path / "c")], capsys
    )
    assert code == 0
    assert "snapshot.json" in out
    code, _, _ = run_cli(
        [
            "assess",
            str(tmp_path / "c" / "snapshot.json"),
            "--out",
            str(tmp_path / "a"),
            "--format",
            "json",
        ],
        capsys,
    )
    assert code in (1, 3)
    assert (tmp_path / "a" / "evidence.json").exists()


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        ("", "empty"),
        ('{"resources": [', "line 1"),
        ("resource apim 'Microsoft.ApiManagement/service@2024-05-01' = {}", "az bicep build"),
    ],
)
def test_bad_offline_input_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: str, fragment: str
) -> None:
    name = "main.bicep" if "resource apim" in content else "in.json"
    path = tmp_path / name
    path.write_text(content)
    code, out, err = run_cli(
        ["scan", "--from-file", str(path), "--out", str(tmp_path / "o")], capsys
    )
    assert code == 2
    assert str(path) in err
    assert fragment in err
    assert "Traceback" not in out + err


def test_sample_scan_exit_code(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_cli(["scan", "--sample", "--out", str(tmp_path / "s")], capsys)
    assert code == 1
    assert "critical" in out
    code, _, _ = run_cli(
        ["scan", "--sample", "--out", str(tmp_path / "s"), "--fail-on", "none"], capsys
    )
    assert code == 0
