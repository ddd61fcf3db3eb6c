"""Shared helpers of the offline-source tests: a fake expression context and file writers."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mtls_audit.sources.arm.expression import (
    EvaluationError,
    UnresolvedParameter,
    UnsupportedFunction,
)

SUB = "00000000-0000-0000-0000-000000000000"
RG_ID = f"/subscriptions/{SUB}/resourceGroups/offline"
APIM = f"{RG_ID}/providers/Microsoft.ApiManagement/service"
TEMPLATE_SCHEMA = "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#"
PARAMS_SCHEMA = "https://schema.management.azure.com/schemas/2019-04-01/deploymentParameters.json#"


@dataclass
class FakeContext:
    """An expression context with fixed parameters and variables (no template behind it)."""

    params: dict[str, Any] = field(default_factory=dict)
    variables: dict[str, Any] = field(default_factory=dict)
    loops: dict[str, int] = field(default_factory=dict)
    subscription_id: str = SUB
    resource_group: str | None = "offline"

    def parameter(self, name: str) -> Any:
        if name not in self.params:
            raise UnresolvedParameter(f"parameter {name!r} has no value")
        return self.params[name]

    def variable(self, name: str) -> Any:
        return self.variables[name]

    def copy_index(self, loop: str | None) -> int:
        if not self.loops:
            raise EvaluationError("outside a loop")
        return self.loops[loop] if loop else next(iter(self.loops.values()))

    def user_function(self, name: str, args: list[Any]) -> Any:
        raise UnsupportedFunction(f"{name}() is not offered by this context")

    def declared(self, symbol: str, full: bool) -> Any:
        raise UnsupportedFunction("reference() is not offered by this context")


def template(resources: Any, **extra: Any) -> dict[str, Any]:
    """A deployment template around the given resources."""
    return {
        "$schema": TEMPLATE_SCHEMA,
        "contentVersion": "1.0.0.0",
        **extra,
        "resources": resources,
    }


def write_json(directory: Path, name: str, data: Any) -> Path:
    path = directory / name
    path.write_text(json.dumps(data, indent=2), encoding="utf-8")
    return path


def parameters_file(directory: Path, values: dict[str, Any], name: str = "p.json") -> Path:
    document = {"$schema": PARAMS_SCHEMA, "contentVersion": "1.0.0.0",
                "parameters": {k: {"value": v} for k, v in values.items()}}  # fmt: skip
    return write_json(directory, name, document)
