"""The good certificate read from Key Vault (the fake, over HTTPS, through the real SDK)."""

from __future__ import annotations

import base64
import time
from collections.abc import Iterator
from typing import Any

import pytest
from azure.core.credentials import AccessToken
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import pkcs12

from mtls_audit.errors import InputError
from mtls_audit.probe import certificates
from mtls_audit.probe.keyvault import keyvault_certificate
from tests.live.credentials import TOKEN
from tests.live.fake_azure import FakeAzure
from tests.live.tls_material import TlsFiles, make_tls


class _Credential:
    """A synchronous credential handing out the fake's token."""

    def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        return AccessToken(TOKEN, int(time.time()) + 3600)


@pytest.fixture(scope="module")
def tls(tmp_path_factory: pytest.TempPathFactory) -> TlsFiles:
    return make_tls(tmp_path_factory.mktemp("kv-tls"))


@pytest.fixture
def vault(tls: TlsFiles, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeAzure]:
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(tls.ca))
    with FakeAzure(tls, TOKEN) as server:
        yield server


def _secret(vault: FakeAzure, name: str, content_type: str, value: str) -> None:
    vault.secrets[name] = {
        "value": value,
        "contentType": content_type,
        "id": f"{vault.url}/secrets/{name}/0123abcd",
        "attributes": {"enabled": True},
    }


def test_pfx_secret_of_the_certificate(vault: FakeAzure) -> None:
    made = certificates.self_signed()
    key = serialization.load_pem_private_key(made.pem, None)
    assert isinstance(key, ec.EllipticCurvePrivateKey)
    pfx = pkcs12.serialize_key_and_certificates(
        b"probe",
        key,
        made.certificate,
        None,
        serialization.NoEncryption(),
    )
    _secret(vault, "probe-client", "application/x-pkcs12", base64.b64encode(pfx).decode())
    good = keyvault_certificate(f"{vault.url}/certificates/probe-client", _Credential())
    assert good.thumbprint == made.thumbprint
    assert [s.path for s in vault.requests if s.authorized] == ["/secrets/probe-client/"]


def test_pem_secret_with_version(vault: FakeAzure) -> None:
    made = certificates.expired()
    _secret(vault, "pem-client", "application/x-pem-file", made.pem.decode())
    good = keyvault_certificate(f"{vault.url}/certificates/pem-client/0123abcd", _Credential())
    assert good.thumbprint == made.thumbprint
    assert vault.seen("/secrets/pem-client/0123abcd")


def test_missing_certificate_is_an_input_error(vault: FakeAzure) -> None:
    with pytest.raises(InputError, match="cannot be read from Key Vault"):
        keyvault_certificate(f"{vault.url}/certificates/absent", _Credential())


@pytest.mark.parametrize("bad", ["http://v.vault.azure.net/certificates/a", "https://v/keys/a"])
def test_not_a_certificate_id(bad: str) -> None:
    with pytest.raises(InputError, match="not a Key Vault certificate id"):
        keyvault_certificate(bad, _Credential())
