"""Hostile waivers and schedule files: alias bombs, duplicate keys, deep nesting, lone
surrogates and huge values end in one short usage error, never in memory exhaustion or a crash."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.cli.test_cli import run_cli


def alias_bomb(levels: int = 6) -> str:
    """A few hundred bytes that a loader expanding aliases turns into 9**levels strings (kept
    small enough here that a regression costs megabytes, not the machine)."""
    lines = ['a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    lines += [f"a{i}: &a{i} [" + ",".join([f"*a{i - 1}"] * 9) + "]" for i in range(1, levels)]
    return "\n".join([*lines, f"waivers: *a{levels - 1}", ""])


CASES = {
    "alias-bomb": (alias_bomb(), "aliases (*name) are not accepted"),
    "alias": ("base: &b {rule: MTLS-GW-01}\nwaivers: [*b]\n", "aliases (*name) are not accepted"),
    "duplicate-key": (
        "waivers:\n  - rule: MTLS-GW-01\n    rule: MTLS-GW-03\n",
        "line 3: not valid YAML: the key 'rule' is given twice",
    ),
    "duplicate-top": ("waivers: []\nwaivers: []\n", "the key 'waivers' is given twice"),
    "deep-yaml": ("waivers: " + "[" * 5000 + "]" * 5000 + "\n", "nested deeper than 128 levels"),
    "surrogate": ('waivers:\n  - rule: "MTLS\\udc80"\n', "/waivers/0/rule: a string holds a lone"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_a_hostile_waivers_file_is_a_short_usage_error(
    case: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text, words = CASES[case]
    path = tmp_path / "waivers.yaml"
    path.write_text(text, encoding="utf-8")
    code, _, err = run_cli(["scan", "--sample", "--waivers", str(path)], capsys)
    assert code == 2
    assert words in err
    assert len(err) < 400


def test_a_deeply_nested_toml_file_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "waivers.toml"
    path.write_text("waivers = " + "[" * 5000 + "]" * 5000 + "\n", encoding="utf-8")
    code, _, err = run_cli(["scan", "--sample", "--waivers", str(path)], capsys)
    assert code == 2
    assert f"{path}: the waivers file is nested too deeply" in err


def test_a_quoted_value_is_cut_short(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "waivers.yaml"
    path.write_text(
        "waivers:\n  - rule: MTLS-GW-01\n    subjects: x\n    justification: j\n"
        f"    approver: a\n    approved_on: '{'x' * 100_000}'\n    expires_on: 2030-01-01\n",
        encoding="utf-8",
    )
    code, _, err = run_cli(["scan", "--sample", "--waivers", str(path)], capsys)
    assert code == 2
    assert "field 'approved_on': expected a date (YYYY-MM-DD), found 'xxx" in err
    assert len(err) < 300


def test_a_schedule_is_read_by_the_same_strict_loader(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "schedule.yaml"
    path.write_text(alias_bomb().replace("waivers:", "targets:"), encoding="utf-8")
    code, _, err = run_cli(["schedule", "run", str(path)], capsys)
    assert code == 2
    assert "aliases (*name) are not accepted" in err
    path.write_text("targets: []\ntargets: []\n", encoding="utf-8")
    code, _, err = run_cli(["schedule", "run", str(path)], capsys)
    assert code == 2
    assert "the key 'targets' is given twice" in err
