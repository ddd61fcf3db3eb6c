"""Gaps reach only what their scope covers: a Key Vault or RBAC gap leaves a self-hosted
gateway's hostname result decided, and still makes the vault's own users uncertain."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from mtls_audit.engine.packs import builtin_pack_dir, load_directory
from mtls_audit.engine.results import Status
from mtls_audit.engine.rule import Context, Options
from mtls_audit.engine.runner import evaluate
from mtls_audit.model import build_model
from mtls_audit.sources.sample import read_sample

RULES = {r.id: r for r in load_directory(builtin_pack_dir(), "builtin").rules}
GATEWAY = "gw-rotterdam-clinic"
VAULT_URL = "https://kv-contoso-health-gw.vault.azure.net"


def _sample(gaps: list[dict[str, Any]]) -> dict[str, Any]:
    """The sample with the gateway's hostname configurations collected as an empty list."""
    document = copy.deepcopy(read_sample().document)
    document["resources"] = [
        r for r in document["resources"] if not r["type"].endswith("/hostnameConfigurations")
    ]
    document["gaps"] = gaps
    return document


def _ids(document: dict[str, Any]) -> tuple[str, str]:
    gateway = next(r["id"] for r in document["resources"] if r["name"] == GATEWAY)
    vault = next(r["id"] for r in document["resources"] if r["type"] == "Microsoft.KeyVault/vaults")
    return gateway, vault


def _gateway_status(document: dict[str, Any]) -> Status:
    gateway, _ = _ids(document)
    results = evaluate(RULES["MTLS-GW-06"], Context(build_model(document), Options()))
    (found,) = [r for r in results if r.subject == gateway]
    return found.status


def _gap(subject: str, what: str, scope: dict[str, str] | None) -> dict[str, Any]:
    gap = {"kind": "forbidden", "subject": subject, "what": what, "message": "injected"}
    return gap | ({"scope": scope} if scope else {})


@pytest.mark.parametrize(
    ("what", "scope_kind"),
    [("keyvault-certificate", "vault"), ("role-assignments", "vault"), ("keyvaults", "vaults")],
)
def test_a_vault_gap_leaves_the_gateway_hostname_result_decided(what: str, scope_kind: str) -> None:
    _, vault = _ids(_sample([]))
    subject = f"{VAULT_URL}/certificates/c" if what == "keyvault-certificate" else vault
    scope = {scope_kind: VAULT_URL if scope_kind == "vault" else "/subscriptions/x"}
    document = _sample([_gap(subject, what, scope)])
    assert _gateway_status(document) is Status.FAIL


def test_a_gap_inside_the_gateway_makes_its_result_indeterminate() -> None:
    gateway, _ = _ids(_sample([]))
    service = gateway.rsplit("/gateways/", 1)[0]
    document = _sample([_gap(gateway, "hostnameConfigurations", {"service": service})])
    assert _gateway_status(document) is Status.INDETERMINATE


def test_a_gap_without_a_scope_outside_every_service_still_reaches_everything() -> None:
    _, vault = _ids(_sample([]))
    document = _sample([_gap(vault, "role-assignments", None)])
    assert _gateway_status(document) is Status.INDETERMINATE


def test_a_vault_gap_reaches_the_vault_and_the_services_that_use_it_only() -> None:
    document = _sample(
        [_gap(f"{VAULT_URL}/certificates/c", "keyvault-certificate", {"vault": VAULT_URL})]
    )
    gateway, vault = _ids(document)
    model = build_model(document)
    (service,) = [s.id for s in model.services if gateway.startswith(s.id)]
    assert model.gaps_about(subject=vault)
    assert model.gaps_about(subject=service)
    assert not model.gaps_about(subject=gateway)
    other_vault = vault.replace("kv-contoso-health-gw", "kv-elsewhere")
    assert not model.gaps_about(subject=other_vault)


def test_a_listing_gap_reaches_what_the_listing_could_have_held() -> None:
    document = _sample([])
    gateway, _ = _ids(document)
    subscription = "/".join(gateway.split("/")[:3])
    document["gaps"] = [_gap(subscription, "services", {"listing": subscription})]
    model = build_model(document)
    assert model.gaps_about(subject=gateway)
    assert not model.gaps_about(subject="/subscriptions/00000000-0000-0000-0000-000000000000")
