"""Every option of ``scan`` has its place in a schedule (a field of the file, an option of
``schedule run``, or a stated reason why not), and the file's fields build the same typed
settings as the options."""

from __future__ import annotations

from dataclasses import fields
from pathlib import Path
from typing import Any

import click
import pytest

from mtls_audit import cli_estate
from mtls_audit.audit.run_settings import RunSettings
from mtls_audit.audit.schedule import TARGET_FIELDS, TOP_FIELDS, ScheduleConfig, load_config
from mtls_audit.cli import assess_options, scan, source_options
from mtls_audit.cli_estate import schedule_run
from mtls_audit.cli_live import live_options
from mtls_audit.cli_probe import ProbeOptions

SUBSCRIPTION = "6f1c2e3a-4b7d-4c19-9e2a-5d8f0b6a7c31"
RUN_FIELDS = {  # scan's option (its parameter name) -> the schedule file's field
    "fail_on": "fail_on",
    "select": "select",
    "ignore": "ignore",
    "rule_dirs": "rules",
    "disable_pack": "disable_packs",
    "as_of": "as_of",
    "warning_days": "warning_days",
    "notice_days": "notice_days",
    "waivers_file": "waivers",
    "baseline_file": "baseline",
}
TOP = {
    "formats": "formats",
    "out": "output",
    "sign_key": "sign_key",
    "cloud": "cloud",
    "concurrency": "concurrency",
    "timeout_s": "timeout",
    "max_retries": "retries",
    "deadline_s": "deadline",
}
TARGET = {
    "sample": "sample",
    "from_files": "from_file",
    "parameter_files": "parameters",
    "subscription": "subscriptions",
    "resource_group": "resource_groups",
    "service": "services",
}
COMMAND = {  # given to `schedule run` on its command line, as to `scan`
    "auth": "the identity is the scheduled job's, not the schedule's",
    "arm_endpoint": "a private cloud's endpoints, with their environment variables",
    "authority_host": "a private cloud's endpoints, with their environment variables",
    "keyvault_suffix": "a private cloud's endpoints, with their environment variables",
}
NOT_SCHEDULED = {
    "verbose": "one log of every request of every target would interleave; the schedule "
    "shows each target's progress instead",
    "sign_pdf": "a scheduled run signs its manifest (--sign-key); the PDF's PAdES signature "
    "is not offered to scheduled runs yet",
    "probe": "the probe sends requests to the gateways: a scheduled target is not probed",
    **{f.name: "an option of the probe" for f in fields(ProbeOptions)},
}


def _given(command: click.Command, args: list[str]) -> dict[str, Any]:
    return dict(command.make_context(command.name or "", args).params)


def _schedule(tmp_path: Path, text: str) -> ScheduleConfig:
    path = tmp_path / "schedule.yaml"
    path.write_text(text)
    return load_config(path)


def test_every_scan_option_has_its_place_in_a_schedule() -> None:
    placed = {**RUN_FIELDS, **TOP, **TARGET, **COMMAND, **NOT_SCHEDULED}
    assert {str(p.name) for p in scan.params} == set(placed)
    assert set(RUN_FIELDS.values()) | set(TOP.values()) <= set(TOP_FIELDS)
    assert set(TARGET.values()) <= set(TARGET_FIELDS)
    run_options = {p.name for p in schedule_run.params}
    assert set(COMMAND) | {"timeout_s", "max_retries", "deadline_s", "sign_key"} <= run_options


def test_the_run_settings_of_scan_and_of_a_schedule_are_the_same(tmp_path: Path) -> None:
    base = tmp_path.resolve()
    (base / "packs").mkdir()
    args = [
        "--fail-on", "high", "--select", "MTLS-GW,MTLS-KV-01", "--ignore", "MTLS-GW-03",
        "--rules", str(base / "packs"), "--disable-pack", "acme", "--as-of", "2027-01-15",
        "--warning-days", "10", "--notice-days", "20", "--waivers", str(base / "waivers.yaml"),
        "--baseline", str(base / "old.json"),
    ]  # fmt: skip
    options = assess_options.take(_given(scan, args)).settings()
    config = _schedule(
        tmp_path,
        "fail_on: high\nselect: [MTLS-GW, MTLS-KV-01]\nignore: [MTLS-GW-03]\nrules: [packs]\n"
        "disable_packs: [acme]\nas_of: 2027-01-15\nwarning_days: 10\nnotice_days: 20\n"
        "waivers: waivers.yaml\nbaseline: old.json\ntargets: [{name: demo, sample: true}]\n",
    )
    assert config.run == options
    for field in fields(RunSettings):  # every setting travelled, none is a default
        assert getattr(options, field.name) != getattr(RunSettings(), field.name), field.name


def test_outputs_cloud_bounds_and_a_live_selection_are_the_same(tmp_path: Path) -> None:
    base = tmp_path.resolve()
    args = [
        "--format", "pdf,sarif", "--out", str(base / "runs"), "--sign-key", str(base / "k.pem"),
        "--cloud", "AzureChinaCloud", "--concurrency", "3", "--timeout", "7", "--retries", "1",
        "--deadline", "99", "--subscription", SUBSCRIPTION, "--resource-group", "rg-a",
        "--service", "apim-a",
    ]  # fmt: skip
    given = _given(scan, args)
    choices = assess_options.take(given)
    live = live_options.take(given)
    source = source_options.take(given)
    config = _schedule(
        tmp_path,
        "formats: [pdf, sarif]\noutput: runs\nsign_key: k.pem\ncloud: AzureChinaCloud\n"
        "concurrency: 3\ntimeout: 7\nretries: 1\ndeadline: 99\n"
        f"targets: [{{name: prod, subscriptions: ['{SUBSCRIPTION}'], "
        "resource_groups: [rg-a], services: [apim-a]}]\n",
    )
    (target,) = config.targets
    assert config.formats == ("json", *choices.outputs().formats)
    assert (config.output, config.sign_key) == (choices.out, choices.sign_key)
    assert (config.cloud, config.concurrency) == (source.cloud, source.concurrency)
    assert (target.timeout_s, target.retries, target.deadline_s) == (7, 1, 99)
    assert (live.timeout_s, live.max_retries, live.deadline_s) == (7, 1, 99)
    assert target.subscriptions == source.subscription
    assert target.resource_groups == source.resource_group
    assert target.services == source.service


def test_offline_sources_are_the_same(tmp_path: Path) -> None:
    base = tmp_path.resolve()
    args = ["--from-file", str(base / "apim.json"), "--parameters", str(base / "p.json")]
    source = source_options.take(_given(scan, args))
    config = _schedule(
        tmp_path, "targets: [{name: t, from_file: [apim.json], parameters: [p.json]}]\n"
    )
    (target,) = config.targets
    assert (target.from_file, target.parameters) == (source.from_files, source.parameter_files)
    assert source_options.take(_given(scan, ["--sample"])).sample
    assert _schedule(tmp_path, "targets: [{name: t, sample: true}]\n").targets[0].sample


def test_estate_scan_bounds_the_instances_collections_too(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``estate scan --timeout/--retries/--deadline`` bound every instance's collection, as
    ``schedule run``'s do, not only the discovery's reads."""
    planned: list[ScheduleConfig] = []
    monkeypatch.setattr(cli_estate, "run_plan", lambda plan, **_: planned.append(plan))
    args = ["--subscription", SUBSCRIPTION, "--out", str(tmp_path), "--timeout", "5"]
    cli_estate.estate_scan.main(
        [*args, "--retries", "6", "--deadline", "60"], standalone_mode=False
    )
    (target,) = planned[0].targets
    assert (target.timeout_s, target.retries, target.deadline_s) == (5, 6, 60)
