"""Schedule targets that name an estate (``discover``): read, checked, and expanded."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from mtls_audit.audit.estate import expand
from mtls_audit.audit.files import AuditInputError
from mtls_audit.audit.schedule import load_config
from mtls_audit.errors import CollectionError
from mtls_audit.sources.azure.discovery import EstateScope

SUB_A = "00000001-0000-4000-8000-000000000001"
SUB_B = "00000002-0000-4000-8000-000000000002"


def _config(tmp_path: Path, targets: str, top: str = "") -> Path:
    path = tmp_path / "schedule.yaml"
    path.write_text(f"output: runs\nformats: [json]\n{top}targets:\n{targets}", encoding="utf-8")
    return path


def _service(sub: str, group: str, name: str) -> dict[str, str]:
    provider = "providers/Microsoft.ApiManagement/service"
    sid = f"/subscriptions/{sub}/resourceGroups/{group}/{provider}/{name}"
    return {"id": sid, "subscription": sub, "resource_group": group, "name": name}


def test_a_discovery_target_is_read_with_its_scope_and_limits(tmp_path: Path) -> None:
    targets = (
        "  - name: prod\n    discover:\n      management_groups: [mg-prod]\n"
        "      tags: {env: prod, team: payments}\n    deadline: 900\n"
    )
    config = load_config(_config(tmp_path, targets, "history: postgresql://audit@db/mtls\n"))

    (target,) = config.targets
    assert target.discover == EstateScope(
        management_groups=("mg-prod",), tags=(("env", "prod"), ("team", "payments"))
    )
    assert target.deadline_s == 900
    assert config.history == "postgresql://audit@db/mtls"


@pytest.mark.parametrize(
    ("discover", "problem"),
    [
        ("{subscriptions: [x], all_subscriptions: true}", "exactly one of"),
        ("{all_subscriptions: true, tags: {env: 3}}", "tag names to values"),
        ("{all_subscriptions: true, scope: x}", "unknown field 'scope'"),
        ("{all_subscriptions: true, tags: {a: b}, query: q}", "cannot be combined"),
    ],
)
def test_a_bad_discovery_target_names_the_file_target_and_field(
    tmp_path: Path, discover: str, problem: str
) -> None:
    path = _config(tmp_path, f"  - name: estate\n    discover: {discover}\n")
    with pytest.raises(AuditInputError, match=problem) as info:
        load_config(path)
    assert "targets[0] (estate)/discover" in str(info.value)


def test_instances_become_targets_interleaved_by_subscription(tmp_path: Path) -> None:
    targets = (
        "  - name: apim-b1\n    sample: true\n"
        "  - name: estate\n    discover: {subscriptions: [" + SUB_A + ", " + SUB_B + "]}\n"
        "  - name: again\n    discover: {all_subscriptions: true}\n"
    )
    config = load_config(_config(tmp_path, targets))
    found = [
        _service(SUB_A, "rg1", "apim-a1"),
        _service(SUB_A, "rg1", "apim-a2"),
        _service(SUB_B, "rg2", "apim-b1"),  # its name is another target's
    ]

    def discover(scope: EstateScope) -> Mapping[str, Any]:
        if scope.all_subscriptions:
            raise CollectionError("the token was refused")
        return {"instances": found, "gaps": [], "provenance": {}}

    expanded = expand(config, discover)

    names = [t.name for t in expanded.config.targets]
    assert names == ["apim-b1", "apim-a1", "apim-b1-00000002", "apim-a2"]
    renamed = expanded.config.targets[2]
    assert (renamed.subscriptions, renamed.resource_groups, renamed.services) == (
        (SUB_B,), ("rg2",), ("apim-b1",),
    )  # fmt: skip
    assert renamed.discovered_by == "estate"
    assert expanded.discoveries["again"]["gaps"][0]["message"] == "the token was refused"
