"""Test-wide settings, and the one way tests reach material the project did not write.

Hypothesis draws fixed examples in CI, fresh ones elsewhere: in CI (the ``CI`` environment
variable set) every property test runs the same examples on every run, so a result never depends
on the draw; run the tests locally to explore new examples.

Public material read in place: the APIM corpora and the rule catalogue live in ``../shared``
beside the repository, not in it. A test that reads them is marked ``needs_shared(path)``: in a
plain clone it is skipped and the skip says what is missing; CI (``.ci/run``) sets
``MTLS_AUDIT_REQUIRE_SHARED=1``, which turns a missing ``../shared`` into a usage error, so the
corpus tests can never be skipped there unnoticed.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from hypothesis import settings

settings.register_profile("ci", derandomize=True)
if os.environ.get("CI"):
    settings.load_profile("ci")

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
CORPORA = SHARED / "corpora"
CATALOGUE = SHARED / "RULES.md"
REQUIRE_SHARED = "MTLS_AUDIT_REQUIRE_SHARED"

# The official OASIS SARIF 2.1.0 schema, vendored unchanged (tests/data/sarif/NOTICE.md).
SARIF_SCHEMA = Path(__file__).resolve().parent / "data" / "sarif" / "sarif-schema-2.1.0.json"


def needs_shared(path: Path) -> pytest.MarkDecorator:
    """Skip, saying why, when ``path`` (under ``../shared``) is not beside the repository."""
    relative = path.relative_to(SHARED).as_posix()
    return pytest.mark.skipif(
        not path.exists(),
        reason=f"reads ../shared/{relative} in place; it is not beside this checkout",
    )


def pytest_configure(config: pytest.Config) -> None:
    missing = [p for p in (CORPORA, CATALOGUE) if not p.exists()]
    if os.environ.get(REQUIRE_SHARED) == "1" and missing:
        raise pytest.UsageError(
            f"{REQUIRE_SHARED}=1 but {', '.join(map(str, missing))} is missing: "
            "the tests that read the shared corpora would be skipped"
        )


def sarif_validator() -> Any:
    """A validator for SARIF logs: the official schema (draft-04), formats checked."""
    schema = json.loads(SARIF_SCHEMA.read_text(encoding="utf-8"))
    return jsonschema.Draft4Validator(schema, format_checker=jsonschema.FormatChecker())
