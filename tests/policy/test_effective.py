"""Effective policies: <base/> across scopes, product paths, provenance and problems."""

from __future__ import annotations

import dataclasses

import pytest

from mtls_audit.model.entities import Api, Fragment
from mtls_audit.policy.effective.policies import EffectivePolicies, PolicyPath, workspace_of
from mtls_audit.policy.effective.tree import EXCERPT_CHARS, OriginKind, ProblemKind
from mtls_audit.policy.parsing.tree import SECTIONS
from tests.policy.effective_support import (
    VALIDATE,
    api,
    api_id,
    document,
    fragment,
    names,
    operation_id,
    policy,
    product,
    product_id,
    service,
    tags,
)
from tests.rules.builder import SERVICE_ID, child


def labelled(prefix: str) -> dict[str, str]:
    """One labelled element per section, e.g. ``<set-variable name="g-inbound" …/>``."""
    return {
        name.replace("-", "_"): f'<set-variable name="{prefix}-{name}" value="1" />'
        for name in SECTIONS
    }


def around_base(prefix: str) -> dict[str, str]:
    return {
        name.replace("-", "_"): f'<set-variable name="{prefix}-{name}-before" value="1" />\n'
        "<base />\n"
        f'<set-variable name="{prefix}-{name}-after" value="1" />'
        for name in SECTIONS
    }


@pytest.mark.parametrize("section", SECTIONS)
def test_base_is_replaced_by_the_parent_section(section: str) -> None:
    svc = service(
        policy("", document(**labelled("g"))),
        policy("apis/a", document(**around_base("a"))),
        api("a", "op"),
    )
    effective = EffectivePolicies.for_service(svc).effective(api_id("a"), operation_id("a", "op"))
    got = effective.section(section)
    assert names(got) == [f"a-{section}-before", f"g-{section}", f"a-{section}-after"]
    assert got.dropped == ()
    assert got.complete
    assert got.assumptions == ()


@pytest.mark.parametrize("section", SECTIONS)
def test_a_section_without_base_drops_the_parent(section: str) -> None:
    own = {name.replace("-", "_"): "<base />" for name in SECTIONS}
    own[section.replace("-", "_")] = f'<set-variable name="a-{section}" value="1" />'
    svc = service(
        policy("", document(**labelled("g"))), policy("apis/a", document(**own)), api("a")
    )
    effective = EffectivePolicies.for_service(svc).effective(api_id("a"))
    assert names(effective.section(section)) == [f"a-{section}"]
    (drop,) = effective.section(section).dropped
    assert drop.origin.label == "api:a"
    assert drop.line == 2 + 3 * SECTIONS.index(section)  # the line of the section's start tag
    assert names(drop.parent) == [f"g-{section}"]
    for other in SECTIONS:
        if other != section:
            assert names(effective.section(other)) == [f"g-{other}"]


def test_api_without_base_under_a_validating_global_policy() -> None:
    svc = service(
        policy("", document(inbound=VALIDATE)),
        policy("apis/a", document(inbound='<set-backend-service base-url="https://b" />')),
        api("a", "op"),
    )
    policies = EffectivePolicies.for_service(svc)
    effective = policies.effective(api_id("a"), operation_id("a", "op"))
    assert tags(effective.inbound) == ["set-backend-service"]
    assert effective.layer is not None
    assert effective.layer.keeps_base("inbound") is False
    assert effective.parent is not None
    assert tags(effective.parent.inbound) == ["validate-client-certificate"]
    (drop,) = effective.inbound.dropped
    assert list(drop.parent.iter("validate-client-certificate"))


def test_operation_override_without_base() -> None:
    svc = service(
        policy("", document(inbound=VALIDATE)),
        policy("apis/a", document(inbound='<base />\n<rate-limit calls="5" renewal-period="1" />')),
        policy("apis/a/operations/slots", document(inbound="<cache-lookup />")),
        api("a", "slots", "book"),
    )
    policies = EffectivePolicies.for_service(svc)
    slots = policies.effective(api_id("a"), operation_id("a", "slots"))
    book = policies.effective(api_id("a"), operation_id("a", "book"))
    assert tags(slots.inbound) == ["cache-lookup"]
    assert [d.origin.kind for d in slots.inbound.dropped] == [OriginKind.OPERATION]
    assert tags(book.inbound) == ["validate-client-certificate", "rate-limit"]
    assert book is policies.effective(api_id("a"))  # no operation policy: the API's own object
    assert slots.parent is book


def test_validation_only_at_product_scope() -> None:
    svc = service(
        policy("", document(inbound='<set-header name="x" exists-action="delete" />')),
        policy("products/partners", document(inbound=f"<base />\n{VALIDATE}")),
        policy("apis/a", document(inbound="<base />")),
        api("a", "op"),
        product("partners", "a"),
    )
    policies = EffectivePolicies.for_service(svc)
    paths = dict(policies.paths())
    bare = PolicyPath(api_id("a"), operation_id("a", "op"), None)
    via_product = PolicyPath(api_id("a"), operation_id("a", "op"), product_id("partners"))
    assert set(paths) == {bare, via_product}
    assert not list(paths[bare].inbound.iter("validate-client-certificate"))
    (found,) = paths[via_product].inbound.iter("validate-client-certificate")
    assert found.origin.kind is OriginKind.PRODUCT
    assert policies.products_of(api_id("a")) == (product_id("partners"),)
    assert paths[bare].key != paths[via_product].key


def test_a_scope_without_policy_inherits_unchanged() -> None:
    svc = service(policy("", document(inbound=VALIDATE)), api("a", "op"), product("p", "a"))
    policies = EffectivePolicies.for_service(svc)
    shared = {id(e) for _, e in policies.paths()}
    assert len(shared) == 1  # the global policy's, on both paths
    effective = dict(policies.paths())[PolicyPath(api_id("a"), operation_id("a", "op"), None)]
    assert [layer.origin.kind for layer in effective.layers] == [OriginKind.GLOBAL]


def test_an_api_without_operations_has_one_path_per_product() -> None:
    svc = service(api("a"), product("p", "a"))
    got = [path for path, _ in EffectivePolicies.for_service(svc).paths()]
    assert got == [
        PolicyPath(api_id("a"), None, None),
        PolicyPath(api_id("a"), None, product_id("p")),
    ]


def test_provenance_through_two_levels_of_base_and_a_fragment() -> None:
    svc = service(
        policy("", document(inbound=VALIDATE)),
        policy("apis/a", document(inbound='<base />\n<include-fragment fragment-id="allow" />')),
        policy("apis/a/operations/op", document(inbound="<base />")),
        fragment("allow", '<choose>\n  <when condition="@(true)">\n  </when>\n</choose>'),
        api("a", "op"),
    )
    effective = EffectivePolicies.for_service(svc).effective(api_id("a"), operation_id("a", "op"))
    validate, choose = effective.inbound.elements
    assert (validate.origin.kind, validate.line, validate.column) == (OriginKind.GLOBAL, 3, 5)
    assert validate.origin.resource_id == f"{SERVICE_ID}/policies/policy"
    assert [(s.kind, s.origin.label, s.line) for s in validate.via] == [
        ("base", "operation:a/op", 3),
        ("base", "api:a", 3),
    ]
    assert validate.chain() == (
        "operation:a/op inbound <base/> (line 3) ← api:a inbound <base/> (line 3) ← global, line 3"
    )
    assert choose.origin.kind is OriginKind.FRAGMENT
    assert choose.origin.resource_id == f"{SERVICE_ID}/policyFragments/allow"
    assert [(s.kind, s.origin.label, s.line, s.fragment) for s in choose.via] == [
        ("base", "operation:a/op", 3, ""),
        ("include", "api:a", 4, "allow"),
    ]
    (when,) = choose.children
    assert (when.line, when.via) == (3, choose.via)
    assert when.place() == (
        f"{SERVICE_ID}/policyFragments/allow",
        "fragment:allow",
        3,
        '<when condition="@(true)" />',
    )


def test_excerpt_is_one_line_cut_between_tokens() -> None:
    long_value = "@(" + " && ".join(["context.Request.Certificate != null"] * 8) + ")"
    svc = service(policy("", document(inbound=f'<when\n   condition="{long_value}">\n</when>')))
    policies = EffectivePolicies.for_service(svc)
    (when,) = policies.effective(api_id("none")).inbound.elements
    assert len(when.excerpt()) <= EXCERPT_CHARS
    # Cut after a whole token, never inside "Certificate" or "context.".
    assert when.excerpt().endswith(("null …", "&& …", "!= …")), when.excerpt()
    assert "\n" not in when.excerpt()
    assert when.excerpt().startswith('<when condition="@(context')


def test_a_policy_the_parser_refuses_is_a_problem() -> None:
    svc = service(
        policy("", document(inbound=VALIDATE)),
        policy("apis/a", '<!DOCTYPE p [<!ENTITY x "y">]><policies />'),
        policy("apis/a/operations/own", document(inbound="<cache-lookup />")),
        api("a", "op", "own"),
    )
    policies = EffectivePolicies.for_service(svc)
    effective = policies.effective(api_id("a"), operation_id("a", "op"))
    (problem,) = effective.inbound.problems
    assert problem.kind is ProblemKind.UNPARSABLE
    assert problem.origin.label == "api:a"
    assert "DOCTYPE" in problem.message
    assert not effective.inbound.complete
    assert effective.problems == (problem,)  # one problem, though every section carries it
    own = policies.effective(api_id("a"), operation_id("a", "own"))
    assert own.inbound.complete
    assert tags(own.inbound) == ["cache-lookup"]


def test_policy_text_behind_a_link_is_a_problem() -> None:
    svc = service(policy("apis/a", "https://example.com/p.xml", fmt="rawxml-link"), api("a"))
    (problem,) = EffectivePolicies.for_service(svc).effective(api_id("a")).inbound.problems
    assert problem.kind is ProblemKind.NO_TEXT
    assert "link" in problem.message


def test_a_missing_section_is_read_as_inheriting_and_recorded() -> None:
    svc = service(
        policy("", document(**labelled("g"))),
        policy("apis/a", document(outbound=None, backend=None)),
        api("a"),
    )
    effective = EffectivePolicies.for_service(svc).effective(api_id("a"))
    assert names(effective.outbound) == ["g-outbound"]
    (assumption,) = effective.outbound.assumptions
    assert (assumption.origin.label, assumption.section) == ("api:a", "outbound")
    assert effective.layer is not None
    assert effective.layer.keeps_base("outbound") is None
    assert effective.inbound.assumptions == ()
    assert {a.section for a in effective.assumptions} == {"outbound", "backend"}


def test_escaped_and_raw_forms_give_the_same_effective_policy() -> None:
    raw = '<when condition="@(context.Request.Headers.GetValueOrDefault("a", "") != "b")" />'
    escaped = raw.replace('"a", "") != "b"', "&quot;a&quot;, &quot;&quot;) != &quot;b&quot;")
    effective = [
        EffectivePolicies.for_service(
            service(policy("", document(inbound=text), fmt=fmt))
        ).effective(api_id("x"))
        for text, fmt in ((raw, "rawxml"), (escaped, "xml"))
    ]
    raw_when, escaped_when = (e.inbound.elements[0] for e in effective)
    assert raw_when.attr("condition") == escaped_when.attr("condition")
    assert raw_when.excerpt() == escaped_when.excerpt()


def test_an_operation_of_another_api_is_refused() -> None:
    policies = EffectivePolicies.for_service(service(api("a", "op"), api("b")))
    with pytest.raises(ValueError, match="not an operation of API"):
        policies.effective(api_id("b"), operation_id("a", "op"))
    with pytest.raises(ValueError, match="unknown policy section"):
        policies.effective(api_id("a")).section("inbond")


def test_workspace_scope_sits_between_global_and_product() -> None:
    workspace = f"{SERVICE_ID}/workspaces/team"
    ws_api = f"{workspace}/apis/orders"
    svc = service(
        policy("", document(inbound=VALIDATE)),
        policy(
            "workspaces/team", document(inbound='<base />\n<include-fragment fragment-id="f" />')
        ),
        policy(
            "workspaces/team/products/gold",
            document(inbound='<base />\n<set-variable name="p" value="1" />'),
        ),
        policy(
            "workspaces/team/apis/orders",
            document(inbound='<set-variable name="a" value="1" />\n<base />'),
        ),
        fragment("f", '<set-variable name="service-fragment" value="1" />'),
        fragment("f", '<set-variable name="team-fragment" value="1" />', scope="workspaces/team"),
    )
    assert workspace_of(ws_api) == workspace
    assert workspace_of(api_id("a")) is None
    # The model files workspace fragments under `other`; offered as fragments they are preferred.
    team_fragment = next(e for e in svc.other if e.id.lower().endswith("team/policyfragments/f"))
    svc = dataclasses.replace(svc, fragments=(*svc.fragments, Fragment(team_fragment.raw)))
    effective = EffectivePolicies.for_service(svc).effective(
        ws_api, None, f"{workspace}/products/gold"
    )
    kinds = [layer.origin.kind for layer in effective.layers]
    assert kinds == [OriginKind.GLOBAL, OriginKind.WORKSPACE, OriginKind.PRODUCT, OriginKind.API]
    assert [e.attr("name") or e.tag for e in effective.inbound.elements] == [
        "a",
        "validate-client-certificate",
        "team-fragment",
        "p",
    ]


def test_workspace_apis_offered_by_the_model_get_paths() -> None:
    svc = service(policy("workspaces/w", document(inbound=VALIDATE)))
    ws_api = Api(child("workspaces/w/apis/orders", {"displayName": "orders"}))
    svc = dataclasses.replace(svc, apis=(ws_api,))
    ((path, effective),) = EffectivePolicies.for_service(svc).paths()
    assert path.api_id == ws_api.id
    assert tags(effective.inbound) == ["validate-client-certificate"]


def test_a_direct_and_a_nested_base_both_bring_the_parent() -> None:
    inbound = (
        '<choose><when condition="@(context.Request.Method == &quot;POST&quot;)">'
        "<base /></when></choose>\n<base />"
    )
    svc = service(
        policy("", document(**labelled("g"))),
        policy("apis/a", document(inbound=inbound)),
        api("a"),
    )
    got = EffectivePolicies.for_service(svc).effective(api_id("a")).inbound
    assert tags(got) == ["choose", "set-variable"]
    (when,) = got.elements[0].children
    assert [child.attr("name") for child in when.children] == ["g-inbound"]
    assert [step.kind for step in when.children[0].via] == ["base"]
    assert got.problems == ()
