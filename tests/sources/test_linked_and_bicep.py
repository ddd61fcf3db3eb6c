"""Linked templates beside the master are followed; Bicep files are compiled with the CLI."""

from __future__ import annotations

import os
import shutil
import stat
from pathlib import Path
from typing import Any

import pytest

from mtls_audit.errors import TemplateError
from mtls_audit.sources.arm.files import load_files

from . import compiled_bicep as bicep
from .arm_support import APIM, template, write_json

HOSTS = ["gw.example.org"]


def deployment(link: dict[str, Any], parameters: dict[str, Any] | None = None) -> dict[str, Any]:
    return {
        "type": "Microsoft.Resources/deployments",
        "apiVersion": "2022-09-01",
        "name": "linked",
        "properties": {
            "mode": "Incremental",
            "templateLink": link,
            "parameters": parameters or {},
        },
    }


def backend_template() -> dict[str, Any]:
    return template(
        [
            {
                "type": "Microsoft.ApiManagement/service/backends",
                "apiVersion": "2024-05-01",
                "name": "[format('{0}/labs', parameters('apimName'))]",
                "properties": {"url": "[parameters('url')]"},
            }
        ],
        parameters={"apimName": {"type": "string"}, "url": {"type": "string"}},
    )


@pytest.mark.parametrize(
    "link",
    [
        {"relativePath": "nested/backend.json"},
        {"uri": "nested/backend.json"},
        {"uri": "[concat('nested/', 'backend.json')]"},
    ],
)
def test_a_linked_template_beside_the_master_is_followed(
    tmp_path: Path, link: dict[str, Any]
) -> None:
    (tmp_path / "nested").mkdir()
    linked = write_json(tmp_path / "nested", "backend.json", backend_template())
    given = {"apimName": {"value": "apim1"}, "url": {"value": "[concat('https://', 'labs')]"}}
    master = write_json(tmp_path, "main.json", template([deployment(link, given)]))
    result = load_files([master])
    assert result.gaps == []
    [backend] = result.resources
    assert backend["id"] == f"{APIM}/apim1/backends/labs"
    assert backend["properties"] == {"url": "https://labs"}
    assert result.origins[backend["id"].lower()]["file"] == str(linked)
    assert [i["path"] for i in result.inputs] == [str(master), str(linked)]


@pytest.mark.parametrize(
    ("link", "named"),
    [
        ({"uri": "https://example.org/templates/backend.json"}, "https://example.org/templates"),
        ({"relativePath": "missing.json"}, "relativePath 'missing.json'"),
        (
            {"uri": "[uri(deployment().properties.templateLink.uri, 'backend.json')]"},
            "deployment() depends on the deployment",
        ),
    ],
)
def test_a_link_that_names_no_file_beside_the_master_is_a_gap(
    tmp_path: Path, link: dict[str, Any], named: str
) -> None:
    write_json(tmp_path, "backend.json", backend_template())
    master = write_json(tmp_path, "main.json", template([deployment(link)]))
    result = load_files([master])
    assert result.resources == []
    [gap] = result.gaps
    assert gap["what"] == "linked-template"
    assert gap["pointer"] == "/resources/0/properties/templateLink"
    assert named in gap["message"]
    assert gap["message"].endswith("not followed")
    assert gap["line"] > 1


def test_a_link_back_to_the_master_is_not_followed_again(tmp_path: Path) -> None:
    master = write_json(
        tmp_path, "main.json", template([deployment({"relativePath": "main.json"})])
    )
    [gap] = load_files([master]).gaps
    assert "links back to a template already being expanded" in gap["message"]


def fake_tool(directory: Path, name: str, script: str) -> None:
    directory.mkdir(exist_ok=True)
    path = directory / name
    path.write_text("#!/bin/sh\n" + script, encoding="utf-8")
    path.chmod(path.stat().st_mode | stat.S_IXUSR)


@pytest.fixture
def compiled_json(tmp_path: Path) -> Path:
    return write_json(tmp_path, "compiled.out", bicep.compiled())


@pytest.mark.skipif(os.name != "posix", reason="the fake compiler is a shell script")
@pytest.mark.parametrize(
    ("tool", "expected_args"),
    [("bicep", "build --stdout"), ("az", "bicep build --stdout --file")],
)
def test_a_bicep_file_is_compiled_with_the_cli_on_path(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    compiled_json: Path,
    tool: str,
    expected_args: str,
) -> None:
    tools = tmp_path / "bin"
    log = tmp_path / "args.log"
    cat = shutil.which("cat")
    assert cat is not None
    fake_tool(tools, tool, f'echo "$@" > "{log}"\n{cat} "{compiled_json}"\n')
    monkeypatch.setenv("PATH", str(tools))
    source = tmp_path / "main.bicep"
    source.write_text("param apimName string\n", encoding="utf-8")
    params = write_json(tmp_path, "main.parameters.json", bicep.parameters(HOSTS))
    result = load_files([source], parameter_files=[params])
    assert log.read_text().split() == [*expected_args.split(), str(source)]
    found = {r["id"].lower() for r in result.resources}
    assert f"{bicep.SERVICE_ID}/backends/labs".lower() in found
    [record] = [i for i in result.inputs if i["path"] == str(source)]
    assert record["format"] == "arm-template"
    assert record["compiled_with"] == f"{tool} {expected_args} {source}"
    assert {o["file"] for o in result.origins.values()} == {str(source)}


@pytest.mark.skipif(os.name != "posix", reason="the fake compiler is a shell script")
def test_a_failing_compilation_names_the_compiler_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    tools = tmp_path / "bin"
    message = 'main.bicep(3,5) : Error BCP018: Expected the "=" character at this location.'
    fake_tool(tools, "bicep", f"echo '{message}' >&2\nexit 1\n")
    monkeypatch.setenv("PATH", str(tools))
    source = tmp_path / "main.bicep"
    source.write_text("resource x\n", encoding="utf-8")
    with pytest.raises(TemplateError) as caught:
        load_files([source])
    assert str(caught.value) == f"{source}: `bicep build --stdout {source}` failed: {message}"


def test_without_a_compiler_the_bicep_file_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    source = tmp_path / "main.bicep"
    source.write_text("param x string\n", encoding="utf-8")
    with pytest.raises(TemplateError) as caught:
        load_files([source])
    assert str(caught.value).startswith(f"{source}: a Bicep source file, and neither `bicep`")
