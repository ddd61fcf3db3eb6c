"""An APIOps artifacts folder (the extractor's layout, what the publisher deploys) → ARM resources.

The layout (folder names compared without case or spaces, so ``named values`` and
``namedValues`` are one)::

    policy.xml                                   the global policy
    apis/<api>/apiInformation.json               {"properties": {…}} as ARM has them
    apis/<api>/policy.xml, operations/<op>/policy.xml
    products/<p>/productInformation.json, policy.xml, apis/<api>/…
    policyFragments/<f>/policyFragmentInformation.json + policy.xml
    namedValues/<nv>/namedValueInformation.json, backends/<b>/backendInformation.json,
    gateways/<g>/gatewayInformation.json, versionSets/, subscriptions/, tags/, loggers/ …

The service resource itself (SKU, hostnames, identity, TLS settings) is never in the folder: the
artifacts join the service another input declares (an ARM export of it), or, when no input
does, hang under a placeholder service named by ``apimServiceName`` of the configuration or by
the folder, with a gap saying the service is missing. The publisher's ``configuration.*.yaml``
overrides (``namedValues``, ``backends``, ``apis`` … by name, ``properties`` merged) are applied
in the order given. Operations are those an OpenAPI specification names (``operationId``, which
the extractor writes as APIM's operation name) and those with a folder (their own policy);
WSDL, WADL and GraphQL specifications are not read. Secret named values keep no value.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mtls_audit.errors import TemplateError
from mtls_audit.sources.arm.export import gap
from mtls_audit.sources.arm.scope import Env
from mtls_audit.sources.terraform.plan import TERRAFORM_HINT

_APIM = "Microsoft.ApiManagement/service"
MAX_FILE_BYTES = 16 * 1024 * 1024
# folder (lower case, no spaces) → (ARM collection, information file)
_COLLECTIONS = {
    "apis": ("apis", "apiInformation.json"),
    "products": ("products", "productInformation.json"),
    "policyfragments": ("policyFragments", "policyFragmentInformation.json"),
    "namedvalues": ("namedValues", "namedValueInformation.json"),
    "backends": ("backends", "backendInformation.json"),
    "gateways": ("gateways", "gatewayInformation.json"),
    "versionsets": ("apiVersionSets", "versionSetInformation.json"),
    "subscriptions": ("subscriptions", "subscriptionInformation.json"),
    "tags": ("tags", "tagInformation.json"),
    "loggers": ("loggers", "loggerInformation.json"),
    "diagnostics": ("diagnostics", "diagnosticInformation.json"),
    "groups": ("groups", "groupInformation.json"),
    "workspaces": ("workspaces", "workspaceInformation.json"),
}
# configuration section → ARM collection it overrides
_OVERRIDES = {
    "namedValues": "namedValues",
    "backends": "backends",
    "apis": "apis",
    "products": "products",
    "policyFragments": "policyFragments",
    "gateways": "gateways",
    "versionSets": "apiVersionSets",
    "subscriptions": "subscriptions",
    "loggers": "loggers",
    "diagnostics": "diagnostics",
    "tags": "tags",
    "groups": "groups",
}


@dataclass
class Artifacts:
    """The folder's resources (each with its origin), gaps and input records."""

    found: list[tuple[dict[str, Any], dict[str, Any]]] = field(default_factory=list)
    gaps: list[dict[str, Any]] = field(default_factory=list)
    inputs: list[dict[str, Any]] = field(default_factory=list)


def is_configuration(path: Path) -> bool:
    """A publisher configuration file (YAML) given with ``--parameters``."""
    return path.suffix.lower() in (".yaml", ".yml")


def _key(name: str) -> str:
    return name.lower().replace(" ", "").replace("-", "").replace("_", "")


def is_apiops(folder: Path) -> bool:
    """A folder with a global ``policy.xml`` or a known collection folder."""
    if (folder / "policy.xml").is_file():
        return True
    return any(p.is_dir() and _key(p.name) in _COLLECTIONS for p in folder.iterdir())


def read_folder(
    folder: Path,
    configurations: Sequence[Path],
    env: Env,
    resources: Iterable[Mapping[str, Any]],
) -> Artifacts:
    """Read one artifacts folder; ``resources`` are those of the other inputs (its service)."""
    name = str(folder)
    if not folder.is_dir():
        raise TemplateError("not a folder", source=name)
    if not is_apiops(folder):
        if any(folder.glob("*.tf")):
            raise TemplateError(TERRAFORM_HINT, source=name)
        message = (
            "a directory, not a file, and not an APIOps artifacts folder (no policy.xml, "
            "apis/, products/, named values/ …): give the JSON files in it"
        )
        raise TemplateError(message, source=name)
    out = Artifacts()
    overrides, service_name = _configurations(configurations, out)
    service = _service(folder, service_name, env, resources, out)
    reader = _Reader(folder, service, overrides, out)
    reader.read()
    # The folder's digest covers every file read, each by its relative path and SHA-256.
    record = {
        "kind": "folder",
        "path": name,
        "format": "apiops",
        "files": reader.files,
        "sha256": reader.digest.hexdigest(),
    }
    out.inputs.insert(0, record)
    return out


def _configurations(
    paths: Sequence[Path], out: Artifacts
) -> tuple[dict[str, dict[str, Mapping[str, Any]]], str | None]:
    """Overrides by ARM collection and lower-case name; the ``apimServiceName`` if given."""
    overrides: dict[str, dict[str, Mapping[str, Any]]] = {}
    service: str | None = None
    import yaml  # as each function reading YAML: a run given no APIOps folder does not load it

    for path in paths:
        raw = _bytes(path)
        try:
            data = yaml.safe_load(raw.decode("utf-8-sig"))
        except (yaml.YAMLError, UnicodeDecodeError) as exc:
            raise TemplateError(f"not a YAML document: {exc}", source=str(path)) from None
        if not isinstance(data, dict):
            message = "not a publisher configuration (a mapping with namedValues, apis …)"
            raise TemplateError(message, source=str(path))
        out.inputs.append(
            {
                "kind": "file",
                "path": str(path),
                "format": "apiops-configuration",
                "sha256": hashlib.sha256(raw).hexdigest(),
            }
        )
        if isinstance(data.get("apimServiceName"), str):
            service = data["apimServiceName"]
        for section, collection in _OVERRIDES.items():
            for entry in data.get(section) or []:
                if isinstance(entry, dict) and isinstance(entry.get("name"), str):
                    overrides.setdefault(collection, {})[entry["name"].lower()] = entry
    return overrides, service


def _service(
    folder: Path,
    configured: str | None,
    env: Env,
    resources: Iterable[Mapping[str, Any]],
    out: Artifacts,
) -> str:
    """The id of the service the artifacts belong to (see the module docstring)."""
    services = [str(r["id"]) for r in resources if str(r.get("type", "")).lower() == _APIM.lower()]
    if configured:
        chosen = [s for s in services if s.rsplit("/", 1)[-1].lower() == configured.lower()]
    else:
        chosen = services
    if len(chosen) == 1:
        return chosen[0]
    name = configured or folder.resolve().name or "apiops"
    prefix = f"/subscriptions/{env.subscription}/resourceGroups/{env.resource_group or 'offline'}"
    service_id = f"{prefix}/providers/{_APIM}/{name}"
    names = ", ".join(s.rsplit("/", 1)[-1] for s in chosen or services)
    if len(chosen) > 1:
        message = (
            f"the artifacts in {folder} may belong to any of the services {names}: set "
            "apimServiceName in a configuration file given with --parameters"
        )
    elif services:
        message = (
            f"the configuration's apimServiceName {configured!r} names none of the services "
            f"given ({names}): the artifacts in {folder} are not joined to any of them"
        )
    else:
        message = (
            f"an APIOps artifacts folder ({folder}) holds no API Management service resource "
            "(SKU, hostnames, identity, TLS settings are not in it): add an ARM export of the "
            "service with a second --from-file"
        )
    out.gaps.append(gap("not-in-input", service_id, "service", message, str(folder), ""))
    return service_id


class _Reader:
    def __init__(
        self,
        folder: Path,
        service: str,
        overrides: Mapping[str, Mapping[str, Mapping[str, Any]]],
        out: Artifacts,
    ) -> None:
        self.folder = folder
        self.service = service
        self.overrides = overrides
        self.out = out
        self.files = 0
        self.digest = hashlib.sha256()

    def read(self) -> None:
        self.policy(self.folder / "policy.xml", self.service, "policies")
        for collection_folder in sorted(self.folder.iterdir()):
            known = _COLLECTIONS.get(_key(collection_folder.name))
            if not collection_folder.is_dir() or known is None:
                continue
            collection, information = known
            for item in sorted(p for p in collection_folder.iterdir() if p.is_dir()):
                self.item(item, collection, information)

    def item(self, item: Path, collection: str, information: str) -> None:
        info_path = item / information
        data = self.json(info_path) if info_path.is_file() else {}
        name = str(data.get("name") or item.name)
        rid = f"{self.service}/{collection}/{name}"
        properties = dict(data.get("properties") or {})
        override = self.override(collection, name, properties)
        if collection == "namedValues" and str(properties.get("secret")).lower() == "true":
            properties.pop("value", None)  # a secret's value is never read into the snapshot
        if collection == "policyFragments":
            text = self.text(item / "policy.xml")
            if text is not None:
                properties |= {"format": "rawxml", "value": text}
        where = next((p for p in (info_path, item / "policy.xml") if p.is_file()), item)
        self.emit(rid, f"{_APIM}/{collection}", name, properties, where)
        if collection in ("apis", "products"):
            self.policy(item / "policy.xml", rid, f"{collection}/policies")
        if collection == "apis":
            self.operations(item, rid, override)
        if collection == "products":
            for api in sorted(p for p in (item / "apis").glob("*") if p.is_dir()):
                link = f"{rid}/apis/{api.name}"
                self.emit(link, f"{_APIM}/products/apis", api.name, {}, api)

    def operations(self, api: Path, api_id: str, override: Mapping[str, Any] | None) -> None:
        entries = {
            str(e.get("name", "")).lower(): e
            for e in (override or {}).get("operations") or []
            if isinstance(e, dict)
        }
        specified, specification = self.specification(api)
        folders = {p.name: p for p in (api / "operations").glob("*") if p.is_dir()}
        for name in sorted(set(specified) | set(folders)):
            rid = f"{api_id}/operations/{name}"
            properties = dict(specified.get(name, {}))
            entry = entries.get(name.lower())
            if entry and isinstance(entry.get("properties"), dict):
                properties = _merge(properties, entry["properties"])
            where = specification if name in specified and specification else folders[name]
            self.emit(rid, f"{_APIM}/apis/operations", name, properties, where)
            if name in folders:
                self.policy(folders[name] / "policy.xml", rid, "apis/operations/policies")

    def specification(self, api: Path) -> tuple[dict[str, dict[str, Any]], Path | None]:
        """The operations an OpenAPI specification names (the extractor writes APIM's
        operation names as ``operationId``); other specification kinds name none here."""
        import yaml

        loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml when present: large specs
        for name in ("specification.yaml", "specification.yml", "specification.json"):
            path = api / name
            if not path.is_file():
                continue
            try:
                data = yaml.load(self.text(path) or "", Loader=loader)
            except yaml.YAMLError as exc:
                message = f"the specification cannot be read: {exc}"
                where = str(path)
                self.out.gaps.append(gap("parse-error", where, "operations", message, where, ""))
                return {}, None
            return _openapi_operations(data), path
        return {}, None

    def override(
        self, collection: str, name: str, properties: dict[str, Any]
    ) -> Mapping[str, Any] | None:
        entries = self.overrides.get(collection, {})
        display = str(properties.get("displayName", "")).lower()
        entry = entries.get(name.lower()) or (entries.get(display) if display else None)
        if entry and isinstance(entry.get("properties"), dict):
            properties.update(_merge(properties, entry["properties"]))
        return entry

    def policy(self, path: Path, owner: str, kind: str) -> None:
        text = self.text(path)
        if text is None:
            return
        rid = f"{owner}/policies/policy"
        self.emit(rid, f"{_APIM}/{kind}", "policy", {"format": "rawxml", "value": text}, path)

    def emit(
        self, rid: str, rtype: str, name: str, properties: dict[str, Any], where: Path
    ) -> None:
        resource = {"id": rid, "type": rtype, "name": name, "properties": properties}
        origin = {"file": str(where), "pointer": "", "line": 1}
        self.out.found.append((resource, origin))

    def text(self, path: Path) -> str | None:
        if not path.is_file():
            return None
        self.files += 1
        raw = _bytes(path)
        relative = path.relative_to(self.folder).as_posix()
        self.digest.update(f"{relative}\0{hashlib.sha256(raw).hexdigest()}\n".encode())
        try:
            return raw.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            message = f"not UTF-8 text (invalid byte at offset {exc.start})"
            raise TemplateError(message, source=str(path)) from None

    def json(self, path: Path) -> dict[str, Any]:
        text = self.text(path) or ""
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            where = f"line {exc.lineno} column {exc.colno}"
            raise TemplateError(
                f"not valid JSON: {exc.msg}", source=str(path), where=where
            ) from None
        if not isinstance(data, dict):
            raise TemplateError('not an information file ({"properties": {…}})', source=str(path))
        return data


_METHODS = ("get", "put", "post", "delete", "patch", "head", "options", "trace")


def _openapi_operations(data: Any) -> dict[str, dict[str, Any]]:
    """``operationId`` → method and URL template, from an OpenAPI or Swagger document."""
    out: dict[str, dict[str, Any]] = {}
    paths = data.get("paths") if isinstance(data, dict) else None
    for template, item in (paths or {}).items():
        if not isinstance(item, dict):
            continue
        for method in _METHODS:
            operation = item.get(method)
            if isinstance(operation, dict) and isinstance(operation.get("operationId"), str):
                out[operation["operationId"]] = {
                    "method": method.upper(),
                    "urlTemplate": str(template),
                }
    return out


def _bytes(path: Path) -> bytes:
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise TemplateError(f"the file is over {MAX_FILE_BYTES // 2**20} MiB", source=str(path))
        return path.read_bytes()
    except FileNotFoundError:
        raise TemplateError("file not found", source=str(path)) from None
    except OSError as exc:
        raise TemplateError(
            f"cannot read the file: {exc.strerror or exc}", source=str(path)
        ) from None


def _merge(base: Mapping[str, Any], patch: Mapping[str, Any]) -> dict[str, Any]:
    """``patch`` over ``base``, objects merged key by key (as the publisher does)."""
    out = dict(base)
    for key, value in patch.items():
        current = out.get(key)
        if isinstance(current, Mapping) and isinstance(value, Mapping):
            out[key] = _merge(current, value)
        else:
            out[key] = value
    return out
