"""The CI examples in docs/ci parse, and ask only for formats the command line knows."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from mtls_audit.vocabulary import FORMATS

CI_DOCS = Path(__file__).resolve().parents[2] / "docs" / "ci"


@pytest.mark.parametrize("name", ["github-actions.yml", "azure-pipelines.yml"])
def test_ci_example_is_valid_yaml_using_known_formats(name: str) -> None:
    text = (CI_DOCS / name).read_text(encoding="utf-8")
    assert isinstance(yaml.safe_load(text), dict)
    requested = re.findall(r"--format (\S+)", text)
    assert requested
    for formats in requested:
        assert set(formats.split(",")) <= set(FORMATS)
    for output in ("results.sarif", "junit.xml", "summary.md"):
        assert output in text
