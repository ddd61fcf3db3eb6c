"""Names from Azure reach the terminal as data: rich markup in an API or service name neither
crashes the summary nor styles it, and control characters are shown as escapes. (A table cell
is cut to its width, so the full text is checked where it prints whole: the output folder.)"""

from __future__ import annotations

from pathlib import Path

import pytest

from mtls_audit import snapshot
from mtls_audit.cli import main
from tests.rules.builder import child
from tests.rules.builder import snapshot as make

HOSTILE = "\x1b[2J \u202e Orders [/] API [link=https://evil.example]x[/link] [bold red]R[/]"


def test_markup_in_names_prints_literally_and_the_exit_code_is_the_verdict(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "snapshot.json"
    service = {"name": HOSTILE}
    api = child("apis/orders", {"displayName": HOSTILE, "path": "orders"})
    snapshot.write(make(service, [api]), path)
    with pytest.raises(SystemExit) as info:
        main(["assess", str(path), "--out", str(tmp_path / HOSTILE), "--format", "json,text"])
    out, err = capsys.readouterr()
    assert info.value.code == 1  # GW-01 fails; never 3 (an internal error)
    assert "internal error" not in err
    assert "x[/link] [bold red]R[/]/evidence.json" in out  # the folder's name, as it is
    assert "\x1b" not in out
    assert "\u202e" not in out
    assert "\\x1b[2J \\u202e Orders" in out
