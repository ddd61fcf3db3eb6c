"""Known clouds and custom ones: the ARM endpoint, token audience, authority and Key Vault domain
change together, and AZURE_AUTHORITY_HOST is honoured."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from mtls_audit.errors import CollectionError
from mtls_audit.sources.azure.auth import resolve_endpoints
from mtls_audit.sources.azure.source import AzureOptions, collect_azure

from .credentials import TOKEN, FakeCredential
from .fake_azure import FakeAzure
from .instance import Instance


@pytest.fixture(autouse=True)
def _no_authority_in_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AZURE_AUTHORITY_HOST", raising=False)


@pytest.mark.parametrize(
    ("cloud", "arm", "authority", "suffix"),
    [
        (
            "AzureCloud",
            "https://management.azure.com",
            "https://login.microsoftonline.com",
            ".vault.azure.net",
        ),
        (
            "AzureUSGovernment",
            "https://management.usgovcloudapi.net",
            "https://login.microsoftonline.us",
            ".vault.usgovcloudapi.net",
        ),
        (
            "AzureChinaCloud",
            "https://management.chinacloudapi.cn",
            "https://login.chinacloudapi.cn",
            ".vault.azure.cn",
        ),
    ],
)
def test_a_known_cloud_is_standard(cloud: str, arm: str, authority: str, suffix: str) -> None:
    endpoints = resolve_endpoints(cloud, None)
    assert (endpoints.cloud, endpoints.arm_endpoint, endpoints.arm_scope) == (
        cloud,
        arm,
        f"{arm}/.default",
    )
    assert (endpoints.authority_host, endpoints.keyvault_suffix) == (authority, suffix)
    assert endpoints.standard


def test_the_arm_endpoint_of_a_known_cloud_brings_its_authority_and_vault_domain() -> None:
    endpoints = resolve_endpoints("AzureCloud", "https://management.usgovcloudapi.net/")
    assert endpoints.cloud == "AzureUSGovernment"
    assert endpoints.arm_scope == "https://management.usgovcloudapi.net/.default"
    assert endpoints.authority_host == "https://login.microsoftonline.us"
    assert endpoints.keyvault_suffix == ".vault.usgovcloudapi.net"
    assert endpoints.standard


def test_a_custom_arm_endpoint_is_its_own_audience_and_trusts_no_vault_domain() -> None:
    endpoints = resolve_endpoints("AzureCloud", "https://management.contoso.example")
    assert endpoints.cloud == "custom"
    assert endpoints.arm_scope == "https://management.contoso.example/.default"
    assert endpoints.keyvault_suffix is None
    assert not endpoints.standard
    with_domain = resolve_endpoints(
        "AzureCloud", "https://management.contoso.example", keyvault_suffix="vault.contoso.example"
    )
    assert with_domain.keyvault_suffix == ".vault.contoso.example"


def test_azure_authority_host_is_honoured_and_an_option_wins(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("AZURE_AUTHORITY_HOST", "https://login.contoso.example/")
    assert resolve_endpoints("AzureCloud", None).authority_host == "https://login.contoso.example"
    assert not resolve_endpoints("AzureCloud", None).standard
    chosen = resolve_endpoints("AzureCloud", None, authority_host="login.other.example")
    assert chosen.authority_host == "https://login.other.example"


def test_the_arm_token_is_asked_for_the_endpoint_s_audience(
    options: Callable[..., AzureOptions], fake: FakeAzure, instance: Instance
) -> None:
    credential = FakeCredential(TOKEN)

    collect_azure(options(), credential=credential)

    assert (f"{fake.url}/.default",) in credential.scopes
    assert ("https://vault.azure.net/.default",) in credential.scopes  # from the vault's challenge


@pytest.mark.parametrize(
    ("overrides", "words"),
    [
        ({"authority_host": "http://login.contoso.example"}, "authority"),
        ({"keyvault_suffix": "not a domain"}, "Key Vault domain"),
        ({"deadline_s": 0}, "deadline must be positive"),
    ],
)
def test_bad_endpoints_and_bounds_are_refused_before_anything_is_sent(
    options: Callable[..., AzureOptions], fake: FakeAzure, overrides: dict[str, object], words: str
) -> None:
    with pytest.raises(CollectionError, match=words):
        collect_azure(options(**overrides), credential=FakeCredential(TOKEN))
    assert fake.requests == []
