"""A policy document the parser refuses is a gap: the evidence says it is incomplete."""

from __future__ import annotations

from mtls_audit.analysis import Context
from mtls_audit.analysis.policies import effective_policies
from mtls_audit.model import build_model
from mtls_audit.policy.effective.tree import OriginKind
from tests.rules.builder import SERVICE_ID, child, snapshot

CANARY = "Bearer parsegapcanary0123456789"
REFUSED_POLICY = (
    '<!DOCTYPE policies [<!ENTITY x "y">]>\n<policies><inbound><set-header name="Authorization">'
    f"<value>{CANARY}</value></set-header></inbound></policies>"
)
NO_ELEMENT = f"only words, and {CANARY}"
GOOD = "<policies><inbound><base /></inbound></policies>"


def test_each_refused_document_is_a_parse_error_gap_naming_it() -> None:
    document = snapshot(
        resources=[
            child("apis/a", {"path": "a"}),
            child("apis/a/policies/policy", {"format": "rawxml", "value": REFUSED_POLICY}),
            child("policyFragments/words", {"format": "rawxml", "value": NO_ELEMENT}),
            child("policies/policy", {"format": "rawxml", "value": GOOD}),
        ]
    )

    model = build_model(document)

    gaps = {gap.subject: gap for gap in model.gaps}
    assert set(gaps) == {
        f"{SERVICE_ID}/apis/a/policies/policy",
        f"{SERVICE_ID}/policyFragments/words",
    }
    policy = gaps[f"{SERVICE_ID}/apis/a/policies/policy"]
    assert (policy.kind, policy.what) == ("parse-error", "policy-document")
    assert policy.message.startswith("the policy is not judged")
    assert "line 1, column 1: <!DOCTYPE> declarations are refused" in policy.message
    fragment = gaps[f"{SERVICE_ID}/policyFragments/words"]
    assert fragment.message.startswith("the policy fragment is not judged")
    assert "no policy element found" in fragment.message
    for gap in model.gaps:  # the text was not redacted first here: the message quotes none
        assert "parsegapcanary" not in gap.message
    assert model.gaps_about(subject=SERVICE_ID) == model.gaps


def test_the_documents_are_parsed_once() -> None:
    document = snapshot(
        resources=[child("policies/policy", {"format": "rawxml", "value": REFUSED_POLICY})]
    )
    model = build_model(document)
    effective = effective_policies(Context(model), model.services[0])
    before = effective.parses.count
    layer = effective.layer_at(SERVICE_ID, OriginKind.GLOBAL)
    assert layer is not None
    assert layer.document is None
    assert effective.parses.count == before == 1  # building the model parsed it, once


def test_a_link_or_a_missing_text_is_no_parse_error() -> None:
    document = snapshot(
        resources=[
            child("policies/policy", {"format": "rawxml-link", "value": "https://x/p.xml"}),
            child("apis/a", {"path": "a"}),
            child("apis/a/policies/policy", {"format": "rawxml"}),
        ]
    )
    assert [gap for gap in build_model(document).gaps if gap.kind == "parse-error"] == []
