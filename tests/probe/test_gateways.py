"""The probe against real local TLS servers behaving like correct and broken gateways, judged
by the MTLS-PROBE rules."""

from __future__ import annotations

import socket
from typing import Any

import pytest

from mtls_audit.engine.packs import builtin_pack_dir, load_directory
from mtls_audit.probe import Network, ProbeSettings, probe, user_certificate
from mtls_audit.testing import judge
from tests.probe import gateways
from tests.probe.conftest import API_ID, OPERATION_ID, gateway_snapshot
from tests.probe.gateways import Behaviour, Material

RULES = {r.id: r for r in load_directory(builtin_pack_dir(), "builtin").rules if "PROBE" in r.id}


def _settings(material: Material, port: int, **extra: Any) -> ProbeSettings:
    network = Network(
        timeout_s=5,
        resolve={(host, 443): ("127.0.0.1", port) for host in gateways.HOSTS},
        ca_file=str(material.server_ca),
    )
    good = user_certificate(material.good_cert, material.good_key)
    return ProbeSettings(**{"network": network, "interval_s": 0, "good": good, **extra})


def _verdicts(document: dict[str, Any]) -> dict[str, list[str]]:
    return {
        rule_id: [r.status.value for r in judge(rule, document)]
        for rule_id, rule in sorted(RULES.items())
    }


def _probe(behaviour: Behaviour, material: Material) -> dict[str, Any]:
    with gateways.gateway(behaviour, material) as port:
        return probe(gateway_snapshot(), _settings(material, port))


PASS, FAIL = "pass", "fail"
# PROBE-06 judges TLS 1.0 and 1.1 on the custom host; PROBE-07 both URLs (custom, built-in).
ALL_PASS = {f"MTLS-PROBE-0{n}": [PASS] for n in range(1, 9)} | {
    "MTLS-PROBE-06": [PASS, PASS],
    "MTLS-PROBE-07": [PASS, PASS],
}


@pytest.mark.parametrize(
    ("behaviour", "expected"),
    [
        pytest.param(gateways.CORRECT, ALL_PASS, id="correct"),
        pytest.param(
            gateways.BROKEN,
            ALL_PASS | {"MTLS-PROBE-01": [FAIL], "MTLS-PROBE-05": [FAIL], "MTLS-PROBE-08": [FAIL]},
            id="requests-but-lets-through",
        ),
        pytest.param(
            gateways.NO_REQUEST,
            ALL_PASS
            | {
                "MTLS-PROBE-01": [FAIL],
                "MTLS-PROBE-02": [FAIL],
                "MTLS-PROBE-03": [FAIL],
                "MTLS-PROBE-05": [FAIL],
                "MTLS-PROBE-08": [FAIL],
            },
            id="does-not-request",
        ),
        pytest.param(gateways.LEGACY, ALL_PASS | {"MTLS-PROBE-06": [FAIL, FAIL]}, id="tls-1-0"),
        pytest.param(
            gateways.ECHO, ALL_PASS | {"MTLS-PROBE-07": [FAIL, PASS]}, id="echoes-thumbprint"
        ),
    ],
)
def test_gateway_verdicts(
    behaviour: Behaviour, expected: dict[str, list[str]], material: Material
) -> None:
    assert _verdicts(_probe(behaviour, material)) == expected


def test_what_is_recorded(material: Material) -> None:
    section = _probe(gateways.CORRECT, material)["probe"]
    (host,) = section["hosts"]
    request = host["attempts"][0]
    assert request["kind"] == "certificate-request"
    assert request["certificate_requested"] is True
    assert request["protocol"] == "TLSv1.2"
    custom, default = section["targets"]
    # The safe operation: GET without path parameters, the POST and the templated GET skipped.
    assert custom["url"] == "https://api.contoso.test/echo/res"
    assert custom["method"] == "GET"
    assert (custom["api_id"], custom["operation_id"]) == (API_ID, OPERATION_ID)
    assert default["url"] == "https://apim-test.azure-api.net/echo/res"
    assert default["default_hostname"] is True
    assert [a["kind"] for a in default["attempts"]] == ["no-certificate"]
    kinds = {a["kind"]: a for a in custom["attempts"]}
    assert list(kinds) == ["no-certificate", "self-signed", "expired", "good-certificate"]
    assert kinds["no-certificate"]["status"] == 403
    assert kinds["no-certificate"]["protocol"] == "TLSv1.3"
    assert kinds["no-certificate"]["cipher"]
    assert kinds["self-signed"]["handshake"] == "refused"
    assert kinds["good-certificate"]["status"] == 200
    assert len(kinds["good-certificate"]["presented"]) == 40
    (skipped,) = section["skipped"]
    assert "API writes has no GET" in skipped["reason"]


def test_a_server_that_does_not_ask_is_seen_not_to(material: Material) -> None:
    section = _probe(gateways.NO_REQUEST, material)["probe"]
    assert section["hosts"][0]["attempts"][0]["certificate_requested"] is False


def test_echoed_thumbprint_is_named_not_copied(material: Material) -> None:
    section = _probe(gateways.ECHO, material)["probe"]
    good = section["targets"][0]["attempts"][3]
    assert good["disclosures"] == [{"header": "X-Client-Thumbprint", "discloses": "thumbprint"}]
    assert good["presented"] not in str(good["disclosures"])


def test_legacy_handshakes_are_recorded(material: Material) -> None:
    attempts = _probe(gateways.LEGACY, material)["probe"]["hosts"][0]["attempts"]
    legacy = {a["kind"]: a for a in attempts[1:]}
    assert legacy["tls1.0"]["handshake"] == "completed"
    assert legacy["tls1.0"]["protocol"] == "TLSv1"
    assert legacy["tls1.1"]["protocol"] == "TLSv1.1"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_refused_connection_is_indeterminate_not_a_crash(material: Material) -> None:
    document = probe(gateway_snapshot(), _settings(material, _free_port()))
    verdicts = _verdicts(document)
    assert set(verdicts["MTLS-PROBE-01"]) == {"indeterminate"}
    assert set(verdicts["MTLS-PROBE-06"]) == {"indeterminate"}
    attempt = document["probe"]["targets"][0]["attempts"][0]
    assert attempt["handshake"] == "failed"
    assert "ConnectionRefusedError" in attempt["error"]


def test_silent_server_times_out(material: Material) -> None:
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(16)  # accepts connections in the backlog, never answers
        settings = _settings(material, silent.getsockname()[1])
        settings = ProbeSettings(
            network=Network(timeout_s=0.3, resolve=settings.network.resolve),
            interval_s=0,
            urls=("https://api.contoso.test/echo/res",),
        )
        document = probe(gateway_snapshot(), settings)
    (target,) = document["probe"]["targets"]
    assert target["service_id"].endswith("/service/apim-test")
    errors = {a["error"] for a in target["attempts"]}
    assert errors == {"timed out after 0.3 s"}
    assert _verdicts(document)["MTLS-PROBE-01"] == ["indeterminate"]


def test_untrusted_gateway_certificate_is_indeterminate(material: Material) -> None:
    with gateways.gateway(gateways.CORRECT, material) as port:
        settings = _settings(material, port)
        untrusting = Network(timeout_s=5, resolve=settings.network.resolve, ca_file=None)
        document = probe(
            gateway_snapshot(), ProbeSettings(network=untrusting, interval_s=0, good=settings.good)
        )
    attempt = document["probe"]["targets"][0]["attempts"][0]
    assert attempt["handshake"] == "failed"
    assert "not trusted" in attempt["error"]
    assert _verdicts(document)["MTLS-PROBE-01"] == ["indeterminate"]
