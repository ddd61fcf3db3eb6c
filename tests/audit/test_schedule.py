"""Scheduled scans: two targets, three runs, a history and a trend; bad schedules."""

from __future__ import annotations

import hashlib
import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from mtls_audit.audit.history import History
from mtls_audit.report.html import render_html
from tests.audit.conftest import Keys
from tests.cli.test_cli import run_cli

OFFLINE_SERVICE = [
    {
        "id": "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/offline/"
        "providers/Microsoft.ApiManagement/service/apim-ci",
        "type": "Microsoft.ApiManagement/service",
        "name": "apim-ci",
        "location": "westeurope",
        "sku": {"name": "Developer", "capacity": 1},
        "properties": {
            "hostnameConfigurations": [
                {
                    "type": "Proxy",
                    "hostName": "api.example.org",
                    "negotiateClientCertificate": False,
                }
            ]
        },
    }
]
SCHEDULE = """\
output: runs
formats: [json]
fail_on: critical
trend_runs: {trend}
targets:
  - name: clinical
    sample: true
  - name: ci
    from_file: [infra/apim.json]
"""


CLINICAL = "targets[0] (clinical)"


def schedule(folder: Path, trend: int = 5, text: str | None = None) -> Path:
    (folder / "infra").mkdir(exist_ok=True)
    (folder / "infra" / "apim.json").write_text(json.dumps(OFFLINE_SERVICE), encoding="utf-8")
    path = folder / "schedule.yaml"
    path.write_text(text if text is not None else SCHEDULE.format(trend=trend), encoding="utf-8")
    return path


def run(config: Path, capsys: pytest.CaptureFixture[str], *extra: str) -> tuple[int, str, str]:
    return run_cli(["schedule", "run", str(config), *extra], capsys)


def evidence(path: Path) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(path.read_text("utf-8"))
    return document


def test_three_runs_of_two_targets_build_history_and_trend(
    tmp_path: Path, keys: Keys, capsys: pytest.CaptureFixture[str]
) -> None:
    config = schedule(tmp_path)
    for _ in range(3):
        code, out, _ = run(config, capsys, "--sign-key", str(keys.private))
        assert code == 1  # both targets have critical findings
        lines = out.splitlines()
        assert lines[0].startswith("clinical: FAIL (exit 1) ")
        assert lines[1].startswith("ci: FAIL (exit 1) ")
        assert lines[2] == f"History: {tmp_path / 'runs' / 'history.sqlite'}"

    root = tmp_path / "runs"
    history = History(root / "history.sqlite")
    for target in ("clinical", "ci"):
        runs = history.runs(target)
        assert len(runs) == 3
        folders = sorted(p for p in (root / target).iterdir())
        assert len(folders) == 3
        assert [r.evidence_path for r in runs] == [
            (f / "evidence.json").relative_to(root).as_posix() for f in folders
        ]
        for record, folder in zip(runs, folders, strict=True):
            data = (folder / "evidence.json").read_bytes()
            assert record.evidence_sha256 == hashlib.sha256(data).hexdigest()
            document = json.loads(data)
            assert record.run_id == document["run"]["id"]
            assert record.exit_code == 1
            assert dict(record.by_severity) == document["summary"]["by_severity"]
            assert record.by_status["fail"] == document["summary"]["by_status"]["fail"]
            code, text, _ = run_cli(["verify", str(folder), "--key", str(keys.public)], capsys)
            assert code == 0, text
        third = evidence(folders[-1] / "evidence.json")
        assert [p["run_id"] for p in third["trend"]] == [r.run_id for r in runs]
        assert [p["by_severity"] for p in third["trend"]] == [dict(r.by_severity) for r in runs]
        first = evidence(folders[0] / "evidence.json")
        assert len(first["trend"]) == 1

    clinical = evidence(sorted((root / "clinical").iterdir())[-1] / "evidence.json")
    html = render_html(clinical, evidence_sha256="0" * 64)
    assert "Trend over recent runs" in html
    assert "last 3 scheduled" in " ".join(html.split())
    assert html.count("(this run)") == 1

    with sqlite3.connect(root / "history.sqlite") as db:
        rows = db.execute("SELECT target, failed_critical FROM runs ORDER BY seq").fetchall()
    # Each run is recorded as it ends: each schedule's two, in whichever order they ended.
    assert [sorted(t for t, _ in rows[n : n + 2]) for n in (0, 2, 4)] == [["ci", "clinical"]] * 3
    assert all(n >= 1 for _, n in rows)


def test_the_trend_is_bounded(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = schedule(tmp_path, trend=2)
    for _ in range(3):
        run(config, capsys)
    last = sorted((tmp_path / "runs" / "ci").iterdir())[-1]
    assert len(evidence(last / "evidence.json")["trend"]) == 2


def test_an_assessment_outside_a_schedule_says_it_has_no_trend(tmp_path: Path) -> None:
    from tests.audit.conftest import exit_of

    exit_of(["scan", "--sample", "--format", "json", "--out", str(tmp_path)])
    html = render_html(evidence(tmp_path / "evidence.json"), evidence_sha256="0" * 64)
    assert "No run history: this assessment was not part of a scheduled series" in html


def test_a_failing_target_is_recorded_and_the_others_still_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = SCHEDULE.format(trend=3).replace("infra/apim.json", "gone.json")
    config = schedule(tmp_path, text=text)
    code, out, _ = run(config, capsys)
    assert code == 2
    assert out.splitlines()[0].startswith("clinical: FAIL (exit 1)")
    assert out.splitlines()[1].startswith("ci: ERROR (exit 2) ")
    assert "gone.json" in out.splitlines()[1]
    (record,) = History(tmp_path / "runs" / "history.sqlite").runs("ci")
    assert (record.exit_code, record.run_id, record.evidence_path) == (2, None, None)
    assert "gone.json" in str(record.error)


def test_a_toml_schedule(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    schedule(tmp_path)
    config = tmp_path / "schedule.toml"
    config.write_text(
        'output = "toml-runs"\nformats = ["json"]\nfail_on = "none"\n\n'
        '[[targets]]\nname = "demo"\nsample = true\n',
        encoding="utf-8",
    )
    code, out, _ = run(config, capsys)
    assert code == 0
    # The sample fails many rules: ungated, that is "not gated", never a pass.
    assert out.startswith("demo: NOT GATED (exit 0) ")
    assert "25 critical, 40 high, 28 medium, 9 low failing" in out
    assert (tmp_path / "toml-runs" / "history.sqlite").is_file()


@pytest.mark.parametrize(
    ("edit", "where", "words"),
    [
        (("sample: true", "sample: true\n    from_file: x.json"), CLINICAL, "exactly one"),
        (("name: ci", "name: CLINICAL"), "targets[1] (CLINICAL)", "already named"),
        (("name: ci", "name: ../ci"), "targets[1] (../ci)", "field 'name'"),
        (("from_file:", "from_files:"), "targets[1] (ci)", "did you mean 'from_file'?"),
        (("sample: true", "sample: true\n    services: [apim]"), CLINICAL, "'services'"),
        (("fail_on: critical", "fail_on: severe"), "/", "field 'fail_on'"),
        (("formats: [json]", "formats: [json, docx]"), "/", "unknown format docx"),
        (("trend_runs: 5", "trend_runs: 0"), "/", "field 'trend_runs'"),
        (("sample: true", "sample: true\n    deadline: 60"), CLINICAL, "'deadline'"),
        (("trend_runs: 5", "trend_runs: 5\ntimeout: 0"), "/", "field 'timeout'"),
    ],
)
def test_a_bad_schedule_names_the_target_and_field(
    edit: tuple[str, str],
    where: str,
    words: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    config = schedule(tmp_path, text=SCHEDULE.format(trend=5).replace(*edit))
    code, _, err = run(config, capsys)
    assert code == 2
    assert f"{config}: {where}: " in err
    assert words in err
    assert not (tmp_path / "runs").exists()


def test_live_targets_take_their_own_bounds_over_the_schedule_defaults(tmp_path: Path) -> None:
    from mtls_audit.audit.schedule import load_config
    from mtls_audit.sources.azure.bounds import DEFAULT_RETRIES, DEFAULT_TIMEOUT_S

    text = """\
deadline: 300
targets:
  - name: prod
    subscriptions: [00000000-0000-0000-0000-000000000001]
    timeout: 10
    retries: 1
  - name: test
    subscriptions: [00000000-0000-0000-0000-000000000002]
"""
    prod, test = load_config(schedule(tmp_path, text=text)).targets
    assert (prod.timeout_s, prod.retries, prod.deadline_s) == (10, 1, 300)
    assert (test.timeout_s, test.retries, test.deadline_s) == (
        DEFAULT_TIMEOUT_S,
        DEFAULT_RETRIES,
        300,
    )


ACME_RULE = '''
from mtls_audit.api import Service, Severity, passed, rule

@rule(id="ACME-XX-01", slug="always-looks", title="A third-party rule", severity=Severity.LOW,
      topics=("audit",), guide="beyond", remediation={"portal": "nothing"}, subject=Service)
def judge(svc, ctx):
    """
    What it checks:
        x
    """
    yield passed(svc.id, f"looked at {svc.service.name} with {ctx.options.warning_days} days")
'''


def test_every_option_of_scan_reaches_a_scheduled_target(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "acme").mkdir()
    (tmp_path / "acme" / "xx01.py").write_text(ACME_RULE, encoding="utf-8")
    text = (
        "output: runs\nformats: [json]\nrules: [acme]\ndisable_packs: [builtin]\n"
        "select: [ACME-XX-01]\nas_of: 2027-01-15\nwarning_days: 45\nnotice_days: 90\n"
        "targets:\n  - name: clinical\n    sample: true\n"
    )
    code, _, _ = run(schedule(tmp_path, text=text), capsys)
    [found] = list((tmp_path / "runs" / "clinical").glob("*/evidence.json"))
    document = evidence(found)
    assert code == 0
    assert [r["id"] for r in document["rule_pack"]] == ["ACME-XX-01"]
    assert document["run"]["as_of"] == "2027-01-15T00:00:00Z"
    assert document["run"]["options"]["warning_days"] == 45
    assert document["run"]["options"]["notice_days"] == 90
    assert {r["message"].rsplit(" with ", 1)[1] for r in document["results"]} == {"45 days"}


def test_a_scheduled_baseline_is_read_and_applied(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    first = "output: runs\nformats: [json]\ntargets:\n  - name: clinical\n    sample: true\n"
    code, _, _ = run(schedule(tmp_path, text=first), capsys)
    assert code == 1  # the sample has critical findings
    [earlier] = list((tmp_path / "runs" / "clinical").glob("*/evidence.json"))
    (tmp_path / "baseline.json").write_bytes(earlier.read_bytes())
    second = first.replace("targets:", "baseline: baseline.json\ntargets:")
    code, _, _ = run(schedule(tmp_path, text=second), capsys)
    assert code == 0  # every finding is known debt in the baseline


def test_a_bad_as_of_in_a_schedule_names_the_field(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = "output: runs\nas_of: soon\ntargets:\n  - name: clinical\n    sample: true\n"
    code, _, err = run(schedule(tmp_path, text=text), capsys)
    assert code == 2
    assert "as_of" in err
    assert "soon" in err
