"""The offline source: exported ARM resources and deployment templates → flat ARM resources.

Accepted inputs (several files combine; a later resource with the same id replaces an earlier
one, noted as a ``duplicate`` gap):

- ``arm-resources``: a JSON array of resources in ARM wire format, ``{"value": [...]}`` (ARM
  list), ``{"data": [...]}`` (Resource Graph) or one resource object; kept as they are.
- ``arm-template``: a deployment template, compiled Bicep included (see ``arm_template``).
- ``az-powershell``: ``Get-AzResource -ExpandProperties | ConvertTo-Json`` (see ``arm_export``).
- ``arm-parameters``: ARM parameters files, only through ``parameter_files``.

A file that cannot be used at all raises :class:`~mtls_audit.errors.TemplateError`; problems
inside a usable file become gaps. ``origins`` and gap lines come from ``json_locate``.
"""

from __future__ import annotations

import codecs
import hashlib
import json
import re
import stat
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mtls_audit.errors import TemplateError
from mtls_audit.sources.arm_export import Found, flatten, gap, is_powershell, items_of
from mtls_audit.sources.arm_scope import Env, given_values
from mtls_audit.sources.arm_template import expand_template
from mtls_audit.sources.json_locate import line_numbers

MAX_BYTES = 64 * 1024 * 1024
OFFLINE_SUBSCRIPTION = "00000000-0000-0000-0000-000000000000"
OFFLINE_RESOURCE_GROUP = "offline"
ACCEPTED = (
    'accepted: a JSON array of ARM resources, {"value": [...]} (ARM list or Resource Graph), '
    "an ARM deployment template ($schema …/deploymentTemplate.json, compiled Bicep included), "
    "or an Azure PowerShell export (Get-AzResource -ExpandProperties | ConvertTo-Json)"
)


@dataclass(frozen=True)
class OfflineInput:
    """What the offline files hold, ready to become a snapshot."""

    resources: list[dict[str, Any]]
    gaps: list[dict[str, Any]]
    inputs: list[dict[str, Any]]
    origins: dict[str, dict[str, Any]]


@dataclass(frozen=True)
class _Document:
    path: str
    text: str
    data: Any
    sha256: str

    def input(self, kind: str) -> dict[str, Any]:
        return {"kind": "file", "path": self.path, "sha256": self.sha256, "format": kind}


def load_files(
    paths: Sequence[Path],
    *,
    parameter_files: Sequence[Path] = (),
    subscription: str = OFFLINE_SUBSCRIPTION,
    resource_group: str = OFFLINE_RESOURCE_GROUP,
) -> OfflineInput:
    """Read offline files into flat ARM resources, gaps, input records and origins."""
    inputs: list[dict[str, Any]] = []
    parameters: dict[str, Any] = {}
    for path in parameter_files:
        document = _read(Path(path))
        if not _is_parameters(document.data):
            message = 'not an ARM parameters file ({"parameters": {"name": {"value": …}}})'
            raise TemplateError(message, source=document.path)
        parameters.update(given_values(document.data["parameters"]))
        inputs.append(document.input("arm-parameters"))
    merged = _Merged()
    env = Env(subscription, resource_group)
    for path in paths:
        document = _read(Path(path))
        kind = _detect(document)
        try:
            if kind == "arm-template":
                expansion = expand_template(
                    document.data, file=document.path, env=env, parameters=parameters
                )
                found, gaps = expansion.resources, expansion.gaps
            else:
                found, gaps = flatten(document.data, document.path)
        except RecursionError:
            message = "the JSON is nested too deeply to expand"
            raise TemplateError(message, source=document.path) from None
        inputs.append(document.input(kind))
        merged.add(document, found, gaps)
    return OfflineInput(list(merged.resources.values()), merged.gaps, inputs, merged.origins)


class _Merged:
    """Resources of all files by lower-case id (a later declaration wins), origins and gaps."""

    def __init__(self) -> None:
        self.resources: dict[str, dict[str, Any]] = {}
        self.origins: dict[str, dict[str, Any]] = {}
        self.gaps: list[dict[str, Any]] = []
        self.lines: dict[str, int] = {}

    def add(self, document: _Document, found: Found, gaps: list[dict[str, Any]]) -> None:
        pointers = [pointer for _, pointer in found] + [g["pointer"] for g in gaps]
        self.lines = line_numbers(document.text, pointers)
        for each in gaps:
            self.gap(each)
        for resource, pointer in found:
            key, where = resource["id"].lower(), {"file": document.path, "pointer": pointer}
            if key in self.origins:
                first = self.origins[key]
                message = (
                    f"declared again (first in {first['file']} at {first['pointer'] or '/'}); "
                    "the later declaration is used"
                )
                self.gap(gap("duplicate", resource["id"], "resource", message, **where))
            self.resources[key] = resource
            self.origins[key] = where | self.line(pointer)
            link = _link_format(resource)
            if link:
                message = (
                    f"the policy is a link (format {link!r}): its text is not in the file "
                    "and is not fetched"
                )
                self.gap(gap("unsupported", resource["id"], "policies", message, **where))

    def line(self, pointer: str) -> dict[str, int]:
        return {"line": self.lines[pointer]} if pointer in self.lines else {}

    def gap(self, found: dict[str, Any]) -> None:
        self.gaps.append(found | self.line(found["pointer"]))


def _link_format(resource: dict[str, Any]) -> str | None:
    """The ``*-link`` format of a policy resource, whose text is elsewhere (a URL)."""
    if not str(resource.get("type", "")).lower().endswith(("/policies", "/policyfragments")):
        return None
    properties = resource.get("properties")
    if not isinstance(properties, dict):
        return None
    value = next((v for k, v in properties.items() if k.lower() == "format"), None)
    return value if isinstance(value, str) and value.lower().endswith("-link") else None


def _read(path: Path) -> _Document:
    name = str(path)
    suffix = path.suffix.lower()
    if suffix == ".bicep":
        message = "a Bicep source file: compile it with `az bicep build --file <file>` first"
        raise TemplateError(message, source=name)
    if suffix == ".bicepparam":
        message = "a Bicep parameters file: build it with `az bicep build-params --file <file>`"
        raise TemplateError(message, source=name)
    try:
        info = path.stat()
        if stat.S_ISDIR(info.st_mode):
            raise TemplateError("a directory, not a file: give the JSON files in it", source=name)
        if info.st_size > MAX_BYTES:
            raise TemplateError(_too_big(info.st_size), source=name)
        raw = path.read_bytes()
    except FileNotFoundError:
        raise TemplateError("file not found", source=name) from None
    except OSError as exc:
        raise TemplateError(f"cannot read the file: {exc.strerror or exc}", source=name) from None
    text = _decode(raw, name)
    return _Document(name, text, _parse(text, name), hashlib.sha256(raw).hexdigest())


def _too_big(size: int) -> str:
    return f"the file is {size / 2**20:.1f} MiB, over the {MAX_BYTES // 2**20} MiB limit"


def _decode(raw: bytes, name: str) -> str:
    if len(raw) > MAX_BYTES:
        raise TemplateError(_too_big(len(raw)), source=name)
    if raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        message = "UTF-16 text: save it as UTF-8 (PowerShell: Out-File -Encoding utf8)"
        raise TemplateError(message, source=name)
    try:
        text = raw.decode("utf-8").removeprefix("\ufeff")
    except UnicodeDecodeError as exc:
        message = f"not UTF-8 text (invalid byte at offset {exc.start})"
        raise TemplateError(message, source=name) from None
    if not text.strip():
        raise TemplateError("the file is empty", source=name)
    return text


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _parse(text: str, name: str) -> Any:
    try:
        data = json.loads(text, parse_constant=_reject_constant)
    except json.JSONDecodeError as exc:
        hint = " (JSON has no comments)" if text.startswith(("//", "/*"), exc.pos) else ""
        where = f"line {exc.lineno} column {exc.colno}"
        raise TemplateError(f"not valid JSON: {exc.msg}{hint}", source=name, where=where) from None
    except ValueError as exc:
        raise TemplateError(f"not valid JSON: {exc}", source=name) from None
    except RecursionError:
        raise TemplateError("the JSON is nested too deeply", source=name) from None
    if _SURROGATE_ESCAPE.search(text):
        pointer = _lone_surrogate(data, "")
        if pointer is not None:
            message = "not Unicode text: a string holds half of a surrogate pair (\\uD800-\\uDFFF)"
            raise TemplateError(message, source=name, where=pointer or "/")
    return data


_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F][0-9a-fA-F]{2}")
_SURROGATE = re.compile("[\ud800-\udfff]")


def _lone_surrogate(data: Any, path: str) -> str | None:
    """The JSON pointer of the first string (or key) holding a lone surrogate, if any: a pair
    escaped as two halves decodes to one character, so any surrogate left is alone."""
    stack = [(data, path)]
    while stack:
        node, at = stack.pop()
        if isinstance(node, str):
            if _SURROGATE.search(node):
                return at
        elif isinstance(node, dict):
            for key, value in node.items():
                if _SURROGATE.search(key):
                    return at
                stack.append((value, f"{at}/{key}"))
        elif isinstance(node, list):
            stack.extend((value, f"{at}/{index}") for index, value in enumerate(node))
    return None


def _is_parameters(data: Any) -> bool:
    """An ARM parameters file: ``{"parameters": {"x": {"value": …}}}``, no resources."""
    if not isinstance(data, dict) or "resources" in data:
        return False
    specs = data.get("parameters")
    if not isinstance(specs, dict):
        return False
    if "deploymentparameters" in str(data.get("$schema", "")).lower():
        return True
    return bool(specs) and all(
        isinstance(spec, dict) and ("value" in spec or "reference" in spec)
        for spec in specs.values()
    )


def _detect(document: _Document) -> str:
    data = document.data
    if isinstance(data, dict):
        schema = str(data.get("$schema", "")).lower()
        if "deploymenttemplate" in schema or ("resources" in data and "contentVersion" in data):
            return "arm-template"
        if _is_parameters(data):
            message = "an ARM parameters file: pass it with --parameters, beside its template"
            raise TemplateError(message, source=document.path)
        resource = is_powershell(data) or str(data.get("id", "")).startswith("/")
        listed = any(isinstance(data.get(key), list) for key in ("value", "data"))
        if not (resource or listed):
            raise TemplateError(_unknown(data), source=document.path)
    elif not isinstance(data, list):
        raise TemplateError(_unknown(data), source=document.path)
    items = [item for item, _ in items_of(data)]
    if items and not any(isinstance(item, dict) for item in items):
        raise TemplateError(_unknown(data), source=document.path)
    return "az-powershell" if items and is_powershell(items[0]) else "arm-resources"


def _unknown(data: Any) -> str:
    if isinstance(data, dict):
        keys = ", ".join(list(data)[:6])
        body = "; a resource body without id and type?" if "properties" in data else ""
        shape = f"an object with the keys {keys}{body}" if keys else "an empty object"
    elif isinstance(data, list):
        shape = "an array without resource objects"
    else:
        shape = f"a single JSON {type(data).__name__}"
    return f"not a shape mtls-audit reads ({shape}); {ACCEPTED}"
