"""Rule-pack discovery: the built-in pack, directories, entry points, broken packs."""

from __future__ import annotations

import sys
from importlib.metadata import EntryPoint, entry_points
from pathlib import Path

import pytest

from mtls_audit.engine import packs
from mtls_audit.engine.packs import discover, load_directory
from mtls_audit.engine.rule import Context, Options
from mtls_audit.engine.runner import gate, run
from mtls_audit.model import build_model
from tests.rules.builder import snapshot

GOOD_RULE = '''
from mtls_audit.api import Service, Severity, passed, rule

@rule(id="ACME-XX-01", slug="always-looks", title="A third-party rule", severity=Severity.LOW,
      topics=("audit",), guide="beyond", remediation={"portal": "nothing"}, subject=Service)
def judge(svc, ctx):
    """
    What it checks:
        x
    """
    yield passed(svc.id, f"looked at {svc.service.name}")
'''

RAISING_RULE = (
    GOOD_RULE.replace("ACME-XX-01", "ACME-XX-02")
    .replace("always-looks", "always-raises")
    .replace('yield passed(svc.id, f"looked at {svc.service.name}")', 'raise KeyError("boom")')
)


def test_builtin_pack_comes_through_the_entry_point() -> None:
    found, failures = discover()
    assert failures == []
    builtin = next(p for p in found if p.name == "builtin")
    assert builtin.origin.endswith(str(packs.builtin_pack_dir()))
    assert any(r.id == "MTLS-GW-01" for r in builtin.rules)


def test_directory_pack(tmp_path: Path) -> None:
    (tmp_path / "acme").mkdir()
    (tmp_path / "acme" / "xx01.py").write_text(GOOD_RULE)
    found, failures = discover([tmp_path / "acme"])
    assert failures == []
    acme = next(p for p in found if p.name == "acme")
    assert [r.id for r in acme.rules] == ["ACME-XX-01"]
    assert acme.rules[0].pack == "acme"


def test_entry_point_pack(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "acme_rules_mod.py").write_text(GOOD_RULE)
    monkeypatch.syspath_prepend(str(tmp_path))
    ep = EntryPoint(name="acme", value="acme_rules_mod", group=packs.ENTRY_POINT_GROUP)
    monkeypatch.setattr(packs, "entry_points", lambda group: [*entry_points(group=group), ep])
    found, failures = discover()
    assert failures == []
    assert [r.id for r in next(p for p in found if p.name == "acme").rules] == ["ACME-XX-01"]
    sys.modules.pop("acme_rules_mod", None)


def test_broken_pack_is_reported_not_skipped(tmp_path: Path) -> None:
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / "bad.py").write_text("def oops(:\n")
    found, failures = discover([tmp_path / "broken"])
    assert [f.pack for f in failures] == ["broken"]
    assert "bad.py" in failures[0].message
    assert any(p.name == "builtin" for p in found)


def test_duplicate_rule_id_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "dup").mkdir()
    (tmp_path / "dup" / "x.py").write_text(GOOD_RULE.replace("ACME-XX-01", "MTLS-GW-01"))
    _, failures = discover([tmp_path / "dup"])
    assert "MTLS-GW-01" in failures[0].message


def test_disabling_a_pack_is_explicit() -> None:
    found, _ = discover(disabled=["builtin"])
    assert all(p.name != "builtin" for p in found)


def test_raising_rule_becomes_indeterminate_and_an_error(tmp_path: Path) -> None:
    (tmp_path / "raiser").mkdir()
    (tmp_path / "raiser" / "r.py").write_text(RAISING_RULE)
    pack = load_directory(tmp_path / "raiser", "raiser")
    model = build_model(snapshot())
    assessment = run(Context(model, Options()), pack.rules)
    assert [f.status.value for f in assessment.findings] == ["indeterminate"]
    assert "KeyError" in assessment.errors[0].message
    assert gate(assessment, None, gaps=0).exit_code == 3


NEEDY_RULE = '''
from mtls_audit.api import Service, Severity, passed, rule

CALLS = []

@rule(id="ACME-XX-03", slug="needs-backends", title="A rule that needs backends",
      severity=Severity.HIGH, topics=("audit",), guide="beyond",
      remediation={"portal": "nothing"}, subject=Service, needs=("backends",))
def judge(svc, ctx):
    """
    What it checks:
        x
    """
    CALLS.append(svc.id)
    yield passed(svc.id, "judged")
'''


def test_a_need_not_collected_is_indeterminate_without_calling_the_rule(tmp_path: Path) -> None:
    (tmp_path / "needy").mkdir()
    (tmp_path / "needy" / "n.py").write_text(NEEDY_RULE)
    [rule] = load_directory(tmp_path / "needy", "needy").rules
    service_id = snapshot()["resources"][0]["id"]
    gap = {"kind": "forbidden", "what": "backends", "subject": service_id, "message": "403 No"}
    assessment = run(Context(build_model(snapshot(gaps=[gap]))), [rule])
    calls: list[str] = sys.modules[rule.judge.__module__].CALLS
    [finding] = assessment.findings
    assert finding.status.value == "indeterminate"
    assert "backends could not be collected completely (403 No)" in finding.result.message
    assert calls == []
    judged = run(Context(build_model(snapshot())), [rule])
    assert [f.status.value for f in judged.findings] == ["pass"]
    assert calls == [service_id]
