"""Live collection against the fake Azure: what is collected, how, and what provenance says."""

from __future__ import annotations

import io
import logging
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from azure.identity import CredentialUnavailableError

from mtls_audit.errors import CollectionError
from mtls_audit.sources.azure.source import AzureOptions, collect_azure

from .conftest import Collect
from .credentials import CALLER_APP_ID, CALLER_OBJECT_ID, TOKEN, FakeSyncCredential
from .fake_azure import FakeAzure, unused_url
from .instance import SERVICE, SERVICE_ID, TENANT, Instance, build_instance


def _by_id(resources: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {str(r["id"]).lower(): r for r in resources}


def _policy_ids(resources: list[dict[str, Any]]) -> set[str]:
    return {str(r["id"]).lower() for r in resources if str(r["type"]).endswith("/policies")}


def test_collected_resources_equal_the_served_instance(
    collect: Collect, instance: Instance
) -> None:
    parts = collect()

    assert parts["gaps"] == []
    assert _by_id(parts["resources"]) == _by_id(instance.resources)
    assert [r["id"] for r in parts["resources"]] == sorted(
        (r["id"] for r in instance.resources), key=str.lower
    )


def test_keyvault_facts_use_the_sdk_names(collect: Collect, instance: Instance) -> None:
    parts = collect()

    certificates = parts["keyvault"][instance.vault_url]["certificates"]
    assert set(certificates) == {"gateway-cert", "client-kv"}
    gateway = certificates["gateway-cert"]
    assert gateway["properties"]["x509_thumbprint"] == instance.thumbprint("gateway-cert")
    assert gateway["properties"]["expires_on"] == "2027-01-01T00:00:00Z"
    assert gateway["policy"]["exportable"] is True
    assert gateway["policy"]["issuer_name"] == "Self"
    assert gateway["policy"]["lifetime_actions"][0]["action"] == "AutoRenew"
    assert gateway["cer"] == instance.certificates["gateway-cert"]["cer"]


@pytest.mark.parametrize("api_version_in_next_links", [True, False])
def test_paging_follows_next_links(
    collect: Collect, fake: FakeAzure, instance: Instance, api_version_in_next_links: bool
) -> None:
    fake.page_size = 2
    fake.next_link_api_version = api_version_in_next_links

    parts = collect()

    assert parts["gaps"] == []
    assert _by_id(parts["resources"]) == _by_id(instance.resources)
    pages = fake.seen(rf"/service/{SERVICE}/apis$") + fake.seen(r"/apis/api-0/operations$")
    assert [s.query.get("$skiptoken") for s in pages] == [None, "2", "4", None, "2"]
    assert all("api-version" in s.query for s in fake.requests if s.authorized)


def test_only_existing_policies_are_fetched_and_as_escaped_xml(
    collect: Collect, fake: FakeAzure, instance: Instance
) -> None:
    parts = collect()

    fetched = fake.seen(r"/policies/policy$")
    assert {s.path.lower() for s in fetched} == _policy_ids(instance.resources)
    assert len(fetched) == len(_policy_ids(instance.resources))
    assert {s.query.get("format") for s in fetched} == {"xml"}
    assert _policy_ids(parts["resources"]) == _policy_ids(instance.resources)


def test_without_allpolicies_every_scope_is_asked_and_404_is_no_gap(
    collect: Collect, fake: FakeAzure, instance: Instance
) -> None:
    fake.all_policies = False

    parts = collect()

    assert parts["gaps"] == []
    assert _policy_ids(parts["resources"]) == _policy_ids(instance.resources)
    scope_types = {
        f"Microsoft.ApiManagement/{kind}"
        for kind in (
            "service",
            "service/apis",
            "service/apis/operations",
            "service/products",
            "service/workspaces",
        )
    }
    scopes = [r for r in instance.resources if r["type"] in scope_types]
    assert len(fake.seen(r"/policies/policy$")) == len(scopes)


def test_provenance_tells_who_what_and_every_request(
    collect: Collect, fake: FakeAzure, instance: Instance
) -> None:
    parts = collect()

    provenance = parts["provenance"]
    assert provenance["source"] == "azure"
    assert provenance["tool"]["name"] == "mtls-audit"
    assert provenance["identity"] == {
        "object_id": CALLER_OBJECT_ID,
        "app_id": CALLER_APP_ID,
        "tenant_id": TENANT,
    }
    assert provenance["api_versions"]["Microsoft.ApiManagement"] == "2024-05-01"
    assert provenance["scope"]["subscriptions"] == [SERVICE_ID.split("/")[2]]
    for stamp in (provenance["collected_at"], provenance["finished_at"]):
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", stamp)
    requests = provenance["requests"]
    assert len(requests) == len(fake.requests)
    arm = [r for r in requests if r["url"].startswith("/subscriptions/")]
    assert all("api-version=" in r["url"] for r in arm)
    assert all(r["request_id"] and r["duration_ms"] >= 0 for r in requests)
    challenges = [r for r in requests if r["url"].startswith("/certificates/")]
    assert [r["status"] for r in challenges].count(401) == 1


def test_a_synchronous_credential_is_accepted(
    options: Callable[..., AzureOptions], instance: Instance
) -> None:
    parts = collect_azure(options(), credential=FakeSyncCredential(TOKEN))

    assert parts["gaps"] == []
    assert SERVICE_ID.lower() in _by_id(parts["resources"])


def test_service_and_resource_group_selection(collect: Collect, instance: Instance) -> None:
    chosen = collect(services=(SERVICE.upper(),), resource_groups=("rg-mtls",))
    missing = collect(services=("apim-other",), resource_groups=("rg-mtls", "rg-none"))

    assert SERVICE_ID.lower() in _by_id(chosen["resources"])
    assert chosen["gaps"] == []
    assert {(g["kind"], g["subject"]) for g in missing["gaps"]} == {
        ("not-found", "apim-other"),
        ("not-found", "rg-none"),
    }
    assert missing["resources"] == []


def test_a_vault_url_outside_the_cloud_and_arm_is_not_contacted(
    collect: Collect, fake: FakeAzure
) -> None:
    served = build_instance(fake.url)
    elsewhere = "https://kv-elsewhere.example.net"
    for resource in served.resources:
        if resource["type"].endswith("/certificates") and "keyVault" in resource["properties"]:
            resource["properties"]["keyVault"]["secretIdentifier"] = f"{elsewhere}/secrets/c"
    fake.serve(served)

    parts = collect()

    assert not any(entry["url"].startswith(elsewhere) for entry in parts["provenance"]["requests"])
    gaps = {(g["what"], g["kind"]) for g in parts["gaps"] if g["subject"].startswith(elsewhere)}
    assert gaps == {("keyvault", "not-found"), ("keyvault-certificate", "unsupported")}


def test_verbose_logs_each_call(
    collect: Collect, instance: Instance, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="mtls_audit.sources.azure.source"):
        parts = collect(verbose=True)

    calls = [r.getMessage() for r in caplog.records if r.name == "mtls_audit.sources.azure.source"]
    assert len(calls) == len(parts["provenance"]["requests"])
    assert any(re.match(r"GET /subscriptions/\S+ 200 \d+ ms$", call) for call in calls)


def test_unreachable_endpoint_fails_collection(options: Callable[..., AzureOptions]) -> None:
    unreachable = options(arm_endpoint=unused_url(), max_retries=0)

    with pytest.raises(CollectionError, match=r"cannot reach ARM at https://127\.0\.0\.1:"):
        collect_azure(unreachable, credential=FakeSyncCredential(TOKEN))


def test_no_credential_fails_collection(options: Callable[..., AzureOptions]) -> None:
    class NoCredential:
        def get_token(self, *scopes: str, **kwargs: Any) -> Any:
            raise CredentialUnavailableError(message="no identity here")

    with pytest.raises(CollectionError, match="no Azure credential available: no identity here"):
        collect_azure(options(), credential=NoCredential())


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"subscriptions": ()}, "at least one subscription"),
        ({"subscriptions": ("../../x",)}, "not a subscription id"),
        ({"arm_endpoint": "http://127.0.0.1:1"}, "must be https"),
        ({"auth": "password"}, "auth 'password' is not one of"),
        ({"cloud": "Mars"}, "cloud 'Mars'"),
        ({"concurrency": 0}, "concurrency"),
        ({"connection_verify": "/nonexistent/ca.pem"}, "does not exist"),
        ({"services": ("bad name",)}, "not a valid API Management service name"),
    ],
)
def test_bad_options_are_refused(
    options: Callable[..., AzureOptions], overrides: dict[str, Any], message: str
) -> None:
    with pytest.raises(CollectionError, match=re.escape(message)):
        collect_azure(options(**overrides), credential=FakeSyncCredential(TOKEN))


def test_importing_the_source_loads_no_azure_sdk() -> None:
    probe = (
        "import sys, mtls_audit.sources.azure.source\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('azure', 'aiohttp')))"
    )
    repo = Path(__file__).resolve().parents[2]
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, cwd=repo
    )
    assert out.stdout.strip() == "[]"


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize("terminal", [True, False])
def test_progress_only_on_a_terminal(
    collect: Collect, instance: Instance, monkeypatch: pytest.MonkeyPatch, terminal: bool
) -> None:
    stderr = _Terminal() if terminal else io.StringIO()
    monkeypatch.setattr(sys, "stderr", stderr)

    collect(progress=True)

    assert ("collecting from Azure" in stderr.getvalue()) is terminal
