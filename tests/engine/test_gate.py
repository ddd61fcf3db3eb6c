"""Exit codes: 1 failing at or above the threshold, 3 incomplete, 0 otherwise."""

from __future__ import annotations

from mtls_audit.engine.packs import builtin_pack_dir, load_directory
from mtls_audit.engine.results import Severity
from mtls_audit.engine.rule import Context, Options
from mtls_audit.engine.runner import fingerprint, gate, run, select_rules
from mtls_audit.model import build_model
from tests.rules.builder import snapshot

RULES = load_directory(builtin_pack_dir(), "builtin").rules


def _assess(document: dict, select: list[str]):  # type: ignore[no-untyped-def,type-arg]
    model = build_model(document)
    return run(Context(model, Options()), select_rules(RULES, select)), len(model.gaps)


def test_critical_failure_gates_at_critical_not_at_none() -> None:
    assessment, gaps = _assess(snapshot(), ["MTLS-GW-01"])
    assert gate(assessment, Severity.CRITICAL, gaps=gaps).exit_code == 1
    assert gate(assessment, None, gaps=gaps).exit_code == 0


def test_high_failure_does_not_gate_at_critical() -> None:
    doc = snapshot(
        {
            "properties": {
                "hostnameConfigurations": [
                    {
                        "type": "Proxy",
                        "hostName": "a.example.org",
                        "negotiateClientCertificate": False,
                    }
                ]
            }
        }
    )
    assessment, gaps = _assess(doc, ["MTLS-GW-03"])
    assert gate(assessment, Severity.CRITICAL, gaps=gaps).exit_code == 0
    assert gate(assessment, Severity.HIGH, gaps=gaps).exit_code == 1


def test_indeterminate_at_threshold_is_incomplete() -> None:
    doc = snapshot({"sku": {"name": "Mystery"}})
    assessment, gaps = _assess(doc, ["MTLS-GW-01"])
    result = gate(assessment, Severity.CRITICAL, gaps=gaps)
    assert (result.exit_code, result.incomplete) == (3, True)


def test_gaps_make_a_gated_run_incomplete() -> None:
    doc = snapshot(gaps=[{"kind": "forbidden", "what": "policies", "message": "403"}])
    assessment, gaps = _assess(doc, ["MTLS-TLS-01"])
    assert gate(assessment, Severity.CRITICAL, gaps=gaps).exit_code == 3
    assert gate(assessment, None, gaps=gaps).exit_code == 0


def test_selection_by_prefix_slug_and_ignore() -> None:
    ids = [r.id for r in select_rules(RULES, ["MTLS-TLS", "backend-https"], ["MTLS-TLS-03"])]
    assert ids == ["MTLS-OUT-01", "MTLS-TLS-01", "MTLS-TLS-02", "MTLS-TLS-04"]


def test_fingerprint_is_stable_and_case_insensitive_on_ids() -> None:
    a = fingerprint("MTLS-GW-01", "/subscriptions/X/rg/Service/A", "")
    assert a == fingerprint("MTLS-GW-01", "/subscriptions/x/RG/service/a/", "")
    assert a != fingerprint("MTLS-GW-02", "/subscriptions/x/rg/service/a", "")
