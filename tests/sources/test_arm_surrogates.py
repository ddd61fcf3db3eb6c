"""An exported file whose JSON escapes half of a surrogate pair is refused, naming where."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mtls_audit.errors import TemplateError
from mtls_audit.sources.arm.files import load_files

_SERVICE = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.ApiManagement/service/apim"


def _export(tmp_path: Path, policy: str) -> Path:
    resources = [
        {"id": _SERVICE, "type": "Microsoft.ApiManagement/service", "name": "apim"},
        {
            "id": f"{_SERVICE}/policies/policy",
            "type": "Microsoft.ApiManagement/service/policies",
            "name": "apim/policy",
            "properties": {"format": "rawxml", "value": policy},
        },
    ]
    path = tmp_path / "export.json"
    path.write_text(json.dumps(resources), encoding="utf-8")  # escapes every non-ASCII character
    return path


def test_a_lone_surrogate_escape_is_refused_with_its_place(tmp_path: Path) -> None:
    path = _export(tmp_path, '<policies><inbound><base x="\udc80" /></inbound></policies>')
    assert "\\udc80" in path.read_text("utf-8")
    with pytest.raises(TemplateError, match="lone surrogate escape") as caught:
        load_files([path])
    assert caught.value.where == "/1/properties/value"


def test_a_whole_surrogate_pair_is_text(tmp_path: Path) -> None:
    path = _export(tmp_path, "<policies><inbound><base /><!-- \U0001f512 --></inbound></policies>")
    assert "\\ud83d\\udd12" in path.read_text("utf-8")
    loaded = load_files([path])
    assert any("\U0001f512" in json.dumps(r, ensure_ascii=False) for r in loaded.resources)
