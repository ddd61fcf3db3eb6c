"""The synthetic large-instance generator: counts, determinism and a consistent snapshot."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections import Counter
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from benchmarks.synthetic import main, make_instance
from mtls_audit import snapshot
from mtls_audit.policy.parsing.parser import parse_policy
from mtls_audit.redaction import Redactor

SMALL = {"apis": 20, "operations": 100, "policies": 40, "fragments": 3}
APIM = "microsoft.apimanagement/service"


@cache
def small(seed: int = 1) -> dict[str, Any]:
    return make_instance(seed=seed, **SMALL)


def resources(document: dict[str, Any], suffix: str) -> list[dict[str, Any]]:
    """Resources whose type ends with ``suffix`` (case-insensitive)."""
    return [r for r in document["resources"] if r["type"].lower().endswith(suffix.lower())]


def by_id(document: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {r["id"].lower(): r for r in document["resources"]}


def policy_texts(document: dict[str, Any]) -> list[str]:
    return [r["properties"]["value"] for r in resources(document, "/policies")]


def test_counts_are_the_ones_asked_for() -> None:
    document = small()
    assert len(resources(document, "service/apis")) == 20
    assert len(resources(document, "apis/operations")) == 100
    assert len(resources(document, "/policies")) == 40
    assert len(resources(document, "/policyFragments")) == 3
    assert len(resources(document, "ApiManagement/service")) == 1


def test_policy_scopes_add_up() -> None:
    document = small()
    scopes = Counter(r["type"].split("/")[-2] for r in resources(document, "/policies"))
    assert scopes["service"] == 1
    assert scopes["products"] >= 1
    assert scopes["apis"] > 0
    assert scopes["operations"] > 0
    assert sum(scopes.values()) == 40


def test_same_seed_gives_the_same_bytes() -> None:
    first = snapshot.dumps(make_instance(seed=7, **SMALL))
    second = snapshot.dumps(make_instance(seed=7, **SMALL))
    assert first == second
    assert snapshot.dumps(make_instance(seed=8, **SMALL)) != first


def test_is_a_valid_snapshot_without_secrets() -> None:
    document = small()
    snapshot.validate(document, source="<synthetic>")
    assert document["provenance"]["redactions"] == {}
    redactor = Redactor()
    assert redactor.resources(document["resources"]) == document["resources"]
    assert not redactor.counts


def test_child_ids_sit_under_their_parents() -> None:
    document = small()
    index = by_id(document)
    assert len(index) == len(document["resources"]), "ids are unique"
    for resource in document["resources"]:
        rid = resource["id"]
        assert resource["name"] == rid.rsplit("/", 1)[-1]
        if resource["type"].lower().startswith(APIM + "/"):
            parent = rid.rsplit("/", 2)[0]
            assert parent.lower() in index, f"parent of {rid}"
            segments = rid.split("/")[rid.lower().split("/").index("microsoft.apimanagement") + 1 :]
            assert "/".join(segments[::2]).lower() == resource["type"].lower().split("/", 1)[1]
        if resource["type"] == "Microsoft.Authorization/roleAssignments":
            scope = resource["properties"]["scope"]
            assert rid.startswith(scope + "/providers/Microsoft.Authorization/roleAssignments/")


def test_references_resolve() -> None:
    document = small()
    index = by_id(document)
    names = {
        kind: {r["name"] for r in resources(document, f"/{kind}")}
        for kind in ("backends", "certificates", "policyFragments")
    }
    thumbprints = {r["properties"]["thumbprint"] for r in resources(document, "/certificates")}
    named_values = {r["properties"]["displayName"] for r in resources(document, "/namedValues")}
    for text in policy_texts(document):
        assert set(re.findall(r'backend-id="([^"]+)"', text)) <= names["backends"]
        assert set(re.findall(r'certificate-id="([^"]+)"', text)) <= names["certificates"]
        assert set(re.findall(r'fragment-id="([^"]+)"', text)) <= names["policyFragments"]
        assert set(re.findall(r'\sthumbprint="([^"]+)"', text)) <= thumbprints
        assert set(re.findall(r"\{\{([^}]+)\}\}", text)) <= named_values
    for backend in resources(document, "/backends"):
        for cid in backend["properties"]["credentials"]["certificateIds"]:
            assert cid.lower() in index
    for link in resources(document, "/apiLinks"):
        assert link["properties"]["apiId"].lower() in index
    for sub in resources(document, "/subscriptions"):
        scope = sub["properties"]["scope"].lower()
        assert scope in index or scope.endswith("/apis")
    for host in resources(document, "/hostnameConfigurations"):
        assert host["properties"]["certificateId"].lower() in index


def test_identities_and_key_vault_references_resolve() -> None:
    document = small()
    (service,) = resources(document, "ApiManagement/service")
    identity = service["identity"]
    users = identity["userAssignedIdentities"]
    principals = {identity["principalId"]} | {u["principalId"] for u in users.values()}
    clients = {u["clientId"] for u in users.values()}
    for assignment in resources(document, "/roleAssignments"):
        assert assignment["properties"]["principalId"] in principals
    (vault,) = resources(document, "KeyVault/vaults")
    vault_url = vault["properties"]["vaultUri"].rstrip("/")
    stored = document["keyvault"][vault_url]["certificates"]
    references = [
        h["keyVaultId"]
        for h in service["properties"]["hostnameConfigurations"]
        if "keyVaultId" in h
    ]
    for owner in resources(document, "/certificates") + resources(document, "/namedValues"):
        key_vault = owner["properties"].get("keyVault")
        if key_vault:
            if "identityClientId" in key_vault:
                assert key_vault["identityClientId"] in clients
            if owner["type"].endswith("/certificates"):
                references.append(key_vault["secretIdentifier"])
    assert references
    for reference in references:
        assert reference.startswith(vault_url + "/secrets/")
        assert reference.rsplit("/", 1)[-1] in stored


def test_policies_repeat_and_parse() -> None:
    document = make_instance(seed=3, apis=200, operations=1000, policies=400, fragments=10)
    texts = policy_texts(document)
    assert len(set(texts)) < len(texts) / 2, "templates are reused"
    includes = Counter(f for t in texts for f in re.findall(r'fragment-id="([^"]+)"', t))
    assert includes.most_common(1)[0][1] > 1, "a fragment is shared by several APIs"
    forms = {
        (r["properties"]["value"], r["properties"]["format"])
        for r in resources(document, "/policies") + resources(document, "/policyFragments")
    }
    assert {fmt for _, fmt in forms} == {"xml", "rawxml"}
    for text, fmt in forms:
        parsed = parse_policy(text, escaped=fmt == "xml")
        assert not parsed.problems, (text, parsed.problems)


@pytest.mark.parametrize(
    "counts",
    [
        {"apis": 10, "operations": 5, "policies": 20, "fragments": 1},
        {"apis": 10, "operations": 10, "policies": 50, "fragments": 1},
        {"apis": 10, "operations": 100, "policies": 1, "fragments": 1},
        {"apis": 10, "operations": 100, "policies": 20, "fragments": 0},
    ],
)
def test_impossible_layouts_are_refused(counts: dict[str, int]) -> None:
    with pytest.raises(ValueError, match=r"need|cannot lay out"):
        make_instance(**counts)


def test_main_writes_the_instance(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "instance.json"
    args = ["--apis", "20", "--operations", "100", "--policies", "40", "--fragments", "3"]
    assert main([str(out), *args, "--seed", "5"]) == 0
    assert out.read_bytes() == snapshot.dumps(make_instance(seed=5, **SMALL))
    assert str(out) in capsys.readouterr().out


def test_main_reports_a_bad_layout(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main([str(tmp_path / "x.json"), "--apis", "10", "--operations", "5"])
    assert exit_info.value.code == 2
    assert "operations >= apis" in capsys.readouterr().err
    assert not (tmp_path / "x.json").exists()


def test_bytes_do_not_depend_on_hash_randomisation() -> None:
    """Set and dict order must not leak into the document: compare two interpreters."""
    code = (
        "import hashlib; from benchmarks.synthetic import make_instance; "
        "from mtls_audit import snapshot; "
        "print(hashlib.sha256(snapshot.dumps(make_instance(apis=200, operations=400, "
        "policies=100, fragments=3))).hexdigest())"
    )
    root = Path(__file__).resolve().parents[2]
    digests = {
        subprocess.run(
            [sys.executable, "-c", code],
            cwd=root,
            env={**os.environ, "PYTHONHASHSEED": seed, "PYTHONPATH": str(root)},
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        for seed in ("1", "2")
    }
    assert len(digests) == 1
