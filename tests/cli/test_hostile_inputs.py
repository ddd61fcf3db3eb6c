"""Inputs that used to end in an internal error: a lone surrogate escape, nesting near the
parser's limit, and a URL whose host holds brackets. Each is a usage error or a named result."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mtls_audit import snapshot
from tests.cli.test_cli import run_cli
from tests.rules.builder import SERVICE_ID, child
from tests.rules.builder import snapshot as make

ARM_SERVICE = {"id": SERVICE_ID, "type": "Microsoft.ApiManagement/service", "properties": {}}


def _arm(name_json: str, properties_json: str = "{}") -> str:
    head = json.dumps(ARM_SERVICE)[:-1]
    return f'[{head}, "name": {name_json}, "extra": {properties_json}}}]'


@pytest.mark.parametrize(
    ("text", "where", "words"),
    [
        (_arm('"apim-\\udc80"'), "/0/name", "a lone surrogate escape"),
        (_arm('"a"', "[" * 900 + "]" * 900), "/0/extra/0/0", "nested deeper than 128 levels"),
        (_arm('"a"', "[" * 50_000 + "]" * 50_000), "", "the JSON is nested too deeply"),
    ],
    ids=["surrogate", "deep", "deeper-than-the-parser"],
)
def test_hostile_json_is_a_usage_error(
    text: str, where: str, words: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    exported = tmp_path / "export.json"
    exported.write_text(text, encoding="utf-8")
    code, _, err = run_cli(["scan", "--from-file", str(exported), "--out", str(tmp_path)], capsys)
    assert code == 2
    assert f"{exported}: {where}" in err
    assert words in err


@pytest.mark.parametrize(
    ("value", "where", "words"),
    [
        ('"apim-\\udc80"', "/resources/0/name", "a lone surrogate escape"),
        ("[" * 900 + "]" * 900, "/resources/0/name/0/0", "nested deeper than 128 levels"),
    ],
    ids=["surrogate", "deep"],
)
def test_a_hostile_snapshot_is_a_usage_error(
    value: str, where: str, words: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    snap = tmp_path / "snapshot.json"
    snap.write_text(json.dumps(make()).replace('"apim-test"', value, 1), encoding="utf-8")
    code, _, err = run_cli(["assess", str(snap), "--out", str(tmp_path / "o")], capsys)
    assert code == 2
    assert f"{snap}: {where}" in err
    assert words in err


def test_a_url_with_brackets_in_its_host_is_indeterminate_not_a_crash(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    policy = (
        '<policies><inbound><base /><set-backend-service base-url="https://host[x]/" />'
        "</inbound><backend><base /></backend><outbound><base /></outbound>"
        "<on-error><base /></on-error></policies>"
    )
    vault_ref = {"secretIdentifier": "https://kv[z].vault.azure.net/secrets/c"}
    resources = [
        child("apis/a", {"path": "a", "serviceUrl": "https://api[x]/"}),
        child("apis/a/operations/o", {"method": "GET", "urlTemplate": "/"}),
        child("apis/a/policies/policy", {"format": "rawxml", "value": policy}),
        child("backends/b", {"url": "https://b[y]/", "protocol": "http"}),
        child("certificates/c", {"keyVault": vault_ref}),
        child("namedValues/n", {"displayName": "n", "secret": True, "keyVault": vault_ref}),
    ]
    snap = tmp_path / "snapshot.json"
    snapshot.write(make(None, resources), snap)
    out = tmp_path / "out"
    code, _, err = run_cli(["assess", str(snap), "--out", str(out), "--format", "json"], capsys)
    assert "internal error" not in err
    assert code == 1
    evidence = json.loads((out / "evidence.json").read_text(encoding="utf-8"))
    assert evidence["errors"] == []
    urls = [r for r in evidence["results"] if r["rule_id"] == "MTLS-OUT-01"]
    assert {r["status"] for r in urls} == {"indeterminate"}
    assert any("'https://host[x]/' is not a valid URL" in r["message"] for r in urls)
