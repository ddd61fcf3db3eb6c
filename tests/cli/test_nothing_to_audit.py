"""An input that holds nothing to audit ends with exit 3 and no PASS in any output."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from mtls_audit.evidence.schema import validate_evidence
from tests.cli.test_cli import run_cli
from tests.sources.arm_support import APIM, template, write_json

STORAGE = template(
    [
        {
            "type": "Microsoft.Storage/storageAccounts",
            "apiVersion": "2023-05-01",
            "name": "stpatients",
            "location": "westeurope",
            "sku": {"name": "Standard_LRS"},
            "kind": "StorageV2",
            "properties": {"minimumTlsVersion": "TLS1_2"},
        }
    ]
)
BACKENDS = {
    "value": [
        {
            "id": f"{APIM}/apim-elsewhere/backends/{name}",
            "type": "Microsoft.ApiManagement/service/backends",
            "name": name,
            "properties": {"url": f"http://{name}.example", "protocol": "http"},
        }
        for name in ("labs", "billing")
    ]
}
INPUTS: dict[str, tuple[Any, str]] = {
    "empty-array": ([], "Found no resources; no Microsoft.ApiManagement/service"),
    "empty-value": ({"value": []}, "Found no resources; no Microsoft.ApiManagement/service"),
    "storage-only": (
        STORAGE,
        "Found 1 Microsoft.Storage/storageAccounts resource; no Microsoft.ApiManagement/service",
    ),
    "backends-only": (
        BACKENDS,
        "Found 2 Microsoft.ApiManagement/service/backends resources; no "
        "Microsoft.ApiManagement/service (the input has parts of apim-elsewhere but not the "
        "service itself",
    ),
}
FILE_FORMATS = "json,text,html,sarif,junit,markdown"
# "PASS" as a verdict word; rule documentation ("… pass.") and the status count table of the
# PDF ("PASS 0") are not verdicts.
VERDICT_PASS = re.compile(r"\bPASS\b(?! 0\n)")


@pytest.fixture(autouse=True)
def wide_console(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "400")  # a sentence on one line


def scan(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], data: Any, formats: str, *extra: str
) -> tuple[int, str, Path]:
    source = write_json(tmp_path, "input.json", data)
    out = tmp_path / "out"
    args = ["scan", "--from-file", str(source), "--format", formats, "--out", str(out), *extra]
    code, stdout, _ = run_cli(args, capsys)
    return code, stdout, out


@pytest.mark.parametrize("fail_on", ["critical", "none"])
@pytest.mark.parametrize("name", INPUTS)
def test_nothing_to_audit_exits_3_in_every_output(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str, fail_on: str
) -> None:
    data, found = INPUTS[name]
    code, stdout, out = scan(tmp_path, capsys, data, FILE_FORMATS, "--fail-on", fail_on)
    assert code == 3, stdout
    assert f"Verdict: NOTHING TO AUDIT — {found}" in stdout
    evidence = json.loads((out / "evidence.json").read_text())
    assert validate_evidence(evidence) == []
    assert evidence["summary"]["gate"]["exit_code"] == 3
    [error] = [e for e in evidence["errors"] if e["kind"] == "nothing-to-audit"]
    assert error["message"].startswith(found)
    assert error["message"].endswith("nothing to audit.")
    assert evidence["summary"]["by_status"]["pass"] == 0
    sarif = json.loads((out / "results.sarif").read_text())
    [invocation] = sarif["runs"][0]["invocations"]
    assert invocation["executionSuccessful"] is False
    assert any(found in n["message"]["text"] for n in invocation["toolExecutionNotifications"])
    junit = (out / "junit.xml").read_text()
    assert 'type="nothing-to-audit"' in junit
    markdown = (out / "summary.md").read_text()
    assert markdown.startswith("## mtls-audit: NOTHING TO AUDIT")
    html = (out / "report.html").read_text()
    assert "NOTHING TO AUDIT" in html
    for text in (stdout, markdown, html, junit, json.dumps(sarif)):
        assert not VERDICT_PASS.search(text)


@pytest.mark.parametrize("name", INPUTS)
def test_nothing_to_audit_in_the_pdf(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str
) -> None:
    pypdf = pytest.importorskip("pypdf")
    data, found = INPUTS[name]
    code, _, out = scan(tmp_path, capsys, data, "pdf")
    assert code == 3
    text = "\n".join(page.extract_text() for page in pypdf.PdfReader(out / "report.pdf").pages)
    assert "NOTHING TO AUDIT" in text
    assert " ".join(found.split()[:3]) in " ".join(text.split())
    assert not VERDICT_PASS.search(text)


def test_a_service_in_another_file_joins_its_backends(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    service = {
        "id": f"{APIM}/apim-elsewhere",
        "type": "Microsoft.ApiManagement/service",
        "name": "apim-elsewhere",
        "properties": {"hostnameConfigurations": []},
    }
    first = write_json(tmp_path, "service.json", [service])
    second = write_json(tmp_path, "backends.json", BACKENDS)
    out = tmp_path / "out"
    code, stdout, _ = run_cli(
        ["scan", "--from-file", str(first), "--from-file", str(second), "--out", str(out)], capsys
    )
    evidence = json.loads((out / "evidence.json").read_text())
    assert not [e for e in evidence["errors"] if e["kind"] == "nothing-to-audit"]
    assert evidence["run"]["population"]["backends"] == 2
    https = [r for r in evidence["results"] if r["rule_id"] == "MTLS-OUT-01"]
    assert {r["status"] for r in https} == {"fail"}  # both backends are http://
    assert code == 1, stdout


def test_rules_that_judge_nothing_are_not_a_pass(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    service = {
        "id": f"{APIM}/apim-one",
        "type": "Microsoft.ApiManagement/service",
        "name": "apim-one",
        "properties": {},
    }
    source = write_json(tmp_path, "service.json", [service])
    out = tmp_path / "out"
    pack = tmp_path / "pack"
    pack.mkdir()
    (pack / "silent.py").write_text(
        "from mtls_audit.api import Service, Severity, rule\n\n\n"
        '@rule(id="ACME-GW-01", slug="silent", title="Says nothing", severity=Severity.LOW,\n'
        '      topics=("audit",), guide="beyond", remediation={"portal": "None."},\n'
        "      subject=Service)\n"
        "def judge(svc, ctx):\n"
        '    """\n    What it checks:\n        Nothing.\n    """\n'
        "    return iter(())\n"
    )
    args = ["scan", "--from-file", str(source), "--rules", str(pack), "--select", "ACME-GW-01"]
    code, stdout, _ = run_cli([*args, "--format", "json,text", "--out", str(out)], capsys)
    assert code == 3, stdout
    evidence = json.loads((out / "evidence.json").read_text())
    [error] = evidence["errors"]
    assert error == {
        "kind": "nothing-to-audit",
        "message": "The 1 rule selected gave no result: nothing was judged.",
    }
    assert not VERDICT_PASS.search(stdout)


def test_rules_that_apply_to_nothing_are_not_a_pass(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    service = {
        "id": f"{APIM}/apim-one",
        "type": "Microsoft.ApiManagement/service",
        "name": "apim-one",
        "sku": {"name": "Premium", "capacity": 1},
        "properties": {},
    }
    source = write_json(tmp_path, "service.json", [service])
    out = tmp_path / "out"
    args = ["scan", "--from-file", str(source), "--select", "MTLS-OUT-02", "--out", str(out)]
    code, stdout, _ = run_cli([*args, "--format", "json,text"], capsys)
    assert code == 3, stdout
    evidence = json.loads((out / "evidence.json").read_text())
    assert [r["status"] for r in evidence["results"]] == ["not_applicable"]  # no backends
    assert evidence["errors"] == [
        {
            "kind": "nothing-to-audit",
            "message": "The 1 rule selected found nothing it applies to: nothing was judged.",
        }
    ]
    assert "Verdict: NOTHING TO AUDIT" in stdout
