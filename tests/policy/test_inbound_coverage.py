"""Coverage of every (API, operation, product path): the sample, reasons, memoisation, and the
evidence's ``coverage`` list."""

from __future__ import annotations

import json
from collections import Counter
from importlib import resources

import pytest

from benchmarks.synthetic import make_instance
from mtls_audit.analysis import Context
from mtls_audit.analysis.coverage import coverage_rows, inbound_verdict, path_coverage
from mtls_audit.analysis.policies import effective_policies
from mtls_audit.model import Model, build_model
from mtls_audit.workflow import AssessOptions, assess
from tests.policy.effective_support import api, api_id, policy, product, product_id
from tests.rules.builder import snapshot

VALIDATE = "<validate-client-certificate />"


@pytest.fixture(scope="module")
def sample() -> dict[str, object]:
    text = resources.files("mtls_audit.samples").joinpath("healthcare.json").read_text()
    document: dict[str, object] = json.loads(text)
    return document


def negotiating(*rows: object) -> Model:
    """A Premium service whose custom hostname negotiates, holding ``rows``."""
    flat: list[dict[str, object]] = []
    for row in rows:
        flat += row if isinstance(row, list) else [row]  # type: ignore[list-item]
    service = {
        "properties": {
            "hostnameConfigurations": [
                {"type": "Proxy", "hostName": "api.example.org", "negotiateClientCertificate": True}
            ]
        }
    }
    return build_model(snapshot(service, flat))


def test_the_sample_coverage_agrees_with_its_readme(sample: dict[str, object]) -> None:
    rows = coverage_rows(Context(build_model(sample)))
    assert len(rows) == 48
    by_api: dict[tuple[str, str | None], set[str]] = {}
    for row in rows:
        by_api.setdefault((row["api"], row["product"]), set()).add(row["verdict"])
    assert by_api[("patient-records", None)] == {"validated"}
    assert by_api[("provider-directory", "clinical-partners")] == {"validated"}
    assert by_api[("lab-results", None)] == {"not-validated"}
    assert by_api[("scheduling", "internal-staff")] == {"validated", "not-validated"}
    assert by_api[("billing", None)] == {"bypass"}
    assert by_api[("fax-gateway", None)] == {"not-validated"}
    slots = next(r for r in rows if r["operation"] == "list-available-slots")
    assert "operation:scheduling/list-available-slots dropped <base/>" in slots["reason"]
    billing = next(r for r in rows if r["api"] == "billing")
    assert billing["reason"].startswith(
        'validation is guarded by the condition `context.Request.Url.Path.StartsWith("/health")`'
    )
    assert set(rows[0]) == {
        "service_id",
        "api_id",
        "api",
        "operation_id",
        "operation",
        "product",
        "verdict",
        "reason",
    }


def test_assess_writes_the_coverage_whichever_rules_are_chosen(
    sample: dict[str, object],
) -> None:
    """The coverage table is a report over the analysis context, like the inventory: it no
    longer depends on MTLS-IN-01 being chosen (it used to be empty without it)."""
    full = assess(sample, "0" * 64, AssessOptions(fail_on=None)).evidence
    assert Counter(r["verdict"] for r in full["coverage"]) == {
        "validated": 27,
        "not-validated": 15,
        "bypass": 6,
    }
    for chosen in (
        AssessOptions(fail_on=None, ignore=("MTLS-IN-01",)),
        AssessOptions(fail_on=None, select=("MTLS-KV",)),
    ):
        evidence = assess(sample, "0" * 64, chosen).evidence
        assert "MTLS-IN-01" not in evidence["summary"]["by_rule"]
        assert evidence["coverage"] == full["coverage"]


def test_product_only_validation_is_named_on_the_path_without_product() -> None:
    model = negotiating(
        api("a", "o1"),
        product("partners", "a"),
        policy("products/partners", f"<policies><inbound><base />{VALIDATE}</inbound></policies>"),
    )
    svc = model.services[0]
    ctx = Context(model)
    policies = effective_policies(ctx, svc)
    operation = f"{api_id('a')}/operations/o1"
    bare = path_coverage(
        ctx, svc, policies.effective(api_id("a"), operation), api_id("a"), operation
    )
    assert bare.verdict == "not-validated"
    assert bare.reason.startswith("validation exists only at product scope")
    through = path_coverage(
        ctx,
        svc,
        policies.effective(api_id("a"), operation, product_id("partners")),
        api_id("a"),
        operation,
        product_id("partners"),
    )
    assert through.verdict == "validated"


def test_a_service_that_requests_no_certificate_validates_nothing() -> None:
    model = build_model(
        snapshot(
            None,
            [*api("a", "o1"), policy("", f"<policies><inbound>{VALIDATE}</inbound></policies>")],
        )
    )
    (row,) = coverage_rows(Context(model))
    assert row["verdict"] == "not-validated"
    assert "MTLS-GW-01" in row["reason"]


def test_verdicts_are_shared_across_paths_and_analyses_across_documents() -> None:
    model = build_model(make_instance(apis=20, operations=100, policies=40, fragments=3))
    svc = model.services[0]
    ctx = Context(model)
    paths = list(effective_policies(ctx, svc).paths())
    verdicts = {id(inbound_verdict(ctx, svc, effective)) for _, effective in paths}
    analyser = ctx.memo.analysers[svc.id.lower()]
    assert analyser.analyses <= len(verdicts) < analyser.verdicts <= len(paths)
    assert len(coverage_rows(ctx)) == len(paths)
