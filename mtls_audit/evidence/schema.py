"""The evidence document's JSON schema, and the problems of a document against it."""

from __future__ import annotations

import json
from collections.abc import Mapping
from functools import cache
from typing import Any

from mtls_audit.resources import package_data


@cache
def _validator() -> Any:
    import jsonschema

    schema = json.loads(package_data("schemas", "evidence-v1.json").read_text("utf-8"))
    return jsonschema.Draft202012Validator(schema)


def validate_evidence(document: Mapping[str, Any]) -> list[str]:
    """Problems of an evidence document against its schema (empty when valid)."""
    return [
        f"/{'/'.join(str(p) for p in e.absolute_path)}: {e.message}"
        for e in _validator().iter_errors(document)
    ]
