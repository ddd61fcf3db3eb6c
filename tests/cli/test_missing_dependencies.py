"""A missing library is named with the command that installs it, exit 2, and only its output is
lost: every other output is still written and sealed. Missing libraries are simulated (an import
blocked in ``sys.modules``, a system library that fails to load), never uninstalled."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from mtls_audit.dependencies import SYSTEM_INSTALL, importing, require_modules
from mtls_audit.errors import MissingDependencyError
from tests.cli.test_cli import run_cli

REPO = Path(__file__).resolve().parents[2]
SUBSCRIPTION = "3f1b6a52-8c1e-4d0a-9a57-2f0c1d3e4b5a"
OTHER_OUTPUTS = {
    "snapshot.json",
    "evidence.json",
    "report.html",
    "results.sarif",
    "mtls-audit-inventory.txt",
    "junit.xml",
    "summary.md",
}
# Run in a fresh interpreter, so that the PDF worker forks as it does for a user.
BLOCK_WEASYPRINT = "import sys; sys.modules['weasyprint'] = None\n"
FAIL_TO_LOAD = """import cffi
real = cffi.FFI.dlopen
def dlopen(self, name, *args, **kwargs):
    if {part!r} in str(name):
        raise OSError(f"cannot load library '{{name}}': {{name}}: cannot open shared object file")
    return real(self, name, *args, **kwargs)
cffi.FFI.dlopen = dlopen
"""
SCAN = """from mtls_audit.cli import main
main(["scan", "--sample", "--format", "json,pdf,html,sarif,junit,markdown", "--out", {out!r}])
"""


def scan_with(prelude: str, out: Path) -> subprocess.CompletedProcess[str]:
    code = prelude + SCAN.format(out=str(out))
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=False, cwd=REPO
    )


def assert_every_other_output_is_written_and_sealed(out: Path) -> None:
    assert {p.name for p in out.iterdir()} == {*OTHER_OUTPUTS, "manifest.json"}
    manifest = json.loads((out / "manifest.json").read_text("utf-8"))
    assert {entry["path"] for entry in manifest["files"]} == OTHER_OUTPUTS
    assert "report.pdf" not in (out / "summary.md").read_text("utf-8")


def test_without_weasyprint_the_pdf_alone_is_missing(tmp_path: Path) -> None:
    done = scan_with(BLOCK_WEASYPRINT, tmp_path / "out")
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    assert "internal error" not in done.stderr
    assert "the PDF report needs the Python package weasyprint" in done.stderr
    assert "python3 -m pip install weasyprint" in done.stderr
    assert f"Every other output was written to {tmp_path / 'out'}" in done.stderr
    assert_every_other_output_is_written_and_sealed(tmp_path / "out")


def test_a_system_library_that_does_not_load_is_named_with_its_install_lines(
    tmp_path: Path,
) -> None:
    done = scan_with(FAIL_TO_LOAD.format(part="pango-1.0"), tmp_path / "out")
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    assert "needs the system library Pango (libpango-1.0-0)" in done.stderr
    for line in SYSTEM_INSTALL:
        assert line in done.stderr
    assert "sudo apt-get install libpango-1.0-0" in done.stderr
    assert "WeasyPrint could not import" not in done.stdout + done.stderr  # its banner is hidden
    assert_every_other_output_is_written_and_sealed(tmp_path / "out")


def test_in_process_the_pdf_writer_names_weasyprint(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from mtls_audit.report.pdf import write_pdf
    from tests.report.evidence_factory import realistic_evidence, to_bytes

    monkeypatch.setitem(sys.modules, "weasyprint", None)
    evidence = realistic_evidence()
    with pytest.raises(MissingDependencyError, match="pip install weasyprint"):
        write_pdf(evidence, to_bytes(evidence), tmp_path / "report.pdf")
    assert not (tmp_path / "report.pdf").exists()


@pytest.mark.parametrize(
    ("loaded_as", "named"),
    [
        ("libpango-1.0-0", "Pango (libpango-1.0-0)"),
        ("libpangoft2-1.0-0", "PangoFT2 (libpangoft2-1.0-0)"),
        ("libharfbuzz-0", "HarfBuzz (libharfbuzz-0)"),
        ("libfontconfig-1", "fontconfig (libfontconfig-1)"),
        ("libgobject-2.0-0", "GLib (libgobject-2.0-0)"),
        ("libodd-9", "libodd-9"),
    ],
)
def test_each_library_weasyprint_loads_is_named(loaded_as: str, named: str) -> None:
    with pytest.raises(MissingDependencyError) as info, importing("the PDF report", "weasyprint"):
        raise OSError(f"cannot load library '{loaded_as}': {loaded_as}: cannot open shared object")
    assert f"needs the system library {named}, which could not be loaded" in str(info.value)


def test_an_unrelated_os_error_is_not_a_missing_library() -> None:
    with pytest.raises(PermissionError), importing("the PDF report", "weasyprint"):
        raise PermissionError("permission denied: /tmp/x")


def test_live_collection_names_the_missing_azure_packages(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setitem(sys.modules, "azure.identity", None)
    monkeypatch.setitem(sys.modules, "aiohttp", None)
    args = ["scan", "--subscription", SUBSCRIPTION, "--service", "apim-x"]
    code, _, err = run_cli([*args, "--out", str(tmp_path / "out")], capsys)
    assert code == 2
    assert "live collection from Azure needs the Python packages aiohttp, azure-identity" in err
    assert "python3 -m pip install aiohttp azure-identity" in err
    assert not (tmp_path / "out").exists()


def test_every_sdk_module_is_found_when_installed() -> None:
    from mtls_audit.sources.azure.source import SDK_MODULES

    require_modules("live collection from Azure", SDK_MODULES)  # raises when one is missing


def test_a_scheduled_target_without_weasyprint_fails_with_its_other_outputs_sealed(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from tests.audit.test_schedule import SCHEDULE, run, schedule

    monkeypatch.setitem(sys.modules, "weasyprint", None)
    text = SCHEDULE.format(trend=3).replace("formats: [json]", "formats: [json, pdf, html]")
    code, out, _ = run(schedule(tmp_path, text=text), capsys)
    assert code == 2
    lines = out.splitlines()[:2]
    assert [line.split(" the PDF report needs ")[0] for line in lines] == [
        "clinical: ERROR (exit 2)",
        "ci: ERROR (exit 2)",
    ]
    assert all("python3 -m pip install weasyprint" in line for line in lines)
    folders = [path.parent for path in (tmp_path / "runs").glob("*/*/snapshot.json")]
    assert len(folders) == 2
    for folder in folders:
        names = {p.name for p in folder.iterdir()}
        assert names == {"snapshot.json", "evidence.json", "report.html", "manifest.json"}
        manifest = json.loads((folder / "manifest.json").read_text("utf-8"))
        assert {entry["path"] for entry in manifest["files"]} == names - {"manifest.json"}
