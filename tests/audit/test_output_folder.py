"""The output folder: checked before any work, written without following links, cleaned of the
earlier run's outputs that this run does not write, and checked for links by ``verify``."""

from __future__ import annotations

import errno
import json
import os
import tempfile
from pathlib import Path

import pytest

from mtls_audit.cli import main

from .conftest import Keys


def run_cli(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as info:
        main(args)
    out, err = capsys.readouterr()
    return int(info.value.code or 0), out, err


def scan(out: Path, *extra: str) -> list[str]:
    return ["scan", "--sample", "--fail-on", "none", "--out", str(out), *extra]


def test_an_out_that_is_a_file_is_a_usage_error_before_collection(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "report.txt"
    out.write_text("mine", encoding="utf-8")
    missing = tmp_path / "no-such-input.json"
    for target in (out, out / "sub"):
        code, _, err = run_cli(["scan", "--from-file", str(missing), "--out", str(target)], capsys)
        assert code == 2
        assert f"{target}:" in err
        assert "no-such-input" not in err  # stopped before the input was read
        assert "internal error" not in err
    assert out.read_text(encoding="utf-8") == "mine"


def test_an_out_that_cannot_be_written_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    def read_only(*args: object, **kwargs: object) -> tuple[int, str]:
        raise OSError(errno.EROFS, os.strerror(errno.EROFS))

    monkeypatch.setattr(tempfile, "mkstemp", read_only)
    code, _, err = run_cli(scan(tmp_path / "ro"), capsys)
    assert code == 2
    assert "cannot write in the output folder: Read-only file system" in err


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes in a folder without write permission")
def test_a_folder_without_write_permission_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "locked"
    out.mkdir()
    out.chmod(0o500)
    try:
        code, _, err = run_cli(scan(out), capsys)
    finally:
        out.chmod(0o700)
    assert code == 2
    assert "Permission denied" in err


def test_links_planted_in_out_are_replaced_never_written_through(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    victim = tmp_path / "victim.txt"
    victim.write_text("untouched", encoding="utf-8")
    out = tmp_path / "out"
    out.mkdir()
    for name in ("evidence.json", "snapshot.json", "junit.xml", "manifest.json"):
        (out / name).symlink_to(victim)
    (out / "results.sarif").symlink_to(tmp_path / "nowhere")
    code, _, _ = run_cli(scan(out, "--format", "json,sarif,junit"), capsys)
    assert code == 0
    assert victim.read_text(encoding="utf-8") == "untouched"
    assert not (tmp_path / "nowhere").exists()
    for name in ("evidence.json", "snapshot.json", "junit.xml", "manifest.json", "results.sarif"):
        assert not (out / name).is_symlink()
    assert run_cli(["verify", str(out)], capsys)[0] == 0
    assert not [p for p in out.iterdir() if p.name.endswith(".tmp")]


def test_verify_flags_links_and_dangling_links(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    assert run_cli(scan(out, "--format", "json"), capsys)[0] == 0
    outside = tmp_path / "outside.json"
    outside.write_bytes((out / "evidence.json").read_bytes())
    (out / "evidence.json").unlink()
    (out / "evidence.json").symlink_to(outside)  # same bytes, but read through a link
    (out / "gone.txt").symlink_to(tmp_path / "nowhere")
    code, stdout, _ = run_cli(["verify", str(out)], capsys)
    assert code == 1
    assert f"evidence.json: a symbolic link (to {outside})" in stdout
    assert "gone.txt: a dangling symbolic link" in stdout


def test_a_rerun_replaces_the_earlier_outputs_and_removes_those_it_does_not_write(
    tmp_path: Path, keys: Keys, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    first = scan(out, "--format", "json,sarif,junit,markdown", "--sign-key", str(keys.private))
    assert run_cli(first, capsys)[0] == 0
    assert (out / "results.sarif").exists()
    assert (out / "manifest.dsse.json").exists()
    (out / "notes.txt").write_text("the user's own file", encoding="utf-8")
    assert run_cli(scan(out, "--format", "json,html"), capsys)[0] == 0
    names = sorted(p.name for p in out.iterdir())
    assert names == [
        "evidence.json",
        "manifest.json",
        "notes.txt",
        "report.html",
        "snapshot.json",
    ]
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    listed = sorted(entry["path"] for entry in manifest["files"])
    assert listed == ["evidence.json", "report.html", "snapshot.json"]
    code, stdout, _ = run_cli(["verify", str(out)], capsys)
    assert code == 1
    assert stdout.count("MISMATCH") == 1
    assert "notes.txt: present but not listed" in stdout


def test_a_summary_links_only_what_this_run_wrote(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    assert run_cli(scan(out, "--format", "json,sarif"), capsys)[0] == 0
    assert run_cli(scan(out, "--format", "json,markdown"), capsys)[0] == 0
    summary = (out / "summary.md").read_text(encoding="utf-8")
    assert "results.sarif" not in summary
    assert "evidence.json" in summary


def test_assessing_the_snapshot_of_the_output_folder_keeps_and_lists_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    assert run_cli(scan(out, "--format", "json"), capsys)[0] == 0
    snapshot = out / "snapshot.json"
    code, _, _ = run_cli(
        ["assess", str(snapshot), "--fail-on", "none", "--format", "json", "--out", str(out)],
        capsys,
    )
    assert code == 0
    assert snapshot.exists()
    assert run_cli(["verify", str(out)], capsys)[0] == 0


def test_verify_shows_control_characters_in_names_as_escapes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    assert run_cli(scan(out, "--format", "json"), capsys)[0] == 0
    (out / "x\x1b[2J\u202etxt.pdf").write_text("planted", encoding="utf-8")
    code, stdout, _ = run_cli(["verify", str(out)], capsys)
    assert code == 1
    assert "MISMATCH x\\x1b[2J\\u202etxt.pdf: present but not listed" in stdout
    assert "\x1b" not in stdout
    assert "\u202e" not in stdout
