"""How an attempt is recorded when the exchange breaks off, and without in-memory key files."""

from __future__ import annotations

import http.client
import os
import ssl
from typing import Any

import pytest

from mtls_audit.probe import certificates
from mtls_audit.probe.connection import Network, _broke_off, request_attempt


def _eof() -> ssl.SSLEOFError:
    return ssl.SSLEOFError(8, "EOF occurred in violation of protocol")


@pytest.mark.parametrize(
    ("protocol", "exc", "handshake", "error"),
    [
        ("TLSv1.3", _eof(), "refused", "after the TLS 1.3 handshake"),
        ("TLSv1.3", http.client.RemoteDisconnected("closed"), "refused", "closed the connection"),
        ("TLSv1.2", _eof(), "completed", "no HTTP answer"),
        ("TLSv1.2", TimeoutError(), "completed", "no HTTP answer (timed out after 2 s)"),
    ],
)
def test_an_exchange_that_breaks_off(
    protocol: str, exc: Exception, handshake: str, error: str
) -> None:
    record: dict[str, Any] = {"handshake": "completed", "protocol": protocol}
    _broke_off(record, exc, 2.0)
    assert record["handshake"] == handshake
    assert error in record["error"]


def test_an_alert_after_the_handshake_is_a_refusal() -> None:
    alert = ssl.SSLError(1, "alert")
    alert.reason = "TLSV13_ALERT_CERTIFICATE_REQUIRED"
    record: dict[str, Any] = {"handshake": "completed", "protocol": "TLSv1.3"}
    _broke_off(record, alert, 2.0)
    assert record == {
        "handshake": "refused",
        "protocol": "TLSv1.3",
        "error": "tlsv13 alert certificate required",
    }


def test_an_answer_that_breaks_off_keeps_its_status() -> None:
    record: dict[str, Any] = {"handshake": "completed", "protocol": "TLSv1.3", "status": 200}
    _broke_off(record, _eof(), 2.0)
    assert record["handshake"] == "completed"
    assert record["error"].startswith("the answer broke off")


def test_without_in_memory_files_the_generated_certificate_is_not_used(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delattr(os, "memfd_create")
    record = request_attempt(
        "self-signed",
        Network(timeout_s=1),
        ("api.contoso.test", 443, "/", "GET"),
        certificates.self_signed(),
    )
    assert record["handshake"] == "failed"
    assert "no memfd_create" in record["error"]


def test_a_legacy_version_this_machine_will_not_offer_is_not_offered(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A security level that forbids TLS 1.0's ciphers stops the handshake before anything is
    sent: recorded as not offered, with the reason, not as the server's refusal."""
    import socket

    from mtls_audit.probe.connection import handshake_attempt

    original = ssl.SSLContext.set_ciphers

    def strict(self: ssl.SSLContext, ciphers: str) -> None:
        original(self, ciphers.replace("@SECLEVEL=0", "@SECLEVEL=5"))

    monkeypatch.setattr(ssl.SSLContext, "set_ciphers", strict)
    with socket.create_server(("127.0.0.1", 0)) as listener:
        port = listener.getsockname()[1]
        network = Network(timeout_s=2, resolve={("legacy.test", 443): ("127.0.0.1", port)})
        record = handshake_attempt("tls1.0", network, "legacy.test", 443)
    assert record["handshake"] == "not-offered"
    assert "would not offer tls1.0" in record["error"]
