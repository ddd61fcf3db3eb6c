"""The same data judged the same way whether it was collected live or given as files."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from mtls_audit import snapshot
from mtls_audit.sources.files import FilesSource
from mtls_audit.workflow import AssessOptions, assess

from .conftest import Collect
from .instance import Instance


def _results(document: dict[str, Any]) -> list[tuple[str, str, str, str]]:
    outcome = assess(document, "0" * 64, AssessOptions(fail_on=None))
    return sorted(
        (r["rule_id"], r["resource_id"].lower(), r["status"], r["message"])
        for r in outcome.evidence["results"]
    )


def test_live_snapshot_assesses_like_the_same_resources_offline(
    collect: Collect, instance: Instance, tmp_path: Path
) -> None:
    parts = collect()
    live = snapshot.build(
        provenance=parts["provenance"],
        resources=parts["resources"],
        keyvault=parts["keyvault"],
        gaps=parts["gaps"],
    )
    exported = tmp_path / "export.json"
    instance.write(exported)
    offline = FilesSource([exported]).load()
    # Files cannot carry Key Vault data-plane facts: give the offline run the same ones.
    offline["keyvault"] = live["keyvault"]
    assert live["gaps"] == []
    assert offline["gaps"] == []
    live_results = _results(live)
    assert live_results == _results(offline)
    assert {r[2] for r in live_results} >= {"pass", "fail"}
