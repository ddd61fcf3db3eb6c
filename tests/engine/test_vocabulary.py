"""One vocabulary: the enums of mtls_audit.vocabulary are what the schema, the options, their
help texts and the per-severity tables say."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from mtls_audit.cli import cli
from mtls_audit.report import console, sarif
from mtls_audit.resources import package_data
from mtls_audit.sources.azure.auth import CLOUDS as CLOUD_ENDPOINTS
from mtls_audit.vocabulary import (
    AUTH_MODES,
    CLOUDS,
    FAIL_ON_CHOICES,
    FORMATS,
    SEVERITIES,
    STATUSES,
)


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
