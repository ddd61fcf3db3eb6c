"""azurerm resources of a Terraform plan or state → flat ARM resources in wire format.

The mapping produces what an ARM export of the same deployment holds, so that one model judges
every input: ``azurerm_api_management`` becomes ``Microsoft.ApiManagement/service`` with its
``hostnameConfigurations``, ``customProperties`` (the ``security`` block) and ``certificates``;
its children become the ARM child resources; a custom domain resource replaces the service's
hostnames; a Key Vault access policy resource joins its vault's ``accessPolicies``.

Ids are built from names (``--subscription`` / ``--resource-group`` stand in for what a plan
does not say). A value known only after apply becomes a gap on that property and keeps a
``"[known after apply: <address>.<attribute>]"`` text (read as unresolved, never guessed),
except where the plan itself says what it is: a reference to another planned resource (a
service's id, a vault's id) names that resource, and an identity's principal or client id
known only after apply is the same token wherever the configuration refers to it, so a role
assignment made to ``azurerm_api_management.x.identity[0].principal_id`` is matched to that
identity. Secrets (PFX data, passwords, secret named-value values) are never read.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Mapping
from typing import Any

from mtls_audit.sources.arm.export import Found, gap
from mtls_audit.sources.arm.scope import Env
from mtls_audit.sources.terraform.apim import CHILDREN, Child
from mtls_audit.sources.terraform.outside import LATE, OUTSIDE, identify
from mtls_audit.sources.terraform.plan import (
    UNKNOWN,
    Instance,
    after_apply,
    dotted,
    identity_token,
    instances,
)

_APIM = "Microsoft.ApiManagement/service"
_TRAILING_INDEX = re.compile(r"\[[^\]]*\]$")
_PATH = re.compile(r"[^.\[\]]+")
_IDENTITY_ATTRIBUTES = ("principal_id", "client_id", "tenant_id")


def read_terraform(
    data: Mapping[str, Any], file: str, env: Env
) -> tuple[Found, list[dict[str, Any]], dict[str, dict[str, Any]]]:
    """The plan's or state's ARM resources (with pointers), gaps, and each pointer's address."""
    mapper = Mapper(instances(data, file), file, env)
    mapper.run()
    return mapper.found, mapper.gaps, mapper.notes


class Mapper:
    """One pass over a plan's instances: ids first (services, vaults, identities), then all."""

    def __init__(self, found: list[Instance], file: str, env: Env) -> None:
        self.file = file
        self.env = env
        self.instances = found
        self.by_config: dict[str, list[Instance]] = defaultdict(list)
        for each in found:
            self.by_config[_config_key(each)].append(each)
        self.ids: dict[str, str] = {}
        self.resources: dict[str, dict[str, Any]] = {}
        self.found: Found = []
        self.gaps: list[dict[str, Any]] = []
        self.notes: dict[str, dict[str, Any]] = {}

    def run(self) -> None:
        for each in self.instances:
            identify(self, each)
        for each in self.instances:
            if each.type in OUTSIDE:
                OUTSIDE[each.type](self, each)
            elif each.type in CHILDREN:
                self.child(each, CHILDREN[each.type])
        for each in self.instances:
            if each.type in LATE:
                LATE[each.type](self, each)

    # --- values -----------------------------------------------------------------------------

    def value(self, inst: Instance, subject: str, *path: str | int) -> Any:
        """The value at ``path``; known only after apply: a gap and the unresolved text."""
        found = inst.get(*path)
        if found is UNKNOWN:
            self.gap(inst, subject, f"{dotted('', path)[1:]} is known only after apply")
            return after_apply(inst.address, *path)
        return found

    def linked(self, inst: Instance, attribute: str) -> Any:
        """An attribute's value, or when known only after apply what its reference names: an
        identity's id token, or the value planned for the referenced attribute."""
        found = inst.get(attribute)
        if found is not UNKNOWN:
            return found
        reference = inst.reference(attribute)
        target = self.target(inst, attribute)
        if reference is None or target is None:
            return UNKNOWN
        parts = reference.split(".", 2)  # type, name, then the attribute path if any
        path = _PATH.findall(_TRAILING_INDEX.sub("", parts[2])) if len(parts) == 3 else []
        steps = [int(p) if p.isdigit() else p for p in path]
        planned = target.get(*steps) if steps else UNKNOWN
        if planned is UNKNOWN and steps and steps[-1] in _IDENTITY_ATTRIBUTES:
            return identity_token(target, *steps)
        return planned

    def target(self, inst: Instance, attribute: str) -> Instance | None:
        """The one planned instance an attribute's expression refers to."""
        address = inst.target(attribute)
        candidates = self.by_config.get(address or "", [])
        if len(candidates) == 1:
            return candidates[0]
        key = inst.address[len(_TRAILING_INDEX.sub("", inst.address)) :]
        return next((c for c in candidates if c.address.endswith(key) and key), None)

    def named_id(self, inst: Instance, attribute: str) -> str | None:
        """The ARM id an ``*_id`` attribute holds, or of the planned resource it refers to."""
        target = self.target(inst, attribute)
        if target is not None and target.address in self.ids:
            return self.ids[target.address]
        found = inst.get(attribute)
        return found.rstrip("/") if isinstance(found, str) and found.startswith("/") else None

    def service_id(self, inst: Instance) -> str | None:
        """The service a child belongs to: by ``api_management_id`` or name + resource group."""
        found = self.named_id(inst, "api_management_id")
        if found:
            return found
        target = self.target(inst, "api_management_name")
        if target is not None and target.address in self.ids:
            return self.ids[target.address]
        name = inst.get("api_management_name")
        if isinstance(name, str):
            return f"{self.group(inst)}/providers/{_APIM}/{name}"
        return None

    def group(self, inst: Instance) -> str:
        """``/subscriptions/…/resourceGroups/…`` of a resource (its own id when known)."""
        own = inst.get("id")
        subscription = self.env.subscription
        if isinstance(own, str) and own.lower().startswith("/subscriptions/"):
            subscription = own.split("/")[2]
        group = self.linked(inst, "resource_group_name")
        if not isinstance(group, str):
            group = self.env.resource_group or "offline"
            self.gap(inst, self.file, "resource_group_name is known only after apply")
        return f"/subscriptions/{subscription}/resourceGroups/{group}"

    def name(self, inst: Instance, attribute: str = "name", *, judged: bool = True) -> str:
        """A name segment; known only after apply, the unresolved text, and a gap when the
        name ties the resource to another (``judged``): a service's or a vault's own name
        (``random_string`` suffixes) only labels it, since others find it by reference."""
        found = self.linked(inst, attribute)
        if isinstance(found, str) and found:
            return found
        if judged:
            self.gap(inst, self.file, f"{attribute} is known only after apply")
        return after_apply(inst.address, attribute)

    # --- output ----------------------------------------------------------------------------

    def emit(self, inst: Instance, resource: dict[str, Any]) -> dict[str, Any]:
        """Record the resource read from ``inst`` (its origin names the instance's address)."""
        self.found.append((resource, inst.pointer))
        self.notes[inst.pointer] = {"address": inst.address}
        self.resources[inst.address] = resource
        self.ids[inst.address] = resource["id"]
        return resource

    def gap(self, inst: Instance, subject: str, message: str, what: str = "property") -> None:
        text = f"{inst.address}: {message}"
        self.gaps.append(gap("unknown-until-apply", subject, what, text, self.file, inst.pointer))

    def child(self, inst: Instance, spec: Child) -> None:
        service = self.service_id(inst)
        if service is None:
            self.gap(inst, self.file, "its API Management service is not known", "resource")
            return
        names = [self.segment(inst, n) for n in spec.names]
        names[-1] = spec.rename(inst, names[-1])
        path = "".join(f"/{t}/{n}" for t, n in zip(spec.types, names, strict=True))
        rid = f"{service}{path}"
        resource = {"id": rid, "type": f"{_APIM}/{'/'.join(spec.types)}", "name": names[-1]}
        properties = spec.properties(self, inst, rid)
        self.emit(inst, resource | {"properties": properties})

    def segment(self, inst: Instance, spec: str) -> str:
        """A name segment: ``=constant``, ``?attribute`` (Azure picks it when not given: a
        stable GUID then, since no rule reads it), or an attribute."""
        if spec.startswith("="):
            return spec[1:]
        if spec.startswith("?"):
            found = inst.get(spec[1:])
            return found if isinstance(found, str) and found else inst.guid()
        return self.name(inst, spec)

    def props(
        self,
        inst: Instance,
        rid: str,
        needed: Mapping[str, str],
        shown: Mapping[str, str] | None = None,
    ) -> dict[str, Any]:
        """ARM properties from attributes: ``needed`` ones (a rule reads them) become gaps when
        known only after apply; ``shown`` ones are left out then."""
        out: dict[str, Any] = {}
        for key, attribute in needed.items():
            found = self.value(inst, rid, attribute)
            if found is not None:
                out[key] = found
        for key, attribute in (shown or {}).items():
            found = inst.get(attribute)
            if found is not None and found is not UNKNOWN:
                out[key] = found
        return out


def _config_key(inst: Instance) -> str:
    """The module instance and the resource's configuration address (its own index dropped)."""
    return _TRAILING_INDEX.sub("", inst.address)
