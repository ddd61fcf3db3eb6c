"""The test evidence documents are valid evidence, so the report tests test real input."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import jsonschema
import pytest

from mtls_audit.resources import package_data

from .evidence_factory import empty_evidence, hostile_evidence, realistic_evidence, sparse_evidence


@pytest.mark.parametrize(
    "factory", [realistic_evidence, hostile_evidence, empty_evidence, sparse_evidence]
)
def test_factory_documents_match_the_evidence_schema(factory: Callable[[], Any]) -> None:
    schema = json.loads(package_data("schemas", "evidence-v1.json").read_text(encoding="utf-8"))
    errors = [e.message for e in jsonschema.Draft202012Validator(schema).iter_errors(factory())]
    assert errors == []
