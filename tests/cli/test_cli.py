"""The command line: exit codes, outputs, bad input, lazy imports."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from mtls_audit import snapshot
from mtls_audit.cli import main
from mtls_audit.evidence.schema import validate_evidence
from tests.rules.builder import snapshot as make

NEGOTIATING = {
    "properties": {
        "hostnameConfigurations": [
            {"type": "Proxy", "hostName": "api.example.org", "negotiateClientCertificate": True}
        ],
        "customProperties": {},
    }
}


def run_cli(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as info:
        main(args)
    out, err = capsys.readouterr()
    return int(info.value.code or 0), out, err


@pytest.fixture
def snap(tmp_path: Path) -> Path:
    path = tmp_path / "snapshot.json"
    snapshot.write(make(), path)
    return path


def test_assess_writes_valid_evidence_and_gates(
    snap: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    code, stdout, _ = run_cli(["assess", str(snap), "--out", str(out)], capsys)
    assert code == 1  # GW-01 is critical and fails: no hostname negotiates
    evidence = json.loads((out / "evidence.json").read_text())
    assert validate_evidence(evidence) == []
    assert evidence["summary"]["gate"] == {
        "fail_on": "critical",
        "failing": 1,
        "incomplete": False,
        "exit_code": 1,
    }
    assert "MTLS-GW-01" in stdout
    assert "Verdict" in stdout
    assert "evidence.json" in stdout
    assert evidence["snapshot"]["sha256"] == snapshot.read(snap).sha256


def test_fail_on_none_and_passing_snapshot(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "ok.json"
    snapshot.write(make(NEGOTIATING), path)
    code, _, _ = run_cli(
        ["assess", str(path), "--out", str(tmp_path / "o"), "--select", "MTLS-GW-01,MTLS-GW-03"],
        capsys,
    )
    assert code == 0
    snapshot.write(make(), path)
    code, _, _ = run_cli(
        ["assess", str(path), "--out", str(tmp_path / "o"), "--fail-on", "none"], capsys
    )
    assert code == 0


def test_deterministic_under_source_date_epoch(
    snap: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1767225600")
    blobs = []
    for name in ("a", "b"):
        run_cli(["assess", str(snap), "--out", str(tmp_path / name), "--format", "json"], capsys)
        blobs.append((tmp_path / name / "evidence.json").read_bytes())
    assert blobs[0] == blobs[1]
    assert json.loads(blobs[0])["run"]["started_at"] == "2026-01-01T00:00:00Z"


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["assess", "{missing}"], "no such file"),
        (["assess", "{dir}"], "is a directory"),
        (["assess", "{corrupt}"], "line 1:"),
        (["assess", "{snap}", "--select", "MTLS-NOPE-99"], "no rule matches MTLS-NOPE-99"),
        (["assess", "{snap}", "--format", "docx"], "unknown format docx"),
        (["scan"], "give --subscription"),
        (["scan", "--sample", "--from-file", "{snap}"], "cannot be combined"),
        (["rules", "explain", "MTLS-ZZ-01"], "no rule"),
    ],
)
def test_bad_input_exits_2_without_traceback(
    args: list[str],
    fragment: str,
    snap: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    corrupt = tmp_path / "corrupt.json"
    corrupt.write_text("{ broken")
    values = {"missing": tmp_path / "nope.json", "dir": tmp_path, "corrupt": corrupt, "snap": snap}
    argv = [a.format(**values) for a in args] + ["--out", str(tmp_path / "o")] * (
        args[0] != "rules"
    )
    code, out, err = run_cli(argv, capsys)
    assert code == 2
    assert fragment in err + out
    assert "Traceback" not in err + out


def test_rules_explain_prints_the_rule_page(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_cli(["rules", "explain", "mtls-tls-01"], capsys)
    assert code == 0
    for section in (
        "# MTLS-TLS-01 — client-side-tls-1-2",
        "## Why it matters",
        "## How to fix",
        "164.312(e)(1)",
        "SC-8(1)",
    ):
        assert section in out


def _modules_after(args: list[str]) -> set[str]:
    """Every module a fresh process running the command imported (``a.b`` and ``a``)."""
    code = (
        "import sys, atexit\n"
        "atexit.register(lambda: print('MODULES', ' '.join(sorted(sys.modules))))\n"
        "from mtls_audit.cli import main\n"
        f"main({args!r})\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    line = next(x for x in done.stdout.splitlines() if x.startswith("MODULES"))
    return set(line.split()[1:])


def test_version_and_json_assess_stay_light(snap: Path, tmp_path: Path) -> None:
    heavy = {"weasyprint", "azure", "aiohttp", "sqlalchemy", "alembic", "psycopg"}
    assert not heavy & _modules_after(["--version"])
    assert not heavy & _modules_after(
        ["assess", str(snap), "--format", "json", "--out", str(tmp_path / "o")]
    )


def test_a_json_scan_of_exported_files_imports_only_what_it_uses(tmp_path: Path) -> None:
    """What a JSON-only ``scan --from-file`` without waivers, baseline, key or certificates
    never runs is not imported at start: the estate and live-collection commands, the audit
    files' readers, the PDF worker, PyYAML, cryptography (cut start-up time of every scan)."""
    resources = tmp_path / "resources.json"
    resources.write_text(json.dumps({"value": make(NEGOTIATING)["resources"]}), "utf-8")
    loaded = _modules_after(
        ["scan", "--from-file", str(resources), "--format", "json", "--out", str(tmp_path / "o")]
    )
    assert "mtls_audit.workflow" in loaded  # the scan ran
    assert (tmp_path / "o" / "evidence.json").is_file()
    unused = {
        "mtls_audit.cli_estate",
        "mtls_audit.sources.azure.source",
        "mtls_audit.audit.baseline",
        "mtls_audit.audit.diff",
        "mtls_audit.audit.waivers",
        "mtls_audit.audit.settings_files",
        "mtls_audit.audit.dsse",
        "mtls_audit.audit.schedule",
        "mtls_audit.certs.chains",
        "mtls_audit.certs.facts",
        "mtls_audit.report.pdf_worker",
        "mtls_audit.sources.terraform.azurerm",
        "mtls_audit.sources.arm.bicep",
        "asyncio",
        "multiprocessing",
        "yaml",
        "cryptography",
    }
    assert not unused & loaded
