"""Reading a 2,000-resource Terraform plan into a snapshot (prints figures; not a test).

The plan: one service and 1,999 azurerm APIM children (APIs, their operations and policies,
backends, named values), a first deployment, so every id is known only after apply and the
children find their service through ``configuration`` references, as real plans do. Each run
is a fresh interpreter; the figure is the time of ``FilesSource.load`` on the plan (read,
map, validate the snapshot), the best of three. Budget: 2 s.

Run from the repository root: ``python3 benchmarks/terraform_bench.py``
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.child import figures

RESOURCES, BUDGET_S, RUNS = 2000, 2.0, 3
POLICY = "<policies><inbound><base /></inbound><backend><base /></backend>" + (
    "<outbound><base /></outbound><on-error><base /></on-error></policies>"
)
_MEASURE = """
import json, sys, time
from pathlib import Path
import mtls_audit.sources.arm.files  # imported before the clock starts, as before
from mtls_audit.sources.files import FilesSource
started = time.perf_counter()
document = FilesSource([Path(sys.argv[1])]).load()
elapsed = time.perf_counter() - started
print(json.dumps({"seconds": elapsed, "resources": len(document["resources"]),
                  "gaps": len(document["gaps"])}))
"""


def _change(address: str, after: dict[str, Any]) -> dict[str, Any]:
    kind, name = address.split(".")
    unknown = {"id": True}
    return {
        "address": address, "mode": "managed", "type": kind, "name": name,
        "provider_name": "registry.terraform.io/hashicorp/azurerm",
        "change": {"actions": ["create"], "before": None, "after": after,
                   "after_unknown": unknown, "after_sensitive": {}},
    }  # fmt: skip


def _config(address: str, **references: str) -> dict[str, Any]:
    kind, name = address.split(".")
    expressions = {k: {"references": [v, v.rsplit(".", 1)[0]]} for k, v in references.items()}
    return {"address": address, "mode": "managed", "type": kind, "name": name,
            "expressions": expressions}  # fmt: skip


def make_plan(total: int = RESOURCES) -> dict[str, Any]:
    """One service, then groups of five children (API, operation, two policies, backend)."""
    service = "azurerm_api_management.apim"
    changes = [
        _change(service, {
            "name": "apim-bench", "resource_group_name": "rg-bench", "location": "westeurope",
            "sku_name": "Premium_1", "client_certificate_enabled": False,
            "hostname_configuration": [{"proxy": [{"host_name": "api.bench.example",
                                                   "negotiate_client_certificate": True}]}],
            "security": [{"frontend_tls10_enabled": False, "frontend_tls11_enabled": False}],
            "identity": [{"type": "SystemAssigned"}],
        })
    ]  # fmt: skip
    configs = []
    parent = {"api_management_name": "azurerm_api_management.apim.name",
              "resource_group_name": "azurerm_api_management.apim.resource_group_name"}  # fmt: skip
    index = 0
    while len(changes) < total:
        api = f"azurerm_api_management_api.a{index}"
        rows: list[tuple[str, dict[str, Any]]] = [
            (api, {"name": f"api-{index}", "revision": "1", "path": f"p{index}",
                   "protocols": ["https"], "service_url": f"https://b{index}.example"}),
            (f"azurerm_api_management_api_operation.o{index}",
             {"operation_id": "get", "api_name": f"api-{index}", "method": "GET",
              "url_template": "/"}),
            (f"azurerm_api_management_api_policy.p{index}",
             {"api_name": f"api-{index}", "xml_content": POLICY}),
            (f"azurerm_api_management_backend.b{index}",
             {"name": f"backend-{index}", "protocol": "http", "url": f"https://b{index}.example",
              "tls": [{"validate_certificate_chain": True, "validate_certificate_name": True}]}),
            (f"azurerm_api_management_named_value.n{index}",
             {"name": f"nv-{index}", "display_name": f"nv-{index}", "secret": False,
              "value": "x"}),
        ]  # fmt: skip
        for address, after in rows[: total - len(changes)]:
            changes.append(_change(address, after))
            configs.append(_config(address, **parent))
        index += 1
    return {
        "format_version": "1.2", "terraform_version": "1.9.5",
        "resource_changes": changes,
        "configuration": {"root_module": {"resources": configs}},
    }  # fmt: skip


def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "plan.json"
        path.write_text(json.dumps(make_plan(), indent=2), encoding="utf-8")
        size = path.stat().st_size / 2**20
        runs = [figures(_MEASURE, str(path)) for _ in range(RUNS)]
    best = min(run["seconds"] for run in runs)
    print(f"plan: {RESOURCES} resource changes, {size:.1f} MiB of JSON")
    print(f"snapshot: {int(runs[0]['resources'])} resources, {int(runs[0]['gaps'])} gaps")
    print(f"FilesSource.load: best {best:.2f} s of {RUNS} runs (budget {BUDGET_S:.0f} s)")
    if best > BUDGET_S:
        raise SystemExit("over budget")


if __name__ == "__main__":
    main()
