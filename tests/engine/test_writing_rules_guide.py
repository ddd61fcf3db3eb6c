"""The pack docs/writing-rules.md builds (a rule, its cases file, its test) works as written."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from mtls_audit.engine.packs import load_directory
from mtls_audit.testing import case_problems, load_cases

ROOT = Path(__file__).resolve().parents[2]
GUIDE = ROOT / "docs" / "writing-rules.md"
FILE_BLOCK = re.compile(r"^```\w+ (\S+)\n(.*?)^```$", re.M | re.S)


def _write_pack(folder: Path) -> list[str]:
    written = []
    for name, text in FILE_BLOCK.findall(GUIDE.read_text("utf-8")):
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, "utf-8")
        written.append(name)
    return written


def test_the_guide_names_a_rule_its_cases_and_its_test(tmp_path: Path) -> None:
    written = _write_pack(tmp_path)
    assert written == ["acme/acme_out01_backend_owner.py", "cases/ACME-OUT-01.yaml", "test_acme.py"]
    [rule] = load_directory(tmp_path / "acme", "acme").rules
    assert (rule.id, rule.slug, rule.title) == (
        "ACME-OUT-01",
        "backend-owner-named",
        "Backends name their owner",
    )
    assert (rule.subject.name, rule.subject.needs, rule.guide) == (
        "backend",
        ("backends",),
        "beyond",
    )
    assert rule.remediation == {
        "portal": "Backends > the backend > Description: write 'owner: TEAM'."
    }


def test_the_guides_test_passes(tmp_path: Path) -> None:
    _write_pack(tmp_path)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "test_acme.py"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    assert "3 passed" in result.stdout


def test_a_wrong_expectation_is_a_problem(tmp_path: Path) -> None:
    _write_pack(tmp_path)
    _, cases = load_cases(tmp_path / "cases" / "ACME-OUT-01.yaml")
    [rule] = load_directory(tmp_path / "acme", "acme-wrong").rules
    wrong = {**cases[0], "expect": [{"status": "fail"}, {"status": "fail", "key": "pay"}]}
    problems = case_problems(rule, wrong)
    assert problems == [
        "result 1: status 'pass', expected 'fail'",
        "result 2: key 'old', expected 'pay'",
    ]
