"""MTLS-IN-10 on pins that name the wrong kind of certificate, where only the certificate itself
tells what it is: its basic constraints."""

from __future__ import annotations

import base64
from typing import Any

from mtls_audit.certs.facts import thumbprint
from mtls_audit.engine.results import Status
from mtls_audit.engine.rule import Context, Options
from mtls_audit.engine.runner import evaluate
from mtls_audit.model import build_model
from tests.certs.factory import mint, mint_leaf, mint_root
from tests.rules.builder import snapshot
from tests.rules.test_rule_cases import RULES

KV = "https://kv-test.vault.azure.net"


def _policy(claim: str) -> dict[str, object]:
    value = (
        "<policies><inbound><validate-client-certificate><identities>"
        f"<identity {claim} />"
        "</identities></validate-client-certificate></inbound></policies>"
    )
    return {"path": "policies/policy", "properties": {"format": "rawxml", "value": value}}


def _judge(
    service: dict[str, object] | None, claim: str, keyvault: dict[str, Any] | None = None
) -> list[str]:
    document = snapshot(service, [_policy(claim)], keyvault=keyvault)
    results = list(evaluate(RULES["MTLS-IN-10"], Context(build_model(document), Options())))
    assert len(results) == 1
    [result] = results
    return [result.status.value, (result.severity.value if result.severity else ""), result.message]


def _store(der: bytes) -> dict[str, object]:
    encoded = base64.b64encode(der).decode("ascii")
    return {"properties": {"certificates": [{"storeName": "Root", "encodedCertificate": encoded}]}}


def test_a_self_signed_client_certificate_in_the_store_may_be_pinned_by_thumbprint() -> None:
    client = mint("CN=partner.example.org", ca=False)
    status, _, message = _judge(_store(client.der), f'thumbprint="{thumbprint(client.cert)}"')
    assert status != Status.FAIL.value, message
    assert "no client certificate carries" not in message


def test_a_root_in_the_store_pinned_as_the_client_fails_high() -> None:
    root = mint_root("CN=Partners Root,O=Example")
    status, severity, message = _judge(_store(root.der), f'thumbprint="{thumbprint(root.cert)}"')
    assert (status, severity) == (Status.FAIL.value, "high")
    assert "is the thumbprint of the CA certificate CN=Partners Root, O=Example (ca)" in message


def test_a_key_vault_certificate_says_what_it_is() -> None:
    root = mint_root("CN=Vault Root,O=Example")
    leaf = mint_leaf(root, "CN=client.example.org")
    certificates = {
        name: {"properties": {"expires_on": "2030-01-01T00:00:00Z"}, "cer": b64}
        for name, b64 in (
            ("root", base64.b64encode(root.der).decode("ascii")),
            ("leaf", base64.b64encode(leaf.der).decode("ascii")),
        )
    }
    keyvault = {KV: {"certificates": certificates}}
    as_client = _judge(None, f'thumbprint="{thumbprint(root.cert)}"', keyvault)
    assert as_client[:2] == [Status.FAIL.value, "high"]
    assert "CA certificate root (keyvault)" in as_client[2]
    as_issuer = _judge(None, f'issuer-thumbprint="{thumbprint(leaf.cert)}"', keyvault)
    assert as_issuer[:2] == [Status.FAIL.value, "high"]
    assert "leaf (keyvault), which is not a CA" in as_issuer[2]
    right = _judge(None, f'issuer-thumbprint="{thumbprint(root.cert)}"', keyvault)
    assert right[0] == Status.PASS.value, right
