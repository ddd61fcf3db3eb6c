"""One TLS attempt against a host: open the connection (``--resolve``, proxies), shake hands,
send one request, and record what came back as data (never an exception).

Two kinds of attempt:

* :func:`request_attempt` — a full HTTPS request over Python's ``ssl``, verifying the gateway's
  server certificate against ``REQUESTS_CA_BUNDLE`` (or the system store): the status, the
  negotiated protocol and cipher, the response headers that disclose the certificate presented.
  Redirects are never followed (``http.client`` does not follow them).
* :func:`handshake_attempt` — a handshake only, driven through memory buffers so that the bytes
  the server sends can be read. With TLS 1.2 and earlier the server's handshake messages travel
  in clear up to ChangeCipherSpec, so a ``CertificateRequest`` (handshake type 13) is seen as it
  is sent: that is how the probe knows whether the server asked for a certificate. (TLS 1.3
  encrypts that message, which is why this reading is done over TLS 1.2.) Nothing is sent after
  the handshake, so the server certificate is not verified here.
"""

from __future__ import annotations

import http.client
import socket
import ssl
import urllib.request
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from mtls_audit import __version__
from mtls_audit.probe.certificates import ClientCertificate
from mtls_audit.probe.disclosure import disclosures

Record = dict[str, Any]
_HANDSHAKE, _CHANGE_CIPHER_SPEC = 22, 20
_CERTIFICATE_REQUEST, _SERVER_HELLO_DONE = 13, 14
_BODY_LIMIT = 64 * 1024
LEGACY = {"tls1.0": ssl.TLSVersion.TLSv1, "tls1.1": ssl.TLSVersion.TLSv1_1}


@dataclass(frozen=True)
class Network:
    """How to reach hosts: per-attempt timeout, curl-style ``--resolve`` / ``--connect-to``
    overrides (``(host, port)`` → ``(address, port)``), the CA bundle
    that verifies the gateway (``REQUESTS_CA_BUNDLE`` when set), and extra request headers
    (a subscription key: sent, never recorded)."""

    timeout_s: float = 10.0
    resolve: Mapping[tuple[str, int], tuple[str, int]] = field(default_factory=dict)
    ca_file: str | None = None
    headers: Mapping[str, str] = field(default_factory=dict)

    def connect(self, host: str, port: int) -> socket.socket:
        proxy = _proxy_for(host)
        if proxy is not None:
            tunnel = http.client.HTTPConnection(*proxy, timeout=self.timeout_s)
            tunnel.set_tunnel(host, port)
            try:
                tunnel.connect()
            except OSError:
                tunnel.close()
                raise
            sock, tunnel.sock = tunnel.sock, None
            if sock is None:  # pragma: no cover - connect() sets it or raises
                raise ConnectionError("the proxy gave no connection")
            return sock
        address = self.resolve.get((host.lower(), port), (host, port))
        return socket.create_connection(address, timeout=self.timeout_s)

    def context(self, client: ClientCertificate | None = None) -> ssl.SSLContext:
        """A context that verifies the gateway and presents ``client`` if given."""
        context = ssl.create_default_context(cafile=self.ca_file)
        if client is not None:
            client.load_into(context)
        return context


def _proxy_for(host: str) -> tuple[str, int] | None:
    """The HTTPS proxy the environment names for ``host`` (``HTTPS_PROXY``, ``NO_PROXY``)."""
    url = urllib.request.getproxies().get("https")
    if not url or urllib.request.proxy_bypass(host):
        return None
    parts = urlsplit(url if "://" in url else f"http://{url}")
    if not parts.hostname:
        return None
    return parts.hostname, parts.port or 80


def stamp() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _failed(record: Record, state: str, reason: str) -> Record:
    record.update(handshake=state, error=reason)
    return record


def _network_error(exc: OSError, timeout_s: float) -> str:
    if isinstance(exc, socket.gaierror):
        return f"the name could not be resolved ({exc.strerror or exc})"
    if isinstance(exc, TimeoutError):
        return f"timed out after {timeout_s:g} s"
    if isinstance(exc, ssl.SSLCertVerificationError):
        return f"the gateway's server certificate is not trusted ({exc.verify_message})"
    if isinstance(exc, ssl.SSLError):
        return _tls_error(exc)
    return f"{type(exc).__name__}: {exc.strerror or exc}"


def _is_refusal(exc: OSError) -> bool:
    """The server refused: a TLS alert from it, or it closed the connection mid-handshake."""
    if isinstance(exc, ssl.SSLCertVerificationError):
        return False
    if isinstance(exc, ssl.SSLEOFError | ConnectionResetError | ConnectionAbortedError):
        return True
    reason = getattr(exc, "reason", None) or ""
    return "ALERT" in reason or reason == "UNSUPPORTED_PROTOCOL"


def _tls_error(exc: OSError) -> str:
    reason = getattr(exc, "reason", None)
    if isinstance(exc, ssl.SSLError) and reason:
        return str(reason).lower().replace("_", " ")
    if isinstance(exc, ssl.SSLEOFError | ConnectionResetError | ConnectionAbortedError):
        return "the server closed the connection"
    return str(exc)


def request_attempt(
    kind: str,
    network: Network,
    url: tuple[str, int, str, str],
    client: ClientCertificate | None,
) -> Record:
    """Call ``(host, port, path, method)`` once over a fresh TLS connection."""
    host, port, path, method = url
    record: Record = {"kind": kind, "at": stamp()}
    if client is not None:
        record["presented"] = client.thumbprint
    try:
        context = network.context(client)
    except Exception as exc:
        return _failed(record, "failed", f"the client certificate could not be loaded: {exc}")
    try:
        sock = network.connect(host, port)
    except OSError as exc:
        return _failed(record, "failed", _network_error(exc, network.timeout_s))
    try:
        tls = context.wrap_socket(sock, server_hostname=host)
    except OSError as exc:
        sock.close()
        if _is_refusal(exc):
            return _failed(record, "refused", _tls_error(exc))
        return _failed(record, "failed", _network_error(exc, network.timeout_s))
    with tls:
        cipher = tls.cipher()
        record.update(handshake="completed", protocol=tls.version(), cipher=cipher and cipher[0])
        connection = http.client.HTTPSConnection(host, port, timeout=network.timeout_s)
        connection.sock = tls
        headers = {
            "User-Agent": f"mtls-audit-probe/{__version__}",
            "Accept": "*/*",
            "Connection": "close",
            **network.headers,
        }
        try:
            connection.request(method, path, headers=headers)
            response = connection.getresponse()
            record["status"] = response.status
            found = disclosures(response.getheaders(), client.certificate if client else None)
            if found:
                record["disclosures"] = found
            response.read(_BODY_LIMIT)
        except (OSError, http.client.HTTPException) as exc:
            _broke_off(record, exc, network.timeout_s)
    return record


def _broke_off(record: Record, exc: Exception, timeout_s: float) -> None:
    """Record an exchange that ended without a whole answer.

    In TLS 1.3 the client's handshake ends before the server has judged the client's
    certificate, so a refusal arrives when the answer is read: a TLS alert, or the connection
    closed (or reset) with nothing said. Both count as refused there; in earlier versions the
    server judged the certificate during the handshake, so a connection that closes afterwards
    is only "no answer".
    """
    if "status" in record:
        record["error"] = f"the answer broke off: {_describe(exc, timeout_s)}"
        return
    alert = "ALERT" in (getattr(exc, "reason", None) or "")
    # (http.client's RemoteDisconnected is a ConnectionResetError.)
    closed = isinstance(exc, ssl.SSLEOFError | ConnectionResetError | ConnectionAbortedError)
    if alert or (closed and record.get("protocol") == "TLSv1.3"):
        how = "" if alert else " after the TLS 1.3 handshake, without answering"
        record.update(handshake="refused", error=f"{_describe(exc, timeout_s)}{how}")
    else:
        record["error"] = f"no HTTP answer ({_describe(exc, timeout_s)})"


def _describe(exc: Exception, timeout_s: float) -> str:
    if isinstance(exc, http.client.RemoteDisconnected):
        return "the server closed the connection"
    if isinstance(exc, OSError):
        return _network_error(exc, timeout_s)
    return type(exc).__name__


class _HandshakeReader:
    """Reads the server's handshake messages while they are in clear (TLS 1.2 and earlier)."""

    def __init__(self) -> None:
        self._records = b""
        self._messages = b""
        self._clear = True
        self.seen: set[int] = set()

    def feed(self, data: bytes) -> None:
        self._records += data
        while self._clear and len(self._records) >= 5:
            kind, length = self._records[0], int.from_bytes(self._records[3:5], "big")
            if len(self._records) < 5 + length:
                return
            body, self._records = self._records[5 : 5 + length], self._records[5 + length :]
            if kind == _CHANGE_CIPHER_SPEC:
                self._clear = False  # what follows is encrypted
            if kind != _HANDSHAKE:
                continue
            self._messages += body
            while len(self._messages) >= 4:
                size = int.from_bytes(self._messages[1:4], "big")
                if len(self._messages) < 4 + size:
                    break
                self.seen.add(self._messages[0])
                self._messages = self._messages[4 + size :]

    @property
    def certificate_requested(self) -> bool | None:
        """Whether a CertificateRequest came before ServerHelloDone; None if the flight was not
        read to its end."""
        if _CERTIFICATE_REQUEST in self.seen:
            return True
        return False if _SERVER_HELLO_DONE in self.seen else None


def handshake_attempt(kind: str, network: Network, host: str, port: int) -> Record:
    """A handshake only: TLS 1.2 read for a CertificateRequest, or a legacy version offered."""
    record: Record = {"kind": kind, "at": stamp()}
    version = LEGACY.get(kind, ssl.TLSVersion.TLSv1_2)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE  # nothing is sent after the handshake
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # TLS 1.0/1.1 are deprecated names
        try:
            context.minimum_version = context.maximum_version = version
            if kind in LEGACY:
                context.set_ciphers("DEFAULT:@SECLEVEL=0")
        except (ValueError, ssl.SSLError) as exc:
            return _failed(record, "not-offered", f"this machine cannot offer {kind}: {exc}")
    try:
        sock = network.connect(host, port)
    except OSError as exc:
        return _failed(record, "failed", _network_error(exc, network.timeout_s))
    reader = _HandshakeReader()
    with sock:
        sent = _drive(context, sock, host, reader, record, network.timeout_s)
    if kind == "certificate-request":
        record["certificate_requested"] = reader.certificate_requested
    if record.get("handshake") == "failed" and not sent:
        record["handshake"] = "not-offered"
        record["error"] = (
            f"this machine's OpenSSL would not offer {kind} ({record['error']}); its security "
            "level or configuration may forbid it"
        )
    return record


def _drive(
    context: ssl.SSLContext,
    sock: socket.socket,
    host: str,
    reader: _HandshakeReader,
    record: Record,
    timeout_s: float,
) -> int:
    """Run the handshake through memory buffers, feeding what the server sends to ``reader``.
    Returns the number of bytes sent."""
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    tls = context.wrap_bio(incoming, outgoing, server_hostname=host)
    sent = 0
    try:
        while True:
            try:
                tls.do_handshake()
                break
            except ssl.SSLWantReadError:
                data = outgoing.read()
                if data:
                    sock.sendall(data)
                    sent += len(data)
                chunk = sock.recv(16384)
                if not chunk:
                    raise ConnectionResetError("closed") from None
                reader.feed(chunk)
                incoming.write(chunk)
        sock.sendall(outgoing.read())
        cipher = tls.cipher()
        record.update(handshake="completed", protocol=tls.version(), cipher=cipher and cipher[0])
    except OSError as exc:  # what OpenSSL left in ``outgoing`` (an alert) was never sent
        if sent and _is_refusal(exc):
            _failed(record, "refused", _tls_error(exc))
        else:
            _failed(record, "failed", _network_error(exc, timeout_s))
    return sent
