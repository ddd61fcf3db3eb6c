"""Fragments in effective policies: inserted in place, nested, cyclic, missing, unreadable."""

from __future__ import annotations

from mtls_audit.policy.effective.policies import EffectivePolicies
from mtls_audit.policy.effective.tree import EffectiveSection, OriginKind, ProblemKind
from tests.policy.effective_support import (
    Resource,
    api,
    api_id,
    document,
    fragment,
    policy,
    service,
)


def include(name: str) -> str:
    return f'<include-fragment fragment-id="{name}" />'


def marker(name: str) -> str:
    return f'<set-variable name="{name}" value="1" />'


def inbound_of(*resources: Resource, inbound: str) -> EffectiveSection:
    svc = service(policy("apis/a", document(inbound=inbound)), api("a"), *resources)
    return EffectivePolicies.for_service(svc).effective(api_id("a")).inbound


def markers(section: EffectiveSection) -> list[str | None]:
    return [node.attr("name") for node in section.iter("set-variable")]


def test_a_fragment_is_inserted_where_it_is_included_even_when_nested() -> None:
    inbound = (
        f'{marker("first")}\n<choose>\n  <when condition="@(true)">\n    {include("f")}\n'
        f"  </when>\n</choose>\n{marker('last')}"
    )
    section = inbound_of(fragment("f", f"{marker('f1')}\n{marker('f2')}"), inbound=inbound)
    assert markers(section) == ["first", "f1", "f2", "last"]
    (when,) = section.iter("when")
    assert [child.attr("name") for child in when.children] == ["f1", "f2"]
    assert [(s.kind, s.line, s.fragment) for s in when.children[0].via] == [("include", 6, "f")]
    assert not list(section.iter("include-fragment"))
    assert section.complete


def test_nested_fragments_expand_with_their_whole_chain() -> None:
    section = inbound_of(
        fragment("outer", f"{marker('o')}\n{include('inner')}"),
        fragment("inner", marker("i")),
        inbound=include("outer"),
    )
    assert markers(section) == ["o", "i"]
    inner = section.elements[1]
    assert inner.origin.label == "fragment:inner"
    assert inner.line == 2
    assert [(s.origin.label, s.line, s.fragment) for s in inner.via] == [
        ("api:a", 3, "outer"),
        ("fragment:outer", 3, "inner"),
    ]
    assert inner.chain().endswith(
        'fragment:outer inbound <include-fragment "inner"> (line 3) ← fragment:inner, line 2'
    )


def test_a_fragment_cycle_is_a_problem_not_a_hang() -> None:
    section = inbound_of(
        fragment("a", f"{marker('a')}\n{include('b')}"),
        fragment("b", f"{marker('b')}\n{include('a')}"),
        fragment("self", include("self")),
        inbound=f"{include('a')}\n{include('self')}",
    )
    assert markers(section) == ["a", "b"]
    cycles = [p for p in section.problems if p.kind is ProblemKind.FRAGMENT_CYCLE]
    assert [(p.origin.label, p.line) for p in cycles] == [("fragment:b", 3), ("fragment:self", 2)]
    assert "a → b → a" in cycles[0].message
    assert not section.complete


def test_a_missing_fragment_is_a_problem_at_the_including_scope_and_line() -> None:
    section = inbound_of(inbound=f"{marker('x')}\n{include('gone')}\n<include-fragment />")
    missing = [(p.kind, p.origin.label, p.line) for p in section.problems]
    assert missing == [
        (ProblemKind.MISSING_FRAGMENT, "api:a", 4),
        (ProblemKind.MISSING_FRAGMENT, "api:a", 5),
    ]
    assert '"gone" is not in the snapshot' in section.problems[0].message
    assert markers(section) == ["x"]


def test_an_unreadable_fragment_is_a_problem_at_the_include() -> None:
    bad = {"path": "policyFragments/bad", "properties": {"format": "rawxml", "value": "no markup"}}
    section = inbound_of(bad, inbound=include("bad"))
    (problem,) = section.problems
    assert (problem.kind, problem.origin.label, problem.line) == (
        ProblemKind.UNPARSABLE,
        "api:a",
        3,
    )
    assert 'fragment "bad" cannot be read' in problem.message


def test_base_inside_a_fragment_or_element_is_misplaced() -> None:
    section = inbound_of(
        fragment("f", "<base />"),
        inbound=f"{include('f')}\n<choose>\n  <base />\n</choose>",
    )
    misplaced = [(p.origin.kind, p.line) for p in section.problems]
    assert misplaced == [(OriginKind.FRAGMENT, 2), (OriginKind.API, 5)]
    assert all(p.kind is ProblemKind.MISPLACED_BASE for p in section.problems)


def test_fragment_ids_match_case_insensitively_and_parse_once() -> None:
    svc = service(
        policy("apis/a", document(inbound=include("Shared"))),
        policy("apis/b", document(inbound=include("shared"))),
        api("a"),
        api("b"),
        fragment("shared", marker("s")),
    )
    policies = EffectivePolicies.for_service(svc)
    for name in ("a", "b"):
        assert markers(policies.effective(api_id(name)).inbound) == ["s"]
    assert policies.parses.count == 3  # two API policies and one fragment
