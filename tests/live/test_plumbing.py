"""The collector's small parts: read budget, retry cap, URLs kept in provenance, vault refs."""

from __future__ import annotations

import asyncio
import time
from types import SimpleNamespace
from typing import Any

import pytest

from mtls_audit.sources.azure.http import Budget, CappedRetryPolicy, loggable_url, origin
from mtls_audit.sources.azure.keyvault import references, split_secret_id

ARM = "https://management.azure.com"
SUB_URL = f"{ARM}/subscriptions/3f1b6a52-8c1e-4d0a-9a57-2f0c1d3e4b5a/providers/x?api-version=1"


def _response(headers: dict[str, str]) -> Any:
    return SimpleNamespace(http_response=SimpleNamespace(headers=headers))


@pytest.mark.parametrize(
    ("headers", "wait"),
    [
        ({"Retry-After": "3600"}, 0.2),
        ({"Retry-After": "0.1"}, 0.1),
        ({"x-ms-retry-after-ms": "50000"}, 0.2),
        ({}, None),
    ],
)
def test_retry_after_is_capped(headers: dict[str, str], wait: float | None) -> None:
    policy = CappedRetryPolicy(max_retries=3, max_wait_s=0.2)

    assert policy.get_retry_after(_response(headers)) == wait
    assert policy.backoff_max == 0.2
    assert policy.total_retries == 3


def _wait_for_slot(budget: Budget, url: str) -> float:
    async def take() -> float:
        started = time.monotonic()
        async with budget.slot(url):
            return time.monotonic() - started

    return asyncio.run(take())


@pytest.mark.parametrize(
    ("status", "headers"),
    [
        (200, {"x-ms-ratelimit-remaining-subscription-reads": "0"}),
        (429, {}),
    ],
)
def test_the_read_budget_slows_down_when_arm_says_so(status: int, headers: dict[str, str]) -> None:
    budget = Budget(2, ARM, burst=50, refill_per_s=10.0)
    _wait_for_slot(budget, SUB_URL)  # creates the subscription's bucket

    budget.observe(SUB_URL, status, headers)

    assert _wait_for_slot(budget, SUB_URL) >= 0.08  # one token at 10/s


def test_key_vault_requests_do_not_spend_arm_reads() -> None:
    budget = Budget(2, ARM, burst=3, refill_per_s=0.5)
    vault = "https://kv1.vault.azure.net/certificates/a"

    waits = [_wait_for_slot(budget, vault) for _ in range(5)]
    budget.observe(vault, 429, {})

    waits.append(_wait_for_slot(budget, vault))

    assert max(waits) < 1.0  # an ARM bucket of 3 refilled at 0.5/s would stall for seconds


def test_urls_in_provenance_hide_secrets_and_keep_paging_tokens() -> None:
    url = f"{ARM}/subscriptions/s/x?api-version=1&$skiptoken=abc&sig=SECRET&code=XYZ"
    vault = "https://KV1.vault.azure.net:443/certificates/a/?api-version=7.6"

    assert loggable_url(url, ARM) == (
        "/subscriptions/s/x?api-version=1&$skiptoken=abc&sig=[redacted]&code=[redacted]"
    )
    assert loggable_url(vault, ARM) == "https://kv1.vault.azure.net/certificates/a/?api-version=7.6"


def test_origin_normalises_case_and_default_port() -> None:
    assert origin("HTTPS://Kv1.Vault.Azure.NET:443/secrets/x") == "https://kv1.vault.azure.net"
    assert origin("https://127.0.0.1:8443/x") == "https://127.0.0.1:8443"


@pytest.mark.parametrize(
    ("secret_id", "expected"),
    [
        ("https://kv1.vault.azure.net/secrets/gw", ("https://kv1.vault.azure.net", "gw")),
        ("https://KV1.vault.azure.net/secrets/gw/0123abcd", ("https://kv1.vault.azure.net", "gw")),
        ("https://kv1.vault.azure.net/certificates/gw", None),
        ("http://kv1.vault.azure.net/secrets/gw", None),
        (None, None),
    ],
)
def test_secret_identifiers(secret_id: object, expected: tuple[str, str] | None) -> None:
    assert split_secret_id(secret_id) == expected


def test_references_name_certificates_and_vaults() -> None:
    kv1, kv2 = "https://kv1.vault.azure.net", "https://kv2.vault.azure.net"
    resources = [
        {
            "type": "Microsoft.ApiManagement/service",
            "properties": {"hostnameConfigurations": [{"keyVaultId": f"{kv1}/secrets/gw/01"}]},
        },
        {
            "type": "Microsoft.ApiManagement/service/certificates",
            "properties": {"keyVault": {"secretIdentifier": f"{kv1}/secrets/client"}},
        },
        {
            "type": "Microsoft.ApiManagement/service/namedValues",
            "properties": {"keyVault": {"secretIdentifier": f"{kv2}/secrets/api-key"}},
        },
        {"type": "Microsoft.ApiManagement/service/backends", "properties": {}},
    ]

    assert references(resources) == {kv1: {"gw", "client"}, kv2: set()}
