"""Honesty under failure: throttling, server errors, refusals, timeouts and hostile nextLinks
become bounded retries and named gaps, never silence or a hang."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from typing import Any

import pytest

from .conftest import Collect
from .credentials import TOKEN
from .fake_azure import FakeAzure, Fault, unused_url
from .instance import SERVICE_ID, VAULT_ID, Instance, build_instance
from .tls_material import TlsFiles

BACKENDS = r"/service/apim-mtls/backends$"


def _assert_log_complete(parts: dict[str, Any], fake: FakeAzure) -> None:
    """Every request the fake saw is in the log, and every answered one in the log reached the
    fake. A request the collector gave up on (no status) may have timed out before the fake read
    it, which a loaded host makes happen to any request; with no such request the two are equal.
    """
    log = parts["provenance"]["requests"]
    answered = [r for r in log if r["status"] is not None]
    assert len(answered) <= len(fake.requests) <= len(log)


@pytest.fixture
def foreign(tls: TlsFiles) -> Iterator[FakeAzure]:
    with FakeAzure(tls, TOKEN) as server:
        yield server


def test_a_429_storm_is_retried_a_bounded_number_of_times_with_retry_after_capped(
    collect: Collect, fake: FakeAzure, instance: Instance
) -> None:
    fake.faults.append(Fault(BACKENDS, status=429, headers={"Retry-After": "30"}))

    started = time.monotonic()
    parts = collect(max_retries=3, max_retry_after_s=0.05)
    elapsed = time.monotonic() - started

    assert elapsed < 10  # one honoured Retry-After alone would be 30 s
    assert len(fake.seen(BACKENDS)) == 4
    (gap,) = parts["gaps"]
    assert gap | {"message": None} == {
        "kind": "throttled",
        "subject": SERVICE_ID,
        "what": "backends",
        "status": 429,
        "code": "Injected",
        "request_id": gap["request_id"],
        "message": None,
        "scope": {"service": SERVICE_ID},
    }
    assert gap["request_id"]
    _assert_log_complete(parts, fake)


def test_a_short_429_storm_is_ridden_out(
    collect: Collect, fake: FakeAzure, instance: Instance
) -> None:
    fake.faults.append(Fault(BACKENDS, status=429, times=2, headers={"Retry-After": "30"}))

    parts = collect(max_retries=3)

    assert parts["gaps"] == []
    assert len(fake.seen(BACKENDS)) == 3
    _assert_log_complete(parts, fake)


def test_503s_then_success_leave_no_gap(
    collect: Collect, fake: FakeAzure, instance: Instance
) -> None:
    fake.faults.append(Fault(r"/namedValues$", status=503, times=2))

    parts = collect(max_retries=3)

    assert parts["gaps"] == []
    assert len(fake.seen(r"/namedValues$")) == 3
    named_values = [r for r in parts["resources"] if r["type"].endswith("/namedValues")]
    assert len(named_values) == 3


def test_503_forever_is_a_server_error_gap(
    collect: Collect, fake: FakeAzure, instance: Instance
) -> None:
    fake.faults.append(Fault(BACKENDS, status=503))

    parts = collect(max_retries=2)

    (gap,) = parts["gaps"]
    assert (gap["kind"], gap["status"], gap["subject"]) == ("server-error", 503, SERVICE_ID)
    assert len(fake.seen(BACKENDS)) == 3
    assert not [r for r in parts["resources"] if r["type"].endswith("/backends")]
    _assert_log_complete(parts, fake)


def test_403_on_key_vault_names_the_permission(
    collect: Collect, fake: FakeAzure, instance: Instance
) -> None:
    fake.faults.append(
        Fault(r"^/certificates/gateway-cert", status=403, code="Forbidden", after_auth=True)
    )

    parts = collect()

    (gap,) = parts["gaps"]
    assert gap["kind"] == "forbidden"
    assert gap["what"] == "keyvault-certificate"
    assert gap["subject"] == f"{instance.vault_url}/certificates/gateway-cert"
    assert gap["status"] == 403
    assert "Key Vault Certificate User" in gap["message"]
    assert "access policy" in gap["message"]
    assert set(parts["keyvault"][instance.vault_url]["certificates"]) == {"client-kv"}


def test_403_on_role_assignments_names_the_permission(
    collect: Collect, fake: FakeAzure, instance: Instance
) -> None:
    fake.faults.append(Fault(r"/roleAssignments$", status=403, code="AuthorizationFailed"))

    parts = collect()

    (gap,) = parts["gaps"]
    assert (gap["kind"], gap["what"], gap["subject"]) == ("forbidden", "role-assignments", VAULT_ID)
    assert gap["code"] == "AuthorizationFailed"
    assert "needs Microsoft.Authorization/roleAssignments/read at the vault scope" in gap["message"]
    assert not [r for r in parts["resources"] if r["type"].startswith("Microsoft.Authorization")]


def test_a_next_link_to_a_foreign_host_is_refused(
    collect: Collect, fake: FakeAzure, foreign: FakeAzure, instance: Instance
) -> None:
    fake.page_size = 2
    fake.foreign_next_links[r"/service/apim-mtls/apis$"] = foreign.url

    parts = collect()

    assert foreign.requests == []
    (gap,) = parts["gaps"]
    assert (gap["kind"], gap["what"], gap["subject"]) == ("foreign-next-link", "apis", SERVICE_ID)
    assert foreign.url in gap["message"]
    apis = [r["name"] for r in parts["resources"] if r["type"].endswith("/service/apis")]
    assert apis == ["api-0", "api-1"]
    _assert_log_complete(parts, fake)


def test_a_slow_endpoint_times_out_into_a_gap(
    collect: Collect, fake: FakeAzure, instance: Instance
) -> None:
    # A timeout with room for a TLS handshake on a loaded host, so that other requests do not
    # time out twice into gaps of their own.
    fake.faults.append(Fault(BACKENDS, delay_s=3.0))

    started = time.monotonic()
    parts = collect(timeout_s=0.5, max_retries=1)
    elapsed = time.monotonic() - started

    (gap,) = parts["gaps"]
    assert (gap["kind"], gap["what"], gap["subject"]) == ("timeout", "backends", SERVICE_ID)
    assert elapsed < 3.0
    # The backends listing and its one retry; a loaded host may slow another request too.
    timed_out = [
        r
        for r in parts["provenance"]["requests"]
        if r["status"] is None and re.search(BACKENDS, r["url"].split("?")[0])
    ]
    assert len(timed_out) == 2
    _assert_log_complete(parts, fake)


def test_the_collector_never_writes_even_when_the_sdk_would(
    collect: Collect, fake: FakeAzure, instance: Instance
) -> None:
    """ARM's auto-registration policy would answer this 409 with a POST .../register: it is
    taken out of the clients' pipelines, and the guard would refuse the POST anyway."""
    message = "The subscription is not registered to use namespace 'Microsoft.ApiManagement'."
    fake.faults.append(
        Fault(BACKENDS, status=409, code="MissingSubscriptionRegistration", message=message)
    )

    parts = collect()

    assert {s.method for s in fake.requests} == {"GET"}
    (gap,) = parts["gaps"]
    assert (gap["kind"], gap["status"], gap["code"]) == (
        "request-failed",
        409,
        "MissingSubscriptionRegistration",
    )
    assert not fake.seen(r"/register$")


def test_a_vault_that_cannot_be_reached_is_a_gap_whose_message_is_stable(
    collect: Collect, fake: FakeAzure
) -> None:
    unreachable = build_instance(unused_url())
    fake.serve(unreachable)

    parts = collect(max_retries=0)

    gaps = [g for g in parts["gaps"] if g["what"] == "keyvault-certificate"]
    assert {g["subject"].rsplit("/", 1)[-1] for g in gaps} == {"gateway-cert", "client-kv"}
    for gap in gaps:
        assert gap["scope"] == {"vault": unreachable.vault_url}
        assert "Cannot connect to host" in gap["message"]
        assert "object at 0x" not in gap["message"]  # aiohttp names the TLS context by address
