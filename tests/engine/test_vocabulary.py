"""One vocabulary: the enums of mtls_audit.vocabulary are what the schema, the options, their
help texts, the schedule file, the writers, the labels and the per-severity tables say."""

from __future__ import annotations

import ast
import json
import re
from collections.abc import Iterator
from importlib import resources

import click
import pytest
from click.testing import CliRunner

from mtls_audit import workflow
from mtls_audit.audit import schedule
from mtls_audit.cli import cli
from mtls_audit.evidence.reader import STATUS_LABELS
from mtls_audit.report import console, sarif
from mtls_audit.resources import bundled_dir, package_data
from mtls_audit.sources.azure.auth import CLOUDS as CLOUD_ENDPOINTS
from mtls_audit.vocabulary import (
    AUTH_MODES,
    CLOUDS,
    FAIL_ON_CHOICES,
    FILE_FORMATS,
    FORMATS,
    NO_THRESHOLD,
    SEVERITIES,
    STATUSES,
)

CHOICES = {"auth": AUTH_MODES, "cloud": CLOUDS, "fail_on": FAIL_ON_CHOICES}
"""Options whose values are a vocabulary, by parameter name."""


def test_the_evidence_schema_names_the_statuses_and_severities() -> None:
    schema = json.loads(package_data("schemas", "evidence-v1.json").read_text("utf-8"))
    assert schema["$defs"]["status"]["enum"] == list(STATUSES)
    assert schema["$defs"]["severity"]["enum"] == list(SEVERITIES)


def test_every_cloud_has_its_endpoints() -> None:
    assert tuple(CLOUD_ENDPOINTS) == CLOUDS


@pytest.mark.parametrize("table", [console._STYLE, sarif.LEVELS, sarif.SECURITY_SEVERITY])
def test_per_severity_tables_cover_every_severity(table: dict[str, str]) -> None:
    assert tuple(table) == SEVERITIES


@pytest.mark.parametrize("command", ["scan", "assess"])
def test_help_texts_list_the_vocabulary(command: str) -> None:
    shown = " ".join(
        CliRunner().invoke(cli, [command, "--help"], terminal_width=400).output.split()
    )
    assert f"Outputs, comma-separated or repeated: {', '.join(FORMATS)}." in shown
    assert f"[{'|'.join(FAIL_ON_CHOICES)}]" in shown
    if command == "scan":
        assert f"[{'|'.join(AUTH_MODES)}]" in shown
        assert f"[{'|'.join(CLOUDS)}]" in shown


def _commands(
    command: click.Command, name: str = "mtls-audit"
) -> Iterator[tuple[str, click.Command]]:
    yield name, command
    if isinstance(command, click.Group):  # listed as --help lists them: lazy ones too
        context = click.Context(command)
        for sub_name in command.list_commands(context):
            sub = command.get_command(context, sub_name)
            assert sub is not None, sub_name
            yield from _commands(sub, f"{name} {sub_name}")


def test_every_option_of_a_vocabulary_offers_exactly_its_values() -> None:
    offered: dict[str, list[str]] = {}
    for name, command in _commands(cli):
        for param in command.params:
            if param.name not in CHOICES:
                continue
            assert isinstance(param.type, click.Choice), (name, param.name)
            assert tuple(param.type.choices) == CHOICES[param.name], (name, param.name)
            assert param.default in CHOICES[param.name], (name, param.name)
            offered.setdefault(param.name, []).append(name)
    assert set(offered["auth"]) >= {"mtls-audit scan", "mtls-audit schedule run"}
    assert set(offered["cloud"]) >= {"mtls-audit collect", "mtls-audit estate scan"}
    assert set(offered["fail_on"]) >= {"mtls-audit assess", "mtls-audit estate scan"}


def test_estate_scan_lists_the_file_formats() -> None:
    shown = " ".join(
        CliRunner().invoke(cli, ["estate", "scan", "--help"], terminal_width=400).output.split()
    )
    assert f"Comma-separated: {', '.join(FILE_FORMATS)}." in shown


def test_every_file_format_has_its_writer_and_the_schedule_takes_them() -> None:
    assert tuple(workflow.WRITERS) == FILE_FORMATS
    assert schedule.FORMATS == FILE_FORMATS


def test_every_status_has_its_label() -> None:
    assert set(STATUSES) <= set(STATUS_LABELS)


def test_the_trend_table_lists_the_severities() -> None:
    template = (bundled_dir("report_templates") / "sections" / "trend.html").read_text("utf-8")
    found = re.search(r"for key in (\([^)]*\))", template)
    assert found is not None
    assert ast.literal_eval(found.group(1)) == SEVERITIES


def test_the_evidence_says_no_threshold_as_the_option_does() -> None:
    text = resources.files("mtls_audit.samples").joinpath("healthcare.json").read_text()
    evidence = workflow.assess(
        json.loads(text), "0" * 64, workflow.AssessOptions(fail_on=None, select=("MTLS-GW-01",))
    ).evidence
    assert evidence["run"]["options"]["fail_on"] == NO_THRESHOLD
    assert evidence["summary"]["gate"]["fail_on"] == NO_THRESHOLD
