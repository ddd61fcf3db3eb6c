"""The offline source: exported ARM resources and deployment templates → flat ARM resources.

Accepted inputs (several files combine; a later resource with the same id replaces an earlier
one, noted as a ``duplicate`` gap):

- ``arm-resources``: a JSON array of resources in ARM wire format, ``{"value": [...]}`` (ARM
  list), ``{"data": [...]}`` (Resource Graph) or one resource object; kept as they are.
- ``arm-template``: a deployment template, compiled Bicep included (see ``arm_template``).
- ``az-powershell``: ``Get-AzResource -ExpandProperties | ConvertTo-Json`` (see ``arm_export``).
- ``arm-parameters``: ARM parameters files, only through ``parameter_files``.
- ``terraform-plan`` / ``terraform-state``: ``terraform show -json`` output (see ``terraform``).
- ``apiops``: an APIOps artifacts folder, with the publisher's ``configuration.*.yaml`` given
  through ``parameter_files`` (see ``apiops``); read after the files, so that its APIs join the
  service another file declares.

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
from urllib.parse import unquote, urlsplit

from mtls_audit.document_limits import document_problem, may_hold_surrogates
from mtls_audit.errors import TemplateError
from mtls_audit.sources import apiops
from mtls_audit.sources.arm.export import Found, flatten, gap, is_powershell, listing
from mtls_audit.sources.arm.json_locate import line_numbers
from mtls_audit.sources.arm.scope import Env, given_values
from mtls_audit.sources.arm.template import MAX_NESTING, Link, expand_template
from mtls_audit.sources.terraform.plan import TERRAFORM_HINT, is_terraform, kind_of

MAX_BYTES = 64 * 1024 * 1024
OFFLINE_SUBSCRIPTION = "00000000-0000-0000-0000-000000000000"
OFFLINE_RESOURCE_GROUP = "offline"
ACCEPTED = (
    'accepted: a JSON array of ARM resources, {"value": [...]} (ARM list or Resource Graph), '
    "an ARM deployment template ($schema …/deploymentTemplate.json, compiled Bicep included), "
    "an Azure PowerShell export (Get-AzResource -ExpandProperties | ConvertTo-Json), "
    "`terraform show -json` output (plan or state), or an APIOps artifacts folder"
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
    compiled_with: str | None = None

    def input(self, kind: str) -> dict[str, Any]:
        """The input record; a Bicep file's names the command that compiled it (the digest is
        of the Bicep source)."""
        record = {"kind": "file", "path": self.path, "sha256": self.sha256, "format": kind}
        return record | ({"compiled_with": self.compiled_with} if self.compiled_with else {})


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
    configurations = [Path(p) for p in parameter_files if apiops.is_configuration(Path(p))]
    for path in parameter_files:
        if Path(path) in configurations:
            continue
        document = _read(Path(path))
        if not _is_parameters(document.data):
            message = 'not an ARM parameters file ({"parameters": {"name": {"value": …}}})'
            raise TemplateError(message, source=document.path)
        parameters.update(given_values(document.data["parameters"]))
        inputs.append(document.input("arm-parameters"))
    merged = _Merged()
    env = Env(subscription, resource_group)
    folders = [Path(p) for p in paths if Path(p).is_dir()]
    if configurations and not folders:
        message = "an APIOps configuration, but no APIOps artifacts folder is given (--from-file)"
        raise TemplateError(message, source=str(configurations[0]))
    for path in paths:
        if Path(path) in folders:
            continue
        document = _read(Path(path))
        kind = _detect(document)
        inputs.append(document.input(kind))
        if kind == "arm-template":
            _Templates(merged, inputs).expand(document, parameters, env, 0, Path(path))
            continue
        notes: dict[str, dict[str, Any]] = {}
        try:
            if kind.startswith("terraform"):
                from mtls_audit.sources.terraform.azurerm import read_terraform

                found, gaps, notes = read_terraform(document.data, document.path, env)
            else:
                found, gaps = flatten(document.data, document.path)
        except RecursionError:
            message = "the JSON is nested too deeply to expand"
            raise TemplateError(message, source=document.path) from None
        merged.add(document, found, gaps, notes)
    for folder in folders:
        artifacts = apiops.read_folder(folder, configurations, env, merged.resources.values())
        inputs += artifacts.inputs
        merged.lines = {}
        for each in artifacts.gaps:
            merged.gap(each)
        for resource, where in artifacts.found:
            merged.take(resource, where)
    return OfflineInput(list(merged.resources.values()), merged.gaps, inputs, merged.origins)


class _Templates:
    """Expands a template and follows its linked templates (files beside it)."""

    def __init__(self, merged: _Merged, inputs: list[dict[str, Any]]) -> None:
        self.merged = merged
        self.inputs = inputs
        self.seen: set[Path] = set()

    def expand(
        self, document: _Document, parameters: dict[str, Any], env: Env, depth: int, path: Path
    ) -> None:
        self.seen.add(path.resolve())
        try:
            expansion = expand_template(
                document.data, file=document.path, env=env, parameters=parameters, depth=depth
            )
        except RecursionError:
            message = "the JSON is nested too deeply to expand"
            raise TemplateError(message, source=document.path) from None
        self.merged.add(document, expansion.resources, expansion.gaps)
        for link in expansion.links:
            self.follow(document, path, link)

    def follow(self, master: _Document, path: Path, link: Link) -> None:
        target = _beside(path, link)
        problem = ""
        if target is None:
            problem = "does not name a file beside the template"
        elif target.resolve() in self.seen:
            problem = "links back to a template already being expanded"
        elif link.depth > MAX_NESTING:
            problem = f"is deeper than {MAX_NESTING} levels of linked templates"
        if target is None or problem:
            message = f"linked template {link.key} {link.written!r} {problem}: not followed"
            self.merged.gap_in(master, gap("unsupported", master.path, "linked-template",
                                           message, master.path, link.pointer))  # fmt: skip
            return
        document = _read(target)
        if _detect(document) != "arm-template":
            raise TemplateError(
                "the linked file is not a deployment template", source=document.path
            )
        self.inputs.append(document.input("arm-template"))
        self.expand(document, link.given, link.env, link.depth, target)


def _beside(master: Path, link: Link) -> Path | None:
    """The local file a link names: a ``relativePath``, or a relative or ``file:`` ``uri``,
    resolved against the directory of the template that declares it."""
    if link.target is None:
        return None
    parsed = urlsplit(link.target)
    if link.key == "uri" and parsed.scheme not in ("", "file"):
        return None
    relative = unquote(parsed.path) if parsed.scheme == "file" else link.target
    candidate = master.parent / relative
    return candidate if candidate.is_file() else None


class _Merged:
    """Resources of all files by lower-case id (a later declaration wins), origins and gaps."""

    def __init__(self) -> None:
        self.resources: dict[str, dict[str, Any]] = {}
        self.origins: dict[str, dict[str, Any]] = {}
        self.gaps: list[dict[str, Any]] = []
        self.lines: dict[str, int] = {}

    def add(
        self,
        document: _Document,
        found: Found,
        gaps: list[dict[str, Any]],
        notes: dict[str, dict[str, Any]] | None = None,
    ) -> None:
        """Take a file's resources; ``notes`` adds origin keys by pointer (a Terraform address)."""
        pointers = [pointer for _, pointer in found] + [g["pointer"] for g in gaps]
        self.lines = line_numbers(document.text, pointers)
        for each in gaps:
            self.gap(each)
        for resource, pointer in found:
            where: dict[str, Any] = {"file": document.path, "pointer": pointer}
            if pointer in self.lines:
                where["line"] = self.lines[pointer]
            if notes and pointer in notes:
                where |= notes[pointer]
            self.take(resource, where)

    def take(self, resource: dict[str, Any], where: dict[str, Any]) -> None:
        """Take one resource read at ``where`` (file, pointer, and line when known)."""
        key = resource["id"].lower()
        if key in self.origins:
            if self.resources[key] == resource:
                return  # the same declaration repeated (old portal exports do): one
            message = (
                f"declared twice with different content: first in {_place(self.origins[key])}, "
                f"again in {_place(where)}; the later declaration is used"
            )
            self.gap(gap("duplicate", resource["id"], "resource", message, **_file_place(where)))
        self.resources[key] = resource
        self.origins[key] = where
        link = _link_format(resource)
        if link:
            message = (
                f"the policy is a link (format {link!r}): its text is not in the file "
                "and is not fetched"
            )
            self.gap(gap("unsupported", resource["id"], "policies", message, **_file_place(where)))

    def line(self, pointer: str) -> dict[str, int]:
        return {"line": self.lines[pointer]} if pointer in self.lines else {}

    def gap(self, found: dict[str, Any]) -> None:
        self.gaps.append(found | self.line(found["pointer"]))

    def gap_in(self, document: _Document, found: dict[str, Any]) -> None:
        """A gap about a place in ``document`` after its resources were added."""
        self.lines = line_numbers(document.text, [found["pointer"]])
        self.gap(found)


def _file_place(where: dict[str, Any]) -> dict[str, Any]:
    return {"file": where["file"], "pointer": where["pointer"]}


def _place(origin: dict[str, Any]) -> str:
    line = f" (line {origin['line']})" if "line" in origin else ""
    return f"{origin['file']} at {origin['pointer'] or '/'}{line}"


def _link_format(resource: dict[str, Any]) -> str | None:
    """The ``*-link`` format of a policy resource, whose text is elsewhere (a URL)."""
    if not str(resource.get("type", "")).lower().endswith(("/policies", "/policyfragments")):
        return None
    properties = resource.get("properties")
    if not isinstance(properties, dict):
        return None
    value = next(
        (v for k, v in properties.items() if k.lower() in ("format", "contentformat")), None
    )
    return value if isinstance(value, str) and value.lower().endswith("-link") else None


def _read(path: Path) -> _Document:
    name = str(path)
    suffix = path.suffix.lower()
    if suffix in (".tf", ".tfvars", ".tfplan"):
        raise TemplateError(TERRAFORM_HINT, source=name)
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
    compiled_with = None
    if suffix == ".bicep":
        from mtls_audit.sources.arm.bicep import compile_bicep

        compiled, compiled_with = compile_bicep(path)
        text = _decode(compiled.encode("utf-8"), name)
    else:
        text = _decode(raw, name)
    try:
        data = _parse(text, name)
    except TemplateError:
        plain = without_comments(text)
        if plain == text:
            raise
        text, data = plain, _parse(plain, name)
    return _Document(name, text, data, hashlib.sha256(raw).hexdigest(), compiled_with)


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


_COMMENT_OR_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"|//[^\n]*|/\*.*?\*/', re.DOTALL)


def without_comments(text: str) -> str:
    """The text with ``//`` and ``/* */`` comments (which ARM accepts in templates) blanked
    out, newlines kept, so offsets and line numbers stay those of the file."""

    def blank(match: re.Match[str]) -> str:
        found = match.group()
        if found.startswith('"'):
            return found
        return re.sub(r"[^\n]", " ", found)

    return _COMMENT_OR_STRING.sub(blank, text)


def _parse(text: str, name: str) -> Any:
    try:
        document = json.loads(text, parse_constant=_reject_constant)
    except json.JSONDecodeError as exc:
        where = f"line {exc.lineno} column {exc.colno}"
        raise TemplateError(f"not valid JSON: {exc.msg}", source=name, where=where) from None
    except ValueError as exc:
        raise TemplateError(f"not valid JSON: {exc}", source=name) from None
    except RecursionError:
        raise TemplateError("the JSON is nested too deeply", source=name) from None
    problem = document_problem(document, surrogates=may_hold_surrogates(text))
    if problem:
        raise TemplateError(problem[0], source=name, where=problem[1])
    return document


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
        if is_terraform(data):
            return kind_of(data)
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
    items = listing(data)[0]
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
