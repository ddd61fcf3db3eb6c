"""load_files: accepted shapes, PowerShell exports, merging, origins, and refused files."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from mtls_audit.errors import InputError, TemplateError
from mtls_audit.sources.arm.files import MAX_BYTES, load_files
from tests.conftest import CORPORA, needs_shared

from .arm_support import APIM, PARAMS_SCHEMA, parameters_file, template, write_json

PSRULE = CORPORA / "peer-tests/psrule/tests/PSRule.Rules.Azure.Tests/Resources.APIM.json"


def wire(name: str, kind: str = "service", **extra: Any) -> dict[str, Any]:
    path = name if kind == "service" else f"apim1/{kind}/{name}"
    rtype = "Microsoft.ApiManagement/service" + ("" if kind == "service" else f"/{kind}")
    return {"id": f"{APIM}/{path}", "type": rtype, "name": name, **extra}


@pytest.mark.parametrize("shape", ["array", "value", "data", "single"])
def test_wire_format_shapes_are_kept_as_they_are(tmp_path: Path, shape: str) -> None:
    resources = [wire("apim1", properties={"X": 1}, systemData={"a": 1}),
                 wire("api1", "apis", properties={})]  # fmt: skip
    document: Any = {
        "array": resources,
        "value": {"value": resources, "nextLink": None},
        "data": {"count": 2, "data": resources},
        "single": resources[0],
    }[shape]
    path = write_json(tmp_path, "r.json", document)
    result = load_files([path])
    expected = resources[:1] if shape == "single" else resources
    assert result.resources == expected
    assert result.inputs == [{"kind": "file", "path": str(path), "format": "arm-resources",
                              "sha256": hashlib.sha256(path.read_bytes()).hexdigest()}]  # fmt: skip
    pointer = {"array": "/1", "value": "/value/1", "data": "/data/1", "single": ""}[shape]
    if shape != "single":
        assert result.origins[f"{APIM}/apim1/apis/api1".lower()]["pointer"] == pointer


def test_utf8_byte_order_mark_is_accepted(tmp_path: Path) -> None:
    path = write_bytes(tmp_path, "bom.json", b"\xef\xbb\xbf" + json.dumps([wire("a")]).encode())
    assert [r["name"] for r in load_files([path]).resources] == ["a"]


def test_wire_resource_without_type_gets_it_from_its_id(tmp_path: Path) -> None:
    bare = {"id": f"{APIM}/apim1/apis/a/policies/policy", "properties": {"value": "<policies/>"}}
    (resource,) = load_files([write_json(tmp_path, "r.json", [bare])]).resources
    assert (resource["type"], resource["name"]) == (
        "Microsoft.ApiManagement/service/apis/policies", "policy")  # fmt: skip


def test_wire_items_without_an_id_are_gaps(tmp_path: Path) -> None:
    path = write_json(tmp_path, "r.json", [{"type": "x", "name": "y"}, 7, wire("apim1")])
    result = load_files([path])
    assert [r["name"] for r in result.resources] == ["apim1"]
    assert [(g["pointer"], g["kind"]) for g in result.gaps] == [
        ("/0", "parse-error"),
        ("/1", "parse-error"),
    ]
    assert all(g["line"] >= 1 for g in result.gaps)


def test_policy_links_are_gaps(tmp_path: Path) -> None:
    linked = wire(
        "policy", "policies", properties={"format": "rawxml-link", "value": "https://x/p.xml"}
    )
    result = load_files([write_json(tmp_path, "r.json", [linked])])
    (gap,) = result.gaps
    assert (gap["kind"], gap["what"], gap["subject"]) == ("unsupported", "policies", linked["id"])
    assert "https://" not in gap["message"]


def test_duplicates_later_file_wins(tmp_path: Path) -> None:
    first = write_json(tmp_path, "a.json", [wire("apim1", properties={"v": 1}), wire("other")])
    second = write_json(tmp_path, "b.json", [wire("APIM1", properties={"v": 2})])
    result = load_files([first, second])
    assert [r.get("properties") for r in result.resources] == [{"v": 2}, None]
    (gap,) = result.gaps
    assert (gap["kind"], gap["file"], gap["pointer"]) == ("duplicate", str(second), "/0")
    assert str(first) in gap["message"]
    assert result.origins[f"{APIM}/apim1".lower()]["file"] == str(second)


def test_files_combine_templates_and_exports(tmp_path: Path) -> None:
    exported = write_json(tmp_path, "export.json", [wire("exported")])
    declared = write_json(tmp_path, "t.json", template([{
        "type": "Microsoft.ApiManagement/service", "name": "declared"}]))  # fmt: skip
    result = load_files([exported, declared])
    assert [r["name"] for r in result.resources] == ["exported", "declared"]
    assert [i["format"] for i in result.inputs] == ["arm-resources", "arm-template"]


def test_powershell_export_is_normalised(tmp_path: Path) -> None:
    service_type = "Microsoft.ApiManagement/service"
    item = {
        "ResourceId": f"{APIM}/ps1", "Id": f"{APIM}/ps1 ", "Name": "ps1", "ResourceName": "ps1",
        "ResourceType": service_type, "Type": service_type,
        "Location": "westeurope", "Kind": None, "ResourceGroupName": "rg", "SubscriptionId": "s",
        "Sku": {"Name": "Premium", "Tier": None, "Capacity": 1},
        "Identity": {"PrincipalId": "p", "Type": "SystemAssigned, UserAssigned",
                     "UserAssignedIdentities": {"/x/id1": {"PrincipalId": "p1", "ClientId": "c1"}}},
        "Properties": {"HostnameConfigurations": [{"NegotiateClientCertificate": True}]},
        "resources": [{"ResourceId": f"{APIM}/ps1/apis/a", "Name": "a",
                       "ResourceType": "Microsoft.ApiManagement/service/apis", "Properties": {}}],
    }  # fmt: skip
    result = load_files([write_json(tmp_path, "ps.json", [item])])
    service, api = result.resources
    assert service == {
        "id": f"{APIM}/ps1",
        "type": "Microsoft.ApiManagement/service",
        "name": "ps1",
        "identity": {"principalId": "p", "type": "SystemAssigned, UserAssigned",
                     "userAssignedIdentities": {"/x/id1": {"principalId": "p1", "clientId": "c1"}}},
        "location": "westeurope",
        "properties": {"HostnameConfigurations": [{"NegotiateClientCertificate": True}]},
        "sku": {"name": "Premium", "capacity": 1},
    }  # fmt: skip
    assert api == {"id": f"{APIM}/ps1/apis/a", "type": "Microsoft.ApiManagement/service/apis",
                   "name": "a", "properties": {}}  # fmt: skip
    assert result.inputs[0]["format"] == "az-powershell"
    assert result.origins[api["id"].lower()]["pointer"] == "/0/resources/0"


@needs_shared(PSRULE)
def test_psrule_powershell_fixture_loads_as_flat_resources() -> None:
    result = load_files([PSRULE])
    services = [r for r in result.resources if r["type"] == "Microsoft.ApiManagement/service"]
    assert len(services) == 16
    assert all(set(r) >= {"id", "type", "name"} for r in result.resources)
    assert not any("Properties" in r or "resources" in r for r in result.resources)
    ids = {r["id"] for r in result.resources}
    base = "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-test/providers/"
    svc = base + "Microsoft.ApiManagement/service/"
    assert {
        svc + "apim-A/apis/api-A",
        svc + "apim-A/backends/endpoint-A",
        svc + "apim-A/namedValues/namedvalue-A",
        svc + "apim-C/policies/policy-A",
        svc + "apim-P/apis/api-A/policies/api-policy-A",
        svc + "apim-O/namedValues/namedvalue-B",  # its Id has a trailing space; ResourceId is used
    } <= ids
    by_id = {r["id"]: r for r in result.resources}
    assert by_id[svc + "apim-A"]["sku"] == {"name": "Developer", "capacity": 1}
    assert by_id[svc + "apim-A"]["identity"]["type"] == "SystemAssigned"
    # the fixture nests apis under apim-D whose ids name apim-A: they stay apim-D's, noted
    assert svc + "apim-D/apis/api-B" in ids
    assert [g["subject"] for g in result.gaps] == [
        svc + "apim-D/apis/api-A",
        svc + "apim-D/apis/api-B",
    ]
    assert {g["kind"] for g in result.gaps} == {"inconsistent"}
    assert result.origins[(svc + "apim-A").lower()] == {
        "file": str(PSRULE),
        "pointer": "/0",
        "line": 2,
    }


def write_bytes(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def test_corrupt_json_names_line_and_column(tmp_path: Path) -> None:
    path = write_bytes(tmp_path, "bad.json", b'[\n  {"id": "x",\n   "type" "y"}\n]')
    with pytest.raises(TemplateError) as caught:
        load_files([path])
    assert str(caught.value).startswith(f"{path}: line 3 column 11: not valid JSON")


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("empty.json", b"", "the file is empty"),
        ("blank.json", b"  \n\t ", "the file is empty"),
        ("main.bicep", b"resource x 'y' = {}", "neither `bicep` nor `az` is on PATH"),
        ("main.bicepparam", b"using 'main.bicep'", "az bicep build-params"),
        ("utf16.json", "[]".encode("utf-16"), "UTF-16"),
        ("latin1.json", b'["caf\xe9"]', "not UTF-8 text (invalid byte at offset 5)"),
        ("nan.json", b"[NaN]", "NaN is not JSON"),
        ("comment.json", b"// note\n[", "not valid JSON"),
        ("number.json", b"42", "a single JSON int"),
        ("strings.json", b'["a", "b"]', "an array without resource objects"),
        ("openapi.json", b'{"openapi": "3.0.1", "paths": {}}', "keys openapi, paths"),
        ("apiops.json", b'{"properties": {"displayName": "x"}}', "resource body without id"),
        ("empty-object.json", b"{}", "an empty object"),
        ("config.json", b'{"id": "not-an-arm-id", "name": "x"}', "keys id, name"),
        ("params.json", json.dumps({"$schema": PARAMS_SCHEMA, "parameters": {}}).encode(),
         "ARM parameters file: pass it with --parameters"),
    ],
)  # fmt: skip
def test_unusable_files_are_refused_with_a_clear_message(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str, content: bytes, message: str
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path / "no-tools"))
    path = write_bytes(tmp_path, name, content)
    with pytest.raises(TemplateError) as caught:
        load_files([path])
    assert str(caught.value).startswith(f"{path}: ")
    assert message in str(caught.value)
    if "shape" in str(caught.value):
        assert "accepted: a JSON array of ARM resources" in str(caught.value)


def test_missing_file_and_directory(tmp_path: Path) -> None:
    with pytest.raises(TemplateError, match="file not found"):
        load_files([tmp_path / "nope.json"])
    with pytest.raises(TemplateError, match="a directory, not a file"):
        load_files([tmp_path])


def test_oversize_file_names_the_limit(tmp_path: Path) -> None:
    path = tmp_path / "huge.json"
    with path.open("wb") as handle:  # sparse: no 64 MiB written to disk
        handle.truncate(MAX_BYTES + 1)
    with pytest.raises(TemplateError, match="over the 64 MiB limit"):
        load_files([path])


def test_a_parameters_file_must_be_one(tmp_path: Path) -> None:
    not_params = write_json(tmp_path, "t.json", template([]))
    with pytest.raises(TemplateError, match="not an ARM parameters file"):
        load_files([], parameter_files=[not_params])
    params = parameters_file(tmp_path, {"a": 1})
    assert load_files([], parameter_files=[params]).inputs[0]["format"] == "arm-parameters"


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=8)
    | st.sampled_from(["[concat(", "[parameters('p')]", "[copyIndex()]", "[[x]", "Microsoft.A/b"]),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(
        st.sampled_from(["id", "type", "name", "resources", "copy", "count", "name", "condition",
                         "properties", "template", "scope", "value", "input", "parameters", "x"]),
        children, max_size=5),
    max_leaves=30,
)  # fmt: skip


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(body=JSON, as_template=st.booleans())
# A declared "id" (null here) once replaced the id the expansion computes.
@example(body=[{"name": "0", "type": "Microsoft.A/b", "id": None}], as_template=True)
def test_any_json_loads_or_is_refused_never_crashes(
    tmp_path: Path, body: Any, as_template: bool
) -> None:
    document = template(body) if as_template else body
    path = write_json(tmp_path, "fuzz.json", document)
    try:
        result = load_files([path])
    except InputError as exc:
        message = str(exc)
    else:
        message = ""
    if message:
        assert message.startswith(str(path))
        return
    assert all(isinstance(r["id"], str) and r["type"] and "name" in r for r in result.resources)
    assert all(
        {"kind", "subject", "what", "message", "file", "pointer"} <= set(g) for g in result.gaps
    )
