"""Fixtures of the probe tests: TLS material, a snapshot whose hostnames the local gateways
serve, and an environment without proxies (so that no test reaches the network)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.probe.gateways import Material, make_material
from tests.rules.builder import SERVICE_ID, child, snapshot

VALIDATING_POLICY = """<policies>
  <inbound>
    <validate-client-certificate validate-revocation="false" validate-trust="true" />
  </inbound>
  <backend><forward-request /></backend>
  <outbound /><on-error />
</policies>"""

API_ID = f"{SERVICE_ID}/apis/echo"
OPERATION_ID = f"{API_ID}/operations/get-resource"


@pytest.fixture(autouse=True)
def _no_proxies(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("https_proxy", "HTTPS_PROXY", "no_proxy", "NO_PROXY", "REQUESTS_CA_BUNDLE"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture(scope="session")
def material(tmp_path_factory: pytest.TempPathFactory) -> Material:
    return make_material(tmp_path_factory.mktemp("probe-tls"))


def gateway_snapshot() -> dict[str, Any]:
    """A service whose custom hostname negotiates, whose global policy validates, with one API
    offering a safe operation and one offering none."""
    return snapshot(
        {
            "properties": {
                "gatewayUrl": "https://apim-test.azure-api.net",
                "hostnameConfigurations": [
                    {
                        "type": "Proxy",
                        "hostName": "apim-test.azure-api.net",
                        "certificateSource": "BuiltIn",
                    },
                    {
                        "type": "Proxy",
                        "hostName": "api.contoso.test",
                        "negotiateClientCertificate": True,
                    },
                ],
            }
        },
        [
            child("policies/policy", {"format": "rawxml", "value": VALIDATING_POLICY}),
            child("apis/echo", {"path": "echo", "subscriptionRequired": False}),
            child("apis/echo/operations/create", {"method": "POST", "urlTemplate": "/resource"}),
            child("apis/echo/operations/get-resource", {"method": "GET", "urlTemplate": "/res"}),
            child("apis/echo/operations/get-one", {"method": "GET", "urlTemplate": "/r/{id}"}),
            child("apis/writes", {"path": "w"}),
            child("apis/writes/operations/put", {"method": "PUT", "urlTemplate": "/x"}),
        ],
    )


@pytest.fixture
def resources_file(tmp_path: Path) -> Path:
    import json

    path = tmp_path / "resources.json"
    path.write_text(json.dumps(gateway_snapshot()["resources"]), "utf-8")
    return path
