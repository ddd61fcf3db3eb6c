"""Effective policies of the bundled sample, and memoisation on a synthetic instance."""

from __future__ import annotations

import json
from collections import Counter
from importlib import resources

import pytest

from benchmarks.synthetic import make_instance
from mtls_audit.model import ServiceModel, build_model
from mtls_audit.policy.effective import policies as effective_module
from mtls_audit.policy.effective.policies import Effective, EffectivePolicies
from mtls_audit.policy.effective.tree import OriginKind
from mtls_audit.policy.parsing.parser import parse_policy as real_parse
from mtls_audit.policy.parsing.tree import PolicyDocument

VALIDATE = "validate-client-certificate"


@pytest.fixture(scope="module")
def sample() -> ServiceModel:
    text = resources.files("mtls_audit.samples").joinpath("healthcare.json").read_text()
    return build_model(json.loads(text)).services[0]


def by_name(svc: ServiceModel) -> dict[tuple[str, str | None, str | None], Effective]:
    def last(rid: str | None) -> str | None:
        return rid.rsplit("/", 1)[-1] if rid else None

    return {
        (last(p.api_id) or "", last(p.operation_id), last(p.product_id)): e
        for p, e in EffectivePolicies.for_service(svc).paths()
    }


def test_the_sample_paths(sample: ServiceModel) -> None:
    paths = by_name(sample)
    assert len(paths) == 48  # 22 operations: 18 in one product, 4 in two
    for key, effective in paths.items():
        assert effective.inbound.complete, key
        assert effective.problems == (), key


def test_the_sample_validates_patient_records_on_every_path(sample: ServiceModel) -> None:
    paths = by_name(sample)
    for product in (None, "clinical-partners"):
        inbound = paths["patient-records", "patient-everything", product].inbound
        (validate,) = inbound.iter(VALIDATE)
        assert (validate.origin.label, validate.line) == ("global", 7)
        (allow_list,) = (n for n in inbound.iter("choose") if n.origin.kind is OriginKind.FRAGMENT)
        assert allow_list.origin.label == "fragment:clinical-client-allowlist"
        assert allow_list.via[-1].origin.label == "api:patient-records"


def test_the_sample_lab_results_api_drops_base(sample: ServiceModel) -> None:
    for product in (None, "clinical-partners"):
        effective = by_name(sample)["lab-results", "get-result", product]
        assert not list(effective.inbound.iter(VALIDATE))  # the one in a comment is absent
        (drop,) = effective.inbound.dropped
        assert drop.origin.label == "api:lab-results"
        assert list(drop.parent.iter(VALIDATE))
        assert effective.layer is not None
        assert effective.layer.keeps_base("outbound") is True


def test_the_sample_scheduling_paths(sample: ServiceModel) -> None:
    paths = by_name(sample)
    slots = paths["scheduling", "list-available-slots", None]
    assert [n.tag for n in slots.inbound.elements] == ["cache-lookup"]
    assert [d.origin.label for d in slots.inbound.dropped] == [
        "operation:scheduling/list-available-slots"
    ]
    staff = paths["scheduling", "book-appointment", "internal-staff"].inbound
    (validate,) = staff.iter(VALIDATE)
    assert validate.origin.label == "product:internal-staff"
    assert validate.attr("validate-revocation") == "false"
    assert [d.origin.label for d in staff.dropped] == ["product:internal-staff"]
    (everyone,) = paths["scheduling", "book-appointment", None].inbound.iter(VALIDATE)
    assert everyone.origin.label == "global"


def test_the_sample_billing_on_error_drops_the_global_one(sample: ServiceModel) -> None:
    on_error = by_name(sample)["billing", "health", None].on_error
    assert [n.tag for n in on_error.elements] == ["return-response"]
    assert {n.origin.label for n in on_error.iter()} == {"api:billing"}


def test_work_follows_distinct_policies_not_operations(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: Counter[str] = Counter()

    def counting(text: str, *, source: str = "", escaped: bool | None = None) -> PolicyDocument:
        calls[text] += 1
        return real_parse(text, source=source, escaped=escaped)

    svc = build_model(make_instance(apis=80, operations=1600, policies=160, fragments=6)).services[
        0
    ]
    monkeypatch.setattr(effective_module, "parse_policy", counting)  # the model parsed its own
    policies = EffectivePolicies.for_service(svc)
    first = dict(policies.paths())
    for effective in first.values():
        assert effective.inbound.name == "inbound"
    assert len(first) > len(svc.operations)  # a path per product as well
    assert max(calls.values()) == 1
    assert policies.parses.count == len(calls)
    texts = {(p.text, p.format == "rawxml") for p in svc.policies}
    assert len(calls) < len(svc.policies)  # identical texts share one parse
    assert len(calls) >= len(texts)  # every policy text reached (fragments come on top)

    chains = {tuple(layer.origin.resource_id for layer in e.layers) for e in first.values()}
    assert len({id(e) for e in first.values()}) == len(chains)  # one object per chain
    assert policies.computations <= 2 * len(chains)  # the chains and their prefixes
    with_policy = {p.scope_id.lower() for p in svc.policies}
    for path, effective in first.items():
        if path.operation_id and path.operation_id.lower() not in with_policy:
            assert effective is policies.effective(path.api_id, None, path.product_id)

    made = policies.computations
    again = dict(policies.paths())
    assert all(again[path] is effective for path, effective in first.items())
    assert (policies.computations, policies.parses.count) == (made, len(calls))


def test_a_parse_cache_is_shared_across_services(sample: ServiceModel) -> None:
    (policies,) = EffectivePolicies.for_services([sample, sample]).values()
    shared = policies.parses
    for _, effective in policies.paths():
        assert effective.inbound.name == "inbound"
    count = shared.count
    assert count == 12  # 11 policies and the fragment, all different
    for _, effective in EffectivePolicies.for_service(sample, parses=shared).paths():
        assert effective.inbound.name == "inbound"
    assert shared.count == count
