"""Small services with policies at chosen scopes, for the effective-policy tests."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from mtls_audit.model import ServiceModel, build_model
from mtls_audit.policy.effective.tree import EffectiveSection
from tests.rules.builder import SERVICE_ID, snapshot

VALIDATE = '<validate-client-certificate validate-trust="true" validate-revocation="true" />'

Resource = Mapping[str, Any]


def document(
    inbound: str | None = "<base />",
    backend: str | None = "<base />",
    outbound: str | None = "<base />",
    on_error: str | None = "<base />",
) -> str:
    """A ``<policies>`` document; each section's body sits on the lines after its start tag
    (``<inbound>`` on line 2, its first body line on line 3); None leaves the section out."""
    lines = ["<policies>"]
    for name, body in (
        ("inbound", inbound),
        ("backend", backend),
        ("outbound", outbound),
        ("on-error", on_error),
    ):
        if body is not None:
            lines += [f"  <{name}>", *(f"    {line}" for line in body.splitlines()), f"  </{name}>"]
    return "\n".join([*lines, "</policies>"])


def policy(scope: str, text: str, fmt: str = "rawxml") -> Resource:
    """A policy resource attached to ``scope`` (a path such as ``apis/a``; "" for global)."""
    path = f"{scope}/policies/policy" if scope else "policies/policy"
    return {"path": path, "properties": {"format": fmt, "value": text}}


def fragment(name: str, body: str, fmt: str = "rawxml", scope: str = "") -> Resource:
    path = f"{scope}/policyFragments/{name}" if scope else f"policyFragments/{name}"
    return {
        "path": path,
        "properties": {"format": fmt, "value": f"<fragment>\n{body}\n</fragment>"},
    }


def api(name: str, *operations: str) -> list[Resource]:
    return [
        {"path": f"apis/{name}", "properties": {"displayName": name, "path": name}},
        *(
            {"path": f"apis/{name}/operations/{op}", "properties": {"method": "GET"}}
            for op in operations
        ),
    ]


def product(name: str, *apis: str) -> list[Resource]:
    links = [
        {"path": f"products/{name}/apiLinks/{a}", "properties": {"apiId": api_id(a)}} for a in apis
    ]
    return [{"path": f"products/{name}", "properties": {"displayName": name}}, *links]


def api_id(name: str) -> str:
    return f"{SERVICE_ID}/apis/{name}"


def operation_id(api_name: str, name: str) -> str:
    return f"{api_id(api_name)}/operations/{name}"


def product_id(name: str) -> str:
    return f"{SERVICE_ID}/products/{name}"


def service(*resources: Resource | Sequence[Resource]) -> ServiceModel:
    """The model of a service holding ``resources`` (single resources or lists of them)."""
    flat: list[Resource] = []
    for item in resources:
        flat += [item] if isinstance(item, Mapping) else list(item)
    return build_model(snapshot(resources=flat)).services[0]


def tags(section: EffectiveSection) -> list[str]:
    return [element.tag for element in section.elements]


def names(section: EffectiveSection) -> list[str | None]:
    """The ``name`` attribute of each top-level element (the tests label elements by it)."""
    return [element.attr("name") for element in section.elements]
