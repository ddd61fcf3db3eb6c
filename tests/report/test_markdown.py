"""The Markdown summary: verdict, counts, failing rules, links, and escaped names."""

from __future__ import annotations

from typing import Any

from mtls_audit.evidence.reader import md_escape
from mtls_audit.report.markdown import render_markdown

from .evidence_factory import (
    HOSTILE_BIDI,
    HOSTILE_IMG,
    HOSTILE_LINK,
    HOSTILE_MD,
    RULE_PACK,
    empty_evidence,
)


def test_summary_has_verdict_counts_and_failing_rules(realistic: dict[str, Any]) -> None:
    text = render_markdown(realistic, report_files={"PDF": "report.pdf", "SARIF": "a`b.sarif"})
    lines = text.splitlines()
    assert lines[0] == "## mtls-audit: FAIL"
    assert "| Fail | 5 |" in lines
    assert "| Indeterminate | 1 |" in lines
    assert "| critical | 3 | 1 |" in lines
    kv = next(line for line in lines if line.startswith("| MTLS-KV-09 |"))
    assert kv.split(" | ")[2:5] == ["2", "0", "critical"]
    order = [line.split(" | ")[0] for line in lines if line.startswith("| MTLS-")]
    assert order == ["| MTLS-GW-01", "| MTLS-IN-01", "| MTLS-KV-09", "| MTLS-EVID-01"]
    assert "1 gap, 1 run-level error" in text
    assert lines[-1] == (
        "Reports, in the output folder beside this summary: PDF `report.pdf`, SARIF ``a`b.sarif``."
    )
    assert "<details>" not in text  # four failing rules: a short table stays open


def test_hostile_names_are_escaped(hostile: dict[str, Any]) -> None:
    text = render_markdown(hostile)
    for raw in (HOSTILE_IMG, HOSTILE_LINK, HOSTILE_MD):
        assert raw not in text
    assert "<img" not in text
    assert "<link" not in text
    assert "**bold**" not in text
    assert '&lt;link rel=attachment href="file:///etc/passwd"&gt;' in text
    assert (
        "\\*\\*bold\\*\\* \\[x\\]\\(http://evil.example\\) \\| \\`tick\\` &lt;b&gt;&amp;amp;"
        in text
    )
    assert HOSTILE_BIDI not in text
    assert "invoice\\\\u202efdp.exe" in text
    rows = [line for line in text.splitlines() if line.startswith("| MTLS-KV-09")]
    assert rows
    assert rows[0].count(" | ") == 5


def test_escape_keeps_one_line_and_plain_words() -> None:
    assert md_escape("api\nname|x") == "api name\\|x"
    assert md_escape("get-patient 1.0") == "get-patient 1.0"


def test_a_clean_run_says_so() -> None:
    text = render_markdown(empty_evidence())
    assert text.startswith("## mtls-audit: PASS")
    assert "No rule failed and no result was indeterminate." in text
    assert "**Evidence:** complete" in text
    assert "Reports:" not in text


def test_a_long_table_is_folded_and_no_link_is_relative(realistic: dict[str, Any]) -> None:
    """A PR comment shows a long table folded; a relative link would resolve against the pull
    request's page, so the summary has none."""
    template = next(r for r in realistic["results"] if r["rule_id"] == "MTLS-KV-09")
    for n in range(12):
        rule_id = f"MTLS-XX-{n:02d}"
        realistic["rule_pack"].append(dict(RULE_PACK[4], id=rule_id, title=f"Rule ``{n}``"))
        realistic["results"].append(dict(template, rule_id=rule_id, status="fail"))
    text = render_markdown(realistic, report_files={"PDF report": "report.pdf"})
    lines = text.splitlines()
    start = lines.index("<details><summary>16 rules with failed or indeterminate results</summary>")
    end = lines.index("</details>")
    assert lines[start + 1] == ""  # GitHub renders a table in <details> after a blank line
    assert lines[end - 1] == ""
    rows = [line for line in lines[start:end] if line.startswith("| MTLS-")]
    assert len(rows) == 16
    assert "| MTLS-XX-03 | Rule 3 |" in text  # no reST markup in titles
    assert "](" not in text
    assert "<a " not in text


def test_subjects_are_named_once_per_rule(realistic: dict[str, Any]) -> None:
    first = next(r for r in realistic["results"] if r["rule_id"] == "MTLS-GW-01")
    realistic["results"].append(dict(first, key="product:x"))
    text = render_markdown(realistic)
    row = next(line for line in text.splitlines() if line.startswith("| MTLS-GW-01 |"))
    assert row.endswith("| apim-contoso-prod |")


def test_summary_opens_with_the_headline_whatever_the_gate(realistic: dict[str, Any]) -> None:
    """The headline is the assessment's; the gate is its own line and the only one to change."""
    gated = render_markdown(realistic).splitlines()
    summary = dict(realistic["summary"], gate={"fail_on": "none", "failing": 0, "exit_code": 0})
    ungated = render_markdown(dict(realistic, summary=summary)).splitlines()
    assert gated[4].startswith("**")
    assert " tests — " in gated[4]
    assert gated[4] == ungated[4]
    assert gated[6].startswith("CI gate: ")
    assert ungated[6].startswith("CI gate: ")
    assert gated[6] != ungated[6]
