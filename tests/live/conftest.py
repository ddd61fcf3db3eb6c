"""Fixtures of the live-collection tests: TLS material, the fake Azure, and a collect helper."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from mtls_audit.sources.azure.source import AzureOptions, collect_azure

from .credentials import TOKEN, FakeCredential, fake_jwt
from .fake_azure import FakeAzure
from .instance import SUBSCRIPTION, TENANT, Instance, build_instance
from .tls_material import TlsFiles, make_tls

Collect = Callable[..., dict[str, Any]]


@pytest.fixture(scope="session")
def tls(tmp_path_factory: pytest.TempPathFactory) -> TlsFiles:
    return make_tls(tmp_path_factory.mktemp("tls"))


@pytest.fixture
def fake(tls: TlsFiles) -> Iterator[FakeAzure]:
    with FakeAzure(tls, TOKEN) as server:
        yield server


@pytest.fixture
def instance(fake: FakeAzure) -> Instance:
    served = build_instance(fake.url)
    fake.serve(served)
    return served


@pytest.fixture
def options(fake: FakeAzure, tls: TlsFiles) -> Callable[..., AzureOptions]:
    """Options for the fake, with test-sized timeouts and caps; keywords override."""

    def make(**overrides: Any) -> AzureOptions:
        settings: dict[str, Any] = {
            "subscriptions": (SUBSCRIPTION,),
            "arm_endpoint": fake.url,
            "connection_verify": str(tls.ca),
            "timeout_s": 2.0,
            "max_retries": 2,
            "max_retry_after_s": 0.05,
        }
        return AzureOptions(**{**settings, **overrides})

    return make


@pytest.fixture
def collect(options: Callable[..., AzureOptions]) -> Collect:
    """Collect from the fake with a fake credential; keywords override the options."""

    def run(**overrides: Any) -> dict[str, Any]:
        return collect_azure(options(**overrides), credential=FakeCredential(TOKEN))

    return run


@pytest.fixture
def workload_identity(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fake: FakeAzure) -> None:
    """Workload identity configured as in a Kubernetes pod, against the fake as authority."""
    assertion = tmp_path / "federated-token"
    assertion.write_text(fake_jwt({"sub": "system:serviceaccount:audit:mtls-audit"}))
    monkeypatch.setenv("AZURE_AUTHORITY_HOST", fake.url)
    monkeypatch.setenv("AZURE_TENANT_ID", TENANT)
    monkeypatch.setenv("AZURE_CLIENT_ID", "0f9e8d7c-6b5a-4c3d-9e2f-1a0b9c8d7e6f")
    monkeypatch.setenv("AZURE_FEDERATED_TOKEN_FILE", str(assertion))
