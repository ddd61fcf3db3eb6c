"""``terraform show -json`` output (a plan or a state) → the resource instances it declares.

A plan lists each managed resource in ``resource_changes`` with its planned values (``after``)
and which of them are known only after apply (``after_unknown``); resources a plan deletes are
left out. A state lists them in ``values.root_module`` and its ``child_modules``, all known.
``configuration`` (plans only) says which other resource an expression refers to; that is how
a reference known only after apply (``azurerm_api_management.x.id``) still names its target.

Only the azurerm provider's resources are read (see ``terraform_azurerm`` for the mapping).
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from mtls_audit.errors import TemplateError

PROVIDER = "registry.terraform.io/hashicorp/azurerm"
TERRAFORM_HINT = (
    "Terraform configuration or a binary plan is not read directly: give the JSON of a plan "
    "(`terraform plan -out tf.plan && terraform show -json tf.plan > plan.json`) or of the "
    "state (`terraform show -json > state.json`)"
)
"""Why ``.tf`` files are refused: HCL needs Terraform to evaluate (variables, modules, count,
for_each, functions, provider defaults); a plan's JSON is what Terraform evaluated."""


class _Unknown:
    """A value Terraform knows only after apply (``after_unknown``)."""

    def __repr__(self) -> str:
        return "UNKNOWN"


UNKNOWN: Any = _Unknown()

_INDEX = re.compile(r"\[[^\]]*\]")


def is_terraform(data: Any) -> bool:
    """``terraform show -json`` output: a ``format_version`` and a ``terraform_version``."""
    return isinstance(data, dict) and "terraform_version" in data and "format_version" in data


def kind_of(data: Mapping[str, Any]) -> str:
    """``terraform-plan`` or ``terraform-state``."""
    return (
        "terraform-plan"
        if "resource_changes" in data or "planned_values" in data
        else ("terraform-state")
    )


@dataclass(frozen=True)
class Instance:
    """One resource instance: its address, type, values and what is unknown among them."""

    address: str
    type: str
    values: Mapping[str, Any]
    unknown: Any
    pointer: str
    module: str = ""
    references: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    """Attribute name → the addresses its configuration expression refers to (plans only)."""

    def get(self, *path: str | int) -> Any:
        """The value at ``path`` (keys and list indexes), ``UNKNOWN``, or None when absent."""
        value: Any = self.values
        unknown: Any = self.unknown
        for step in path:
            if unknown is True:
                return UNKNOWN
            value = _step(value, step)
            unknown = _step(unknown, step)
        if unknown is True or (value is None and _holds_unknown(unknown)):
            return UNKNOWN
        return value

    def blocks(self, *path: str | int) -> Iterator[tuple[int, Instance]]:
        """The nested blocks at ``path`` (a list of objects), each as an instance of its own
        values, with its index."""
        value = self.get(*path)
        if not isinstance(value, list):
            return
        unknown: Any = self.unknown
        for step in path:
            unknown = _step(unknown, step)
        prefix = ".".join(p for p in path if isinstance(p, str)) + "."
        references = {
            k.removeprefix(prefix): v for k, v in self.references.items() if k.startswith(prefix)
        }
        for index, item in enumerate(value):
            if isinstance(item, Mapping):
                yield (
                    index,
                    Instance(
                        self.address,
                        self.type,
                        item,
                        _step(unknown, index),
                        self.pointer,
                        self.module,
                        references,
                    ),
                )

    def guid(self) -> str:
        """A stable GUID for a name Azure picks at apply and no rule reads (a role
        assignment's, a subscription's)."""
        return str(uuid.uuid5(uuid.NAMESPACE_URL, f"terraform:{self.address}"))

    def target(self, attribute: str) -> str | None:
        """The resource address (module prefix included) the attribute's expression names."""
        for reference in self.references.get(attribute, ()):
            parts = _INDEX.sub("", reference).split(".")
            if len(parts) >= 2 and parts[0] not in ("var", "local", "module", "data", "each"):
                return f"{self.module}{parts[0]}.{parts[1]}"
        return None

    def reference(self, attribute: str) -> str | None:
        """The full reference text of the attribute's expression (the longest one)."""
        found = self.references.get(attribute, ())
        return max(found, key=len) if found else None


def dotted(address: str, path: tuple[str | int, ...]) -> str:
    """``address.attribute[0].inner``: an attribute path written as Terraform does."""
    return address + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in path)


def after_apply(address: str, *path: str | int) -> str:
    """The text kept for a value known only after apply (read as unresolved by the model)."""
    return f"[known after apply: {dotted(address, path)}]"


def identity_token(target: Instance, *path: str | int) -> str:
    """One text for an identity id known only after apply, the same wherever it is used."""
    return f"known-after-apply:{dotted(target.address, path)}"


def _step(value: Any, step: str | int) -> Any:
    if isinstance(step, int):
        return value[step] if isinstance(value, list) and step < len(value) else None
    return value.get(step) if isinstance(value, Mapping) else None


def _holds_unknown(unknown: Any) -> bool:
    if unknown is True:
        return True
    if isinstance(unknown, Mapping):
        return any(_holds_unknown(v) for v in unknown.values())
    if isinstance(unknown, list):
        return any(_holds_unknown(v) for v in unknown)
    return False


def instances(data: Mapping[str, Any], file: str) -> list[Instance]:
    """The managed azurerm resource instances of a plan or state, in file order."""
    references = _references(data.get("configuration"))
    if kind_of(data) == "terraform-plan":
        return list(_planned(data, references, file))
    values = data.get("values")
    if not isinstance(values, Mapping):
        raise TemplateError("a Terraform state without 'values'", source=file)
    root = values.get("root_module")
    return list(_state(root, "/values/root_module", references)) if root else []


def _planned(
    data: Mapping[str, Any], references: dict[str, dict[str, tuple[str, ...]]], file: str
) -> Iterator[Instance]:
    changes = data.get("resource_changes")
    if not isinstance(changes, list):
        message = "a Terraform plan without 'resource_changes' (use `terraform show -json PLAN`)"
        raise TemplateError(message, source=file)
    for index, change in enumerate(changes):
        if not isinstance(change, Mapping) or not _wanted(change):
            continue
        body = change.get("change")
        after = body.get("after") if isinstance(body, Mapping) else None
        if not isinstance(after, Mapping):  # deleted by the plan: gone after apply
            continue
        module = _module_prefix(change)
        yield Instance(
            str(change.get("address", "")),
            str(change["type"]),
            after,
            body.get("after_unknown") if isinstance(body, Mapping) else None,
            f"/resource_changes/{index}",
            module,
            references.get(_config_address(change, module), {}),
        )


def _state(
    module: Any, pointer: str, references: dict[str, dict[str, tuple[str, ...]]]
) -> Iterator[Instance]:
    if not isinstance(module, Mapping):
        return
    for index, resource in enumerate(module.get("resources") or []):
        if isinstance(resource, Mapping) and _wanted(resource):
            values = resource.get("values")
            prefix = _module_prefix(resource)
            yield Instance(
                str(resource.get("address", "")),
                str(resource["type"]),
                values if isinstance(values, Mapping) else {},
                None,
                f"{pointer}/resources/{index}",
                prefix,
                references.get(_config_address(resource, prefix), {}),
            )
    for index, child in enumerate(module.get("child_modules") or []):
        yield from _state(child, f"{pointer}/child_modules/{index}", references)


def _wanted(resource: Mapping[str, Any]) -> bool:
    provider = str(resource.get("provider_name", PROVIDER))
    return (
        resource.get("mode", "managed") == "managed"
        and str(resource.get("type", "")).startswith("azurerm_")
        and provider.endswith("/azurerm")
    )


def _module_prefix(resource: Mapping[str, Any]) -> str:
    """``module.a.module.b.`` for a resource inside modules ("" at the root)."""
    module = resource.get("module_address")
    if isinstance(module, str) and module:
        return module + "."
    address = str(resource.get("address", ""))
    head = address.rsplit(".", 2)[0] if address.count(".") >= 2 else ""
    return head + "." if head.startswith("module.") else ""


def _config_address(resource: Mapping[str, Any], module: str) -> str:
    """The configuration address (module instance keys dropped) of a resource instance."""
    return _INDEX.sub("", module) + f"{resource.get('type')}.{resource.get('name')}"


def _references(configuration: Any) -> dict[str, dict[str, tuple[str, ...]]]:
    """Configuration address → attribute → the addresses its expression refers to."""
    out: dict[str, dict[str, tuple[str, ...]]] = {}
    todo: list[tuple[Any, str]] = [
        (configuration.get("root_module") if isinstance(configuration, Mapping) else None, "")
    ]
    while todo:
        module, prefix = todo.pop()
        if not isinstance(module, Mapping):
            continue
        for resource in module.get("resources") or []:
            if isinstance(resource, Mapping) and isinstance(resource.get("expressions"), Mapping):
                address = prefix + str(resource.get("address", ""))
                out[address] = _expression_references(resource["expressions"])
        for name, call in (module.get("module_calls") or {}).items():
            if isinstance(call, Mapping):
                todo.append((call.get("module"), f"{prefix}module.{name}."))
    return out


def _expression_references(expressions: Mapping[str, Any]) -> dict[str, tuple[str, ...]]:
    """Top-level attribute → references; nested block attributes as ``block.attribute``."""
    out: dict[str, tuple[str, ...]] = {}
    for name, expression in expressions.items():
        if isinstance(expression, Mapping) and "references" in expression:
            out[name] = tuple(str(r) for r in expression["references"])
        elif isinstance(expression, list):  # nested blocks
            for block in expression:
                if isinstance(block, Mapping):
                    for inner, found in _expression_references(block).items():
                        out.setdefault(f"{name}.{inner}", found)
    return out
