"""The CI outputs of a fresh scan of the bundled sample: the real population, not a fixture."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections import Counter
from pathlib import Path

import pytest

from mtls_audit.cli import main


@pytest.fixture(scope="module")
def sample_out(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("sample")
    with pytest.raises(SystemExit):
        main(["scan", "--sample", "--format", "json,junit,markdown", "--out", str(out)])
    return out


def test_no_junit_classname_and_name_pair_repeats(sample_out: Path) -> None:
    """CI reporters merge test cases with the same (classname, name)."""
    root = ET.parse(sample_out / "junit.xml").getroot()
    pairs = Counter((c.get("classname"), c.get("name")) for c in root.iter("testcase"))
    assert [pair for pair, n in pairs.items() if n > 1] == []
    names = {name for rule, name in pairs if rule == "MTLS-IN-01"}
    path = "validation-coverage: Scheduling/Book appointment"
    assert {f"{path} [product:clinical-partners]", f"{path} [no-product]"} <= names
