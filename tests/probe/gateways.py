"""Local TLS servers that behave like correct and broken API gateways, for the probe's tests.

Each runs Python's ``ssl`` in a thread on 127.0.0.1 with a server certificate for
``api.contoso.test`` and ``apim-test.azure-api.net`` from a throw-away CA, and trusts a
throw-away client CA whose leaf is the "good" certificate.
"""

from __future__ import annotations

import datetime as dt
import http.server
import ipaddress
import socket
import ssl
import threading
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

HOSTS = ("api.contoso.test", "apim-test.azure-api.net")


@dataclass(frozen=True)
class Behaviour:
    """``request``: ask for a client certificate; ``through``: answer 200 without one;
    ``legacy``: accept TLS 1.0 and 1.1; ``echo``: put the thumbprint in a response header."""

    request: bool = True
    through: bool = False
    legacy: bool = False
    echo: bool = False


CORRECT = Behaviour()
BROKEN = Behaviour(through=True)
NO_REQUEST = Behaviour(request=False, through=True)
LEGACY = Behaviour(legacy=True)
ECHO = Behaviour(echo=True)


@dataclass(frozen=True)
class Material:
    server_ca: Path
    server_chain: Path
    client_ca: Path
    good_cert: Path
    good_key: Path


def _cert(
    name: str,
    key: ec.EllipticCurvePrivateKey,
    issuer: x509.Name | None,
    signer: ec.EllipticCurvePrivateKey,
    *,
    ca: bool,
    sans: tuple[str, ...] = (),
) -> x509.Certificate:
    now = dt.datetime.now(dt.UTC)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer or subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(hours=1))
        .not_valid_after(now + dt.timedelta(days=2))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if sans:
        names: list[x509.GeneralName] = [x509.DNSName(s) for s in sans]
        names.append(x509.IPAddress(ipaddress.ip_address("127.0.0.1")))
        builder = builder.add_extension(x509.SubjectAlternativeName(names), critical=False)
    return builder.sign(signer, hashes.SHA256())


def make_material(folder: Path) -> Material:
    """Throw-away CAs, the gateway's server certificate and the good client certificate."""
    pem = serialization.Encoding.PEM

    def key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
        return key.private_bytes(
            pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )

    server_ca_key, server_key = (
        ec.generate_private_key(ec.SECP256R1()),
        ec.generate_private_key(ec.SECP256R1()),
    )
    server_ca = _cert("Test Gateway CA", server_ca_key, None, server_ca_key, ca=True)
    server = _cert("gateway", server_key, server_ca.subject, server_ca_key, ca=False, sans=HOSTS)
    client_ca_key, client_key = (
        ec.generate_private_key(ec.SECP256R1()),
        ec.generate_private_key(ec.SECP256R1()),
    )
    client_ca = _cert("Test Client CA", client_ca_key, None, client_ca_key, ca=True)
    client = _cert("good-client-0001", client_key, client_ca.subject, client_ca_key, ca=False)
    files = Material(
        folder / "server-ca.pem",
        folder / "server.pem",
        folder / "client-ca.pem",
        folder / "client.pem",
        folder / "client.key",
    )
    files.server_ca.write_bytes(server_ca.public_bytes(pem))
    files.server_chain.write_bytes(server.public_bytes(pem) + key_pem(server_key))
    files.client_ca.write_bytes(client_ca.public_bytes(pem))
    files.good_cert.write_bytes(client.public_bytes(pem))
    files.good_key.write_bytes(key_pem(client_key))
    return files


class _Handler(http.server.BaseHTTPRequestHandler):
    behaviour: Behaviour

    def log_message(self, format: str, *args: object) -> None:
        return

    def _answer(self) -> None:
        der = self.connection.getpeercert(binary_form=True)
        status = 200 if der or self.behaviour.through else 403
        self.send_response(status)
        if der and self.behaviour.echo:
            thumbprint = x509.load_der_x509_certificate(der).fingerprint(hashes.SHA1())
            self.send_header("X-Client-Thumbprint", thumbprint.hex().upper())
        self.send_header("Content-Length", "0")
        self.end_headers()

    do_GET = do_HEAD = do_OPTIONS = _answer


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, behaviour: Behaviour, material: Material) -> None:
        handler = type("Handler", (_Handler,), {"behaviour": behaviour})
        super().__init__(("127.0.0.1", 0), handler)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(material.server_chain)
        if behaviour.legacy:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", DeprecationWarning)
                context.minimum_version = ssl.TLSVersion.TLSv1
            context.set_ciphers("DEFAULT:@SECLEVEL=0")
        if behaviour.request:
            context.verify_mode = ssl.CERT_OPTIONAL
            context.load_verify_locations(material.client_ca)
        self.context = context

    def get_request(self) -> tuple[socket.socket, Any]:
        sock, address = super().get_request()
        wrapped = self.context.wrap_socket(sock, server_side=True, do_handshake_on_connect=False)
        return wrapped, address

    def finish_request(
        self, request: socket.socket | tuple[bytes, socket.socket], client_address: Any
    ) -> None:
        try:
            if isinstance(request, ssl.SSLSocket):
                request.do_handshake()
        except OSError:
            return  # the client's certificate (or protocol) was refused: the alert is sent
        super().finish_request(request, client_address)

    def handle_error(self, request: object, client_address: object) -> None:
        return  # a client that breaks off is part of what these servers are for


@contextmanager
def gateway(behaviour: Behaviour, material: Material) -> Iterator[int]:
    """Serve as ``behaviour``; yields the port."""
    server = _Server(behaviour, material)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
