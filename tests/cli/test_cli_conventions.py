"""Small command-line conventions: a mistyped --rules is a usage error, `rules explain` reads
extra packs, a run without `text` still says how it went, the help says what is printed, and
the package ships its typing marker."""

from __future__ import annotations

from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from mtls_audit.cli import cli
from tests.cli.test_cli import run_cli
from tests.engine.test_packs import GOOD_RULE

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    "args",
    [
        ["scan", "--sample"],
        ["assess", "snapshot.json"],
        ["rules", "list"],
        ["rules", "explain", "MTLS-GW-01"],
    ],
    ids=["scan", "assess", "rules-list", "rules-explain"],
)
def test_a_mistyped_rules_folder_is_a_usage_error(
    args: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "rulez"
    code, _, err = run_cli([*args, "--rules", str(missing)], capsys)
    assert code == 2
    assert f"Directory '{missing}' does not exist" in err


def test_rules_explain_reads_an_extra_pack(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "acme").mkdir()
    (tmp_path / "acme" / "xx01.py").write_text(GOOD_RULE, encoding="utf-8")
    code, out, _ = run_cli(
        ["rules", "explain", "acme-xx-01", "--rules", str(tmp_path / "acme")], capsys
    )
    assert code == 0
    assert out.startswith("# ACME-XX-01")
    assert "A third-party rule" in out


def test_a_run_without_text_prints_one_summary_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    code, stdout, _ = run_cli(["scan", "--sample", "--format", "json", "--out", str(out)], capsys)
    assert code == 1
    (line,) = stdout.splitlines()
    assert line.startswith(f"mtls-audit: FAIL (exit 1); 3 files in {out}. ")
    assert "findings at or above critical severity" in line


def test_rules_list_help_says_it_prints() -> None:
    text = " ".join(CliRunner().invoke(cli, ["rules", "list", "--help"]).output.split())
    assert "printed" in text
    assert "nothing is written to a file" in text


def test_the_package_is_typed_and_the_readme_lists_every_command() -> None:
    assert (ROOT / "mtls_audit" / "py.typed").is_file()
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for command in cli.list_commands(click.Context(cli)):
        assert f"| `mtls-audit {command}" in readme, command
    assert "sample-out/" in (ROOT / ".gitignore").read_text(encoding="utf-8").split()
