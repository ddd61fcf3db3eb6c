"""Agreement with PSRule for Azure on its own APIM fixture (see corpora/peer-tests/EXPECTED.md).

Differences are deliberate and explained where they are asserted.
"""

from __future__ import annotations

from collections import defaultdict

import pytest

from mtls_audit.engine.packs import builtin_pack_dir, load_directory
from mtls_audit.engine.results import Status
from mtls_audit.engine.rule import Context, Options
from mtls_audit.engine.runner import run, select_rules
from mtls_audit.model import build_model, ids
from mtls_audit.sources.files import FilesSource
from tests.conftest import CORPORA, needs_shared

FIXTURE = CORPORA / "peer-tests/psrule/tests/PSRule.Rules.Azure.Tests/Resources.APIM.json"
SERVICES = {f"apim-{c}" for c in "ABCDEFGHIJKLMNOP"}

pytestmark = needs_shared(FIXTURE)


@pytest.fixture(scope="module")
def outcome() -> dict[str, dict[str, set[str]]]:
    """rule id → status → the service names (or service/child paths) with that status."""
    model = build_model(FilesSource([FIXTURE]).load())
    rules = select_rules(load_directory(builtin_pack_dir(), "builtin").rules, ["MTLS"])
    table: dict[str, dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
    for finding in run(Context(model, Options()), rules).findings:
        subject = finding.result.subject
        service = ids.service_of(subject) or subject
        table[finding.rule.id][finding.status.value].add(ids.last_name(service))
        table[finding.rule.id + ":subjects"][finding.status.value].add(
            subject.split("/service/", 1)[-1]
        )
    return table


def test_gw01_fails_every_service_none_negotiates(outcome: dict) -> None:  # type: ignore[type-arg]
    assert outcome["MTLS-GW-01"][Status.FAIL.value] == SERVICES
    assert set(outcome["MTLS-GW-01"]) == {"fail"}


def test_protocols_match_psrule(outcome: dict) -> None:  # type: ignore[type-arg]
    # PSRule's Azure.APIM.Protocols covers both sides: our TLS-01 or TLS-02.
    failing = outcome["MTLS-TLS-01"]["fail"] | outcome["MTLS-TLS-02"]["fail"]
    assert failing == {"apim-A"}
    assert outcome["MTLS-TLS-01"]["pass"] | {"apim-A"} == SERVICES
    assert outcome["MTLS-TLS-02"]["pass"] == SERVICES  # apim-A's weak protocol is client-side


def test_http_endpoint_matches_psrule(outcome: dict) -> None:  # type: ignore[type-arg]
    # PSRule judges the service; we judge each API, so a service fails when one API fails.
    assert outcome["MTLS-TLS-04"]["fail"] == {"apim-A", "apim-D"}
    assert outcome["MTLS-TLS-04:subjects"]["fail"] == {"apim-A/apis/api-B", "apim-D/apis/api-B"}


def test_http_backend_matches_psrule(outcome: dict) -> None:  # type: ignore[type-arg]
    assert outcome["MTLS-OUT-01"]["fail"] == {"apim-A", "apim-D"}
    assert outcome["MTLS-OUT-01:subjects"]["fail"] == {
        "apim-A/apis/api-B",
        "apim-A/backends/endpoint-B",
        "apim-D/apis/api-B",
    }


def test_encrypt_values_differs_only_on_plain_values(outcome: dict) -> None:  # type: ignore[type-arg]
    # PSRule fails apim-A, apim-B, namedvalue-A and namedvalue-B, and passes namedvalue-C.
    # MTLS-KV-08 judges *secret* named values only (RULES.md, as Azure Policy f1cc7827): a
    # plain value (namedvalue-A, secret false) holds no secret, so it is not judged and
    # apim-A is not applicable. The secret ones without Key Vault fail, as in PSRule.
    assert outcome["MTLS-KV-08:subjects"]["fail"] == {
        "apim-B/namedValues/namedvalue-B",
        "apim-O/namedValues/namedvalue-B",
    }
    assert "apim-A" in outcome["MTLS-KV-08"]["not_applicable"]
