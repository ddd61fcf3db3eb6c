"""Secrets the fake serves (and the token itself) never reach the snapshot or any log."""

from __future__ import annotations

import json
import logging

import pytest

from .conftest import Collect
from .credentials import TOKEN
from .fake_azure import FakeAzure
from .instance import PLANTED_SECRETS, build_instance


def test_planted_secrets_stay_out_of_snapshot_and_logs(
    collect: Collect, fake: FakeAzure, caplog: pytest.LogCaptureFixture
) -> None:
    served = build_instance(fake.url, plant_secrets=True)
    fake.serve(served)
    served_text = json.dumps(served.resources)
    assert all(secret in served_text for secret in PLANTED_SECRETS)  # the fake does serve them

    with caplog.at_level(logging.DEBUG):
        parts = collect(verbose=True)

    assert parts["gaps"] == []
    snapshot_text = json.dumps(parts)
    log_text = caplog.text + "\n".join(record.getMessage() for record in caplog.records)
    assert caplog.records  # the run did log (each call, and the SDK's own HTTP log)
    token_payload = TOKEN.split(".")[1]
    for secret in (*PLANTED_SECRETS, TOKEN, token_payload):
        assert secret not in snapshot_text
        assert secret not in log_text


def test_redaction_keeps_what_is_not_secret(collect: Collect, fake: FakeAzure) -> None:
    fake.serve(build_instance(fake.url, plant_secrets=True))

    parts = collect()

    found = {(r["type"].rsplit("/", 1)[1], r["name"]): r["properties"] for r in parts["resources"]}
    assert found["namedValues", "plain"]["value"] == "weu"
    assert found["namedValues", "secret"]["value"] == "[redacted]"  # hidden, not dropped
    assert found["namedValues", "secret"]["secret"] is True
    assert found["certificates", "uploaded-ca"]["thumbprint"] == "11" * 20
    backend = found["backends", "patients-backend"]
    assert backend["credentials"]["authorization"] == {"scheme": "Basic", "parameter": "[redacted]"}
    assert backend["proxy"] == {"url": "http://proxy.contoso.example", "password": "[redacted]"}
    assert found["subscriptions", "team-a"]["allowTracing"] is False
    assert parts["provenance"]["redactions"] == {
        "backend-credential": 1,
        "data": 1,
        "named-value-secret": 1,
        "password": 2,
        "primarykey": 1,
        "secondarykey": 1,
    }
