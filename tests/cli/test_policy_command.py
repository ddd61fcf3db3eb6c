"""``mtls-audit policy FILE…``: standalone inbound verdicts, output forms and exit codes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mtls_audit.cli import main

CERT = "context.Request.Certificate"
THUMB = "0123456789ABCDEF0123456789ABCDEF01234567"
REJECT = '<return-response><set-status code="403" /></return-response>'
SOUND = (
    f'<choose><when condition="@({CERT} == null || !{CERT}.Verify() || '
    f'{CERT}.Thumbprint != &quot;{THUMB}&quot;)">{REJECT}</when></choose>'
)


def run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as stopped:
        main(["policy", *args])
    out, err = capsys.readouterr()
    code = stopped.value.code
    assert isinstance(code, int)
    return code, out, err


def write(tmp_path: Path, name: str, text: str) -> str:
    path = tmp_path / name
    path.write_text(text, "utf-8")
    return str(path)


def test_a_sound_policy_exits_0(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    file = write(tmp_path, "sound.xml", f"<policies><inbound>{SOUND}</inbound></policies>")
    code, out, _ = run([file], capsys)
    assert code == 0
    assert out.startswith(f"{file}: validates the client certificate soundly\n")
    assert "missing certificate      always rejected (return-response, line 1)" in out


def test_a_failure_that_gets_through_exits_1_with_the_counterexample(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    broken = SOUND.replace(f"!{CERT}.Verify() ||", f"!{CERT}.Verify() &amp;&amp;")
    file = write(tmp_path, "broken.xml", f"<policies><inbound>{broken}</inbound></policies>")
    code, out, _ = run([file], capsys)
    assert code == 1
    assert "lets failing certificates through" in out
    assert (
        "another thumbprint       never rejected: a client certificate with a valid chain but "
        "another thumbprint is forwarded to the backend"
    ) in out


def test_a_fragment_is_inbound_content_and_base_is_an_unknown_parent(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fragment = write(tmp_path, "f.xml", f"<fragment>\n{SOUND}\n</fragment>")
    code, out, _ = run([fragment], capsys)
    assert code == 0
    assert "always rejected (return-response, line 2)" in out
    inherits = write(
        tmp_path, "api.xml", "<policies>\n<inbound>\n<base />\n</inbound>\n</policies>"
    )
    code, out, _ = run([inherits], capsys)
    assert code == 1
    assert "inherits an unknown parent (<base/> at line 3)" in out


def test_syntax_problems_are_reported_with_lines(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    file = write(
        tmp_path, "bad.xml", f"<policies>\n<inbound>\n{SOUND}\n<set-header name='x'>\n</policies>"
    )
    code, out, _ = run([file], capsys)
    assert code == 0
    assert "  syntax: line 4, column 1:" in out


def test_named_values_decide_an_unknown_flag(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    file = write(
        tmp_path,
        "flag.xml",
        '<validate-client-certificate validate-trust="{{trust}}"><identities>'
        f'<identity thumbprint="{THUMB}" /></identities></validate-client-certificate>',
    )
    code, out, _ = run([file], capsys)
    assert code == 3
    assert (
        "untrusted chain          undecidable: it depends on what the analyser cannot model: "
        in out
    )
    assert '`validate-trust="{{trust}}"` (flag.xml, line 1)' in out
    code, _, _ = run(["--named-value", "trust=true", file], capsys)
    assert code == 0
    code, _, err = run(["--named-value", "trust", file], capsys)
    assert code == 2
    assert "NAME=VALUE" in err


def test_json_output(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    file = write(
        tmp_path,
        "header.xml",
        '<choose><when condition="@(context.Request.Headers.GetValueOrDefault('
        f'&quot;X-ARR-ClientCertThumbprint&quot;, &quot;&quot;) != &quot;{THUMB}&quot;)">'
        f"{REJECT}</when></choose>",
    )
    code, out, _ = run(["--format", "json", file], capsys)
    assert code == 1
    (found,) = json.loads(out)
    assert found["verdict"] == "lets-through"
    assert found["exit_code"] == 1
    assert found["certificate"] == "header:X-ARR-ClientCertThumbprint"
    assert found["header_reads"] == [
        {"header": "X-ARR-ClientCertThumbprint", "line": 1, "deleted_at": None}
    ]
    assert found["kinds"]["wrong-thumbprint"]["outcome"] == "always-rejected"
    assert found["kinds"]["missing"]["rejected_by"][0]["how"] == "return-response"


def test_unreadable_files_exit_2_and_the_worst_code_wins(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sound = write(tmp_path, "sound.xml", SOUND)
    missing = str(tmp_path / "missing.xml")
    refused = write(tmp_path, "dtd.xml", '<!DOCTYPE x [<!ENTITY a "b">]><policies />')
    code, out, _ = run([sound, missing, refused], capsys)
    assert code == 2
    assert f"{missing}: cannot be read\n  {missing}: cannot read the file:" in out
    assert f"{refused}: cannot be read" in out
    undecidable = write(tmp_path, "u.xml", '<include-fragment fragment-id="x" />')
    code, _, _ = run([sound, undecidable], capsys)
    assert code == 3


def test_json_carries_the_notes_of_the_text_and_section_order_is_a_note(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    weak = SOUND.replace(
        f"{CERT}.Thumbprint != &quot;{THUMB}&quot;", f"!{CERT}.Subject.Contains(&quot;CN=a&quot;)"
    )
    text = f"<policies><outbound /><inbound><base />{weak}</inbound></policies>"
    file = write(tmp_path, "weak.xml", text)
    _, out, _ = run([file], capsys)
    assert "syntax:" not in out
    assert "  note: line 1, column " in out
    assert "section <inbound> comes after <outbound>" in out
    assert "  weak pin: line 1 tests that the subject contains 'CN=a'" in out
    _, printed, _ = run(["--format", "json", file], capsys)
    (found,) = json.loads(printed)
    assert found["syntax"] == []
    for note in found["notes"]:
        assert f"  {note}" in out
    assert any(note.startswith("weak pin:") for note in found["notes"])
    assert any(note.startswith("note: line 1") for note in found["notes"])


def test_conditions_of_a_bypass_are_joined_with_and(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    guarded = SOUND.replace(
        "@(",
        "@(context.Request.Method == &quot;POST&quot; &amp;&amp; "
        "context.Request.Url.Path != &quot;/x&quot; &amp;&amp; (",
    ).replace(')">', '))">', 1)
    file = write(tmp_path, "guarded.xml", f"<policies><inbound>{guarded}</inbound></policies>")
    _, out, _ = run([file], capsys)
    assert ' when `context.Request.Method == "POST"` is false' in out
    assert "when … when" not in out
    assert out.count(" when `") == out.count("never rejected") + out.count("under a condition")


def test_the_policy_command_speaks_of_files_not_of_a_snapshot(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = '<policies><inbound><include-fragment fragment-id="checks" /></inbound></policies>'
    file = write(tmp_path, "fragment.xml", text)
    _, out, _ = run([file], capsys)
    assert "snapshot" not in out
    _, printed, _ = run(["--format", "json", file], capsys)
    assert "snapshot" not in printed
