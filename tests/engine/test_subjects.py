"""The engine enumerates each kind of subject: needs, gates, empty populations, filters,
subjects combined across services, and what a rule's function declares for it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from mtls_audit.api import Backend, Context, Result, Severity, passed, rule, subjects
from mtls_audit.engine.rule import Rule
from mtls_audit.model import build_model
from mtls_audit.testing import judge
from tests.rules.builder import SERVICE_ID, child, snapshot

BACKEND = child("backends/pay", {"url": "https://pay.example.org"})


def _backend_rule(kind: Any = subjects.Backend) -> tuple[Rule, list[str]]:
    calls: list[str] = []

    @rule(id="ACME-XX-01", severity=Severity.LOW, topics=("audit",), subject=kind)
    def backends_seen(backend: Backend, ctx: Context) -> Iterator[Result]:
        """Backends are seen.

        How to fix:
            portal: Backends > the backend: look at it, then at it again with some care,
                and once more.
            cli: az apim backend show
        """
        calls.append(backend.name)
        yield passed(backend.id, f"{backend.name} seen.", key=backend.name)

    return backends_seen, calls


def _statuses(results: list[Result]) -> list[tuple[str, str]]:
    return [(r.status.value, r.message) for r in results]


def test_the_function_gives_slug_title_and_remediation() -> None:
    found, _ = _backend_rule()
    assert (found.slug, found.title, found.guide) == (
        "backends-seen",
        "Backends are seen",
        "beyond",
    )
    assert found.remediation == {
        "portal": "Backends > the backend: look at it, then at it again with some care, and once "
        "more.",
        "cli": "az apim backend show",
    }


def test_each_member_is_judged_and_an_empty_service_is_not_applicable() -> None:
    found, calls = _backend_rule()
    assert _statuses(judge(found, snapshot(None, [BACKEND]))) == [("pass", "pay seen.")]
    assert calls == ["pay"]
    assert _statuses(judge(found, snapshot())) == [
        ("not_applicable", "apim-test has no backend entities.")
    ]


def test_the_kinds_own_need_makes_a_service_indeterminate_without_judging() -> None:
    found, calls = _backend_rule()
    gap = {"kind": "forbidden", "what": "backends", "subject": SERVICE_ID, "message": "403 No"}
    [result] = judge(found, snapshot(None, [BACKEND], gaps=[gap]))
    assert result.status.value == "indeterminate"
    assert result.message == "apim-test: backends could not be collected completely (403 No)."
    assert calls == []


def test_where_keeps_the_members_a_test_accepts() -> None:
    kind = subjects.Backend.where(lambda b: b.name != "pay", absent="{name} has only pay.")
    found, calls = _backend_rule(kind)
    other = child("backends/old", {"url": "https://old.example.org"})
    assert _statuses(judge(found, snapshot(None, [BACKEND, other]))) == [("pass", "old seen.")]
    assert _statuses(judge(found, snapshot(None, [BACKEND]))) == [
        ("not_applicable", "apim-test has only pay.")
    ]
    assert calls == ["old"]
    with pytest.raises(ValueError, match="span services"):
        subjects.Certificate.where(bool, absent="")


def test_a_gate_closes_a_service() -> None:
    @rule(id="ACME-XX-02", severity=Severity.LOW, topics=("audit",), subject=subjects.ProbeSubject)
    def probed(subject: subjects.Probed, ctx: Context) -> Iterator[Result]:
        """Probed."""
        yield passed(subject.subject, "probed")

    [result] = judge(probed, snapshot())
    assert result.status.value == "not_applicable"
    assert result.message.startswith("apim-test: no probe ran")


def test_scope_is_the_snapshot_when_it_holds_no_service() -> None:
    seen: list[str] = []

    @rule(id="ACME-XX-03", severity=Severity.LOW, topics=("audit",), subject=subjects.Scope)
    def scoped(subject: Any, ctx: Context) -> Iterator[Result]:
        """Scoped."""
        seen.append(type(subject).__name__)
        yield passed("x", "seen")

    judge(scoped, snapshot())
    judge(scoped, snapshot(with_service=False))
    assert seen == ["ServiceModel", "Model"]


def test_a_key_vault_certificate_two_services_use_is_one_subject() -> None:
    uses: list[subjects.VaultCertificateUse] = []

    @rule(
        id="ACME-XX-04", severity=Severity.LOW, topics=("audit",), subject=subjects.VaultCertificate
    )
    def certificates(use: subjects.VaultCertificateUse, ctx: Context) -> Iterator[Result]:
        """Certificates."""
        uses.append(use)
        yield passed(use.vault_url or "", "used")

    document = snapshot({"properties": {"hostnameConfigurations": [_host("a.example.org", "gw")]}})
    second = dict(document["resources"][0])
    second["id"] = second["id"].replace("apim-test", "apim-two")
    second["name"] = "apim-two"
    document["resources"].append(second)
    assert len(build_model(document).services) == 2
    judge(certificates, document)
    [use] = uses
    assert (use.vault_url, use.name) == ("https://kv-test.vault.azure.net", "gw")
    assert [s.service.name for s in use.services] == ["apim-test", "apim-two"]
    assert len(use.references) == 2


def _host(name: str, secret: str) -> dict[str, Any]:
    return {
        "type": "Proxy",
        "hostName": name,
        "keyVaultId": f"https://kv-test.vault.azure.net/secrets/{secret}",
    }
