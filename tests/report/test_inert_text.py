"""Hostile text stays data in the console summary and in SARIF messages.

Names and messages come from Azure or from input files: rich markup (``[/]``, ``[link=…]``),
terminal escape sequences, direction overrides, SARIF placeholders (``{0}``) and embedded links
(``[x](javascript:…)``) must all arrive as the characters they are.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from rich.console import Console

from mtls_audit.report.console import print_summary
from mtls_audit.report.sarif import message_text, write_sarif

MARKUP = "Orders [/] API [link=https://evil.example]click[/link] [bold red]RED[/]"
CONTROL = "\x1b[2J\x1b]8;;https://evil.example\x07x \u202eexe.pdf"
SARIF_LIVE = "see [x](javascript:alert(1)) and {0} {1}"


def _poisoned(evidence: dict[str, Any]) -> dict[str, Any]:
    first = next(r for r in evidence["results"] if r["status"] == "fail")
    first["message"] = f"{MARKUP} {CONTROL} {SARIF_LIVE}"
    evidence["run"]["scope"]["services"] = [
        evidence["run"]["scope"]["services"][0] + "-" + MARKUP.replace(" ", "")
    ]
    evidence["errors"] = [{"kind": "pack-error", "message": f"{MARKUP} {CONTROL}"}]
    evidence["gaps"][0]["message"] = f"{SARIF_LIVE} {CONTROL}"
    return evidence


def test_markup_and_control_characters_print_literally(realistic: dict[str, Any]) -> None:
    console = Console(record=True, width=400, color_system="truecolor", force_terminal=True)
    print_summary(_poisoned(realistic), [Path("out") / "[bold]x.json"], console)
    text = console.export_text(styles=False)
    assert "Run error (pack-error): Orders [/] API [link=https://evil.example]click[/link]" in text
    assert "[bold red]RED[/]" in text
    assert "out/[bold]x.json" in text
    assert "\\x1b[2J" in text
    assert "\\u202e" in text
    styled = console.export_text(styles=True)
    assert "\x1b[2J" not in styled
    assert "\u202e" not in styled
    assert "\x1b]8;" not in styled  # no hyperlink: neither rich's nor the data's


def test_sarif_messages_keep_no_live_link_placeholder_or_control(
    realistic: dict[str, Any], tmp_path: Path
) -> None:
    path = write_sarif(_poisoned(realistic), tmp_path / "results.sarif")[0]
    log = json.loads(path.read_text("utf-8"))
    run = log["runs"][0]
    texts = [r["message"]["text"] for r in run["results"]]
    texts += [n["message"]["text"] for n in run["invocations"][0]["toolExecutionNotifications"]]
    poisoned = [t for t in texts if "javascript" in t]
    assert len(poisoned) == 2  # the result and the gap
    for text in texts:
        assert "\x1b" not in text
        assert "\u202e" not in text
        assert "](" not in text.replace("\\](", "")
        assert "{0}" not in text.replace("{{0}}", "")
    assert "see \\[x\\](javascript:alert(1)) and {{0}} {{1}}" in poisoned[0]
    assert all("markdown" not in r["message"] for r in run["results"])


def test_message_text_escapes_backslashes_before_brackets() -> None:
    assert message_text("a\\[b]") == "a\\\\\\[b\\]"
    assert message_text("C:\\path {x}") == "C:\\path {{x}}"
    assert message_text("plain text") == "plain text"
