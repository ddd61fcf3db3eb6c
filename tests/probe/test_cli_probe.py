"""``scan --probe`` and ``probe`` end to end, against a local gateway reached by --connect-to."""

from __future__ import annotations

import json
import socket
import threading
from pathlib import Path
from typing import Any

import click
import pytest

from mtls_audit.cli_probe import ProbeOptions, probe_settings
from mtls_audit.errors import InputError
from mtls_audit.probe.run import _Pacer
from tests.cli.test_cli import run_cli
from tests.probe import gateways
from tests.probe.gateways import Material


def _route(port: int) -> list[str]:
    return [a for host in gateways.HOSTS for a in ("--connect-to", f"{host}:443:127.0.0.1:{port}")]


def _results(out: Path) -> dict[str, list[dict[str, Any]]]:
    evidence = json.loads((out / "evidence.json").read_text("utf-8"))
    found: dict[str, list[dict[str, Any]]] = {}
    for result in evidence["results"]:
        if result["rule_id"].startswith("MTLS-PROBE"):
            found.setdefault(result["rule_id"], []).append(result)
    return found


def test_scan_probe_adds_operating_effectiveness_to_the_evidence(
    material: Material,
    resources_file: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(material.server_ca))
    out = tmp_path / "out"
    with gateways.gateway(gateways.BROKEN, material) as port:
        code, _, err = run_cli(
            [
                "scan",
                "--from-file",
                str(resources_file),
                "--probe",
                *_route(port),
                "--client-cert",
                str(material.good_cert),
                "--client-key",
                str(material.good_key),
                "--probe-interval",
                "0",
                "--format",
                "json,html",
                "--out",
                str(out),
            ],
            capsys,
        )
    assert code == 1, err
    assert "probe https://api.contoso.test/echo/res: no-certificate 200" in err
    results = _results(out)
    assert [r["status"] for r in results["MTLS-PROBE-01"]] == ["fail"]
    disagreement = results["MTLS-PROBE-08"][0]
    assert disagreement["status"] == "fail"
    assert (
        "the configuration says validated by <validate-client-certificate>"
        in (disagreement["message"])
    )
    assert "answered HTTP 200" in disagreement["message"]
    assert [r["status"] for r in results["MTLS-PROBE-04"]] == ["pass"]
    snapshot = json.loads((out / "snapshot.json").read_text("utf-8"))
    assert snapshot["probe"]["targets"][0]["attempts"][0]["status"] == 200
    html = (out / "report.html").read_text("utf-8")
    assert "Operating effectiveness" in html
    assert "https://api.contoso.test/echo/res" in html
    # No private key in anything written: the good key's PEM body is not in any output.
    key_body = material.good_key.read_text("utf-8").splitlines()[1]
    for file in out.iterdir():
        assert key_body not in file.read_text("utf-8", errors="replace"), file


def test_probe_command_writes_the_probed_snapshot(
    material: Material,
    resources_file: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(material.server_ca))
    collected = tmp_path / "collected"
    code, _, _ = run_cli(
        ["collect", "--from-file", str(resources_file), "--out", str(collected)], capsys
    )
    assert code == 0
    out = tmp_path / "probed"
    with gateways.gateway(gateways.CORRECT, material) as port:
        code, stdout, _ = run_cli(
            ["probe", str(collected / "snapshot.json"), *_route(port), "--probe-interval", "0",
             "--out", str(out)],
            capsys,
        )  # fmt: skip
    assert code == 0
    assert "2 URLs and 1 host probed" in stdout
    code, _, _ = run_cli(
        ["assess", str(out / "snapshot.json"), "--select", "MTLS-PROBE", "--format", "json",
         "--out", str(tmp_path / "assessed")],
        capsys,
    )  # fmt: skip
    results = _results(tmp_path / "assessed")
    assert [r["status"] for r in results["MTLS-PROBE-01"]] == ["pass"]
    assert [r["status"] for r in results["MTLS-PROBE-04"]] == ["indeterminate"]  # no good cert
    assert code == 0  # an indeterminate medium result is below the default threshold


def test_without_probe_the_rules_do_not_apply(
    resources_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    run_cli(["scan", "--from-file", str(resources_file), "--format", "json", "--out", str(out)],
            capsys)  # fmt: skip
    statuses = {r["status"] for rs in _results(out).values() for r in rs}
    assert statuses == {"not_applicable"}


def _kw(**extra: Any) -> ProbeOptions:
    given: dict[str, Any] = {
        "client_cert": None,
        "client_key": None,
        "client_cert_password": None,
        "client_cert_keyvault": None,
        "resolve": (),
        "connect_to": (),
        "probe_timeout": 10.0,
        "probe_interval": 0.5,
        "probe_path": None,
        "probe_urls": (),
        "probe_method": "GET",
        **extra,
    }
    return ProbeOptions(**given)


def test_settings_honour_the_ca_bundle_and_the_subscription_key(tmp_path: Path) -> None:
    bundle = tmp_path / "ca.pem"
    bundle.write_text("x")
    settings = probe_settings(
        _kw(resolve=("api.contoso.test:443:[::1]",)),
        {"REQUESTS_CA_BUNDLE": str(bundle), "MTLS_AUDIT_PROBE_SUBSCRIPTION_KEY": "canary-key"},
    )
    assert settings.network.ca_file == str(bundle)
    assert settings.network.resolve == {("api.contoso.test", 443): ("::1", 443)}
    assert settings.network.headers == {"Ocp-Apim-Subscription-Key": "canary-key"}


@pytest.mark.parametrize(
    ("extra", "error"),
    [
        ({"resolve": ("api.contoso.test:443",)}, click.BadParameter),
        ({"connect_to": ("a:1:b",)}, click.BadParameter),
        ({"probe_path": "echo"}, click.BadParameter),
        ({"client_key": Path("k.pem")}, click.UsageError),
        ({"client_cert": Path("/nonexistent/cert.pem")}, InputError),
    ],
)
def test_bad_options_are_refused(extra: dict[str, Any], error: type[Exception]) -> None:
    with pytest.raises(error):
        probe_settings(_kw(**extra), {})


def test_missing_ca_bundle_names_the_variable() -> None:
    with pytest.raises(InputError, match="REQUESTS_CA_BUNDLE=/nonexistent"):
        probe_settings(_kw(), {"REQUESTS_CA_BUNDLE": "/nonexistent/ca.pem"})


def test_pacer_keeps_one_host_at_the_interval() -> None:
    pauses: list[float] = []
    pacer = _Pacer(0.5, sleep=pauses.append)
    pacer.wait("a", 443)
    pacer.wait("b", 443)  # another host: no pause
    pacer.wait("a", 443)
    assert len(pauses) == 1
    assert 0.4 < pauses[0] <= 0.5


def _connect_proxy(target_port: int, seen: list[str]) -> tuple[socket.socket, threading.Thread]:
    """A one-connection HTTP CONNECT proxy that tunnels to the local gateway."""
    listener = socket.create_server(("127.0.0.1", 0))

    def serve() -> None:
        client, _ = listener.accept()
        request = b""
        while b"\r\n\r\n" not in request:
            request += client.recv(4096)
        seen.append(request.split(b"\r\n")[0].decode())
        upstream = socket.create_connection(("127.0.0.1", target_port))
        client.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")

        def pump(src: socket.socket, dst: socket.socket) -> None:
            try:
                while data := src.recv(65536):
                    dst.sendall(data)
            except OSError:
                pass
            finally:
                dst.close()

        threading.Thread(target=pump, args=(upstream, client), daemon=True).start()
        pump(client, upstream)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    return listener, thread


def test_requests_go_through_the_https_proxy(
    material: Material, monkeypatch: pytest.MonkeyPatch
) -> None:
    from mtls_audit.probe.connection import Network, request_attempt

    seen: list[str] = []
    with gateways.gateway(gateways.CORRECT, material) as port:
        listener, thread = _connect_proxy(port, seen)
        with listener:
            monkeypatch.setenv("HTTPS_PROXY", f"http://127.0.0.1:{listener.getsockname()[1]}")
            network = Network(timeout_s=5, ca_file=str(material.server_ca))
            record = request_attempt(
                "no-certificate", network, ("api.contoso.test", 443, "/echo/res", "GET"), None
            )
            thread.join(5)
    assert [line.rsplit(" ", 1)[0] for line in seen] == ["CONNECT api.contoso.test:443"]
    assert record["status"] == 403
