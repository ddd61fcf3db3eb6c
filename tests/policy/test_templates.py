"""Terraform directives inside a policy expression: renderings, switches, and their formulas."""

from __future__ import annotations

import pytest

from mtls_audit.policy.expressions.atoms import REQUEST, Atom, AtomKind
from mtls_audit.policy.expressions.conditions import condition
from mtls_audit.policy.expressions.logic import atoms, evaluate
from mtls_audit.policy.expressions.parser import ExpressionSyntaxError
from mtls_audit.policy.expressions.templates import (
    MAX_SWITCHES,
    Switch,
    is_switch,
    switch_words,
    template,
)
from tests.rules.test_verdict_corpus import corpus_policy, judge

C = "context.Request.Certificate"
PINNED = (
    f"@({C} == null || !{C}.Verify() %{{ if length(t) > 0 }} || "
    f"!new string[] {{ ${{t}} }}.Contains({C}.Thumbprint) %{{ endif }})"
)
IF_T = Switch("if", "length(t) > 0")


def _switch(marker: str) -> Atom:
    return Atom(AtomKind.OPAQUE, "", text=marker)


def test_text_without_directives_has_no_template() -> None:
    assert template(f"@({C} == null || !new[] {{ ${{t}} }}.Contains({C}.Thumbprint))") is None


@pytest.mark.parametrize(
    "text",
    [
        "a %{ endif } b",
        "a %{ if x } b",
        "a %{ for t in l } b %{ else } c %{ endfor }",
        "a %{ if x } b %{ endfor }",
        "a %{ if x } b %{ else } c %{ else } d %{ endif }",
    ],
)
def test_directives_that_do_not_nest_are_no_template(text: str) -> None:
    assert template(text) is None


def test_renderings_keep_every_offset_of_the_written_text() -> None:
    text = "a %{ if x ~} b %{ else ~} c %{ endif ~} d"
    cut = template(text)
    assert cut is not None
    assert cut.switches() == (Switch("if", "x"),)
    kept, other = cut.render({Switch("if", "x"): True}), cut.render({Switch("if", "x"): False})
    assert len(kept) == len(other) == len(text)
    assert kept.split() == ["a", "b", "d"]
    assert kept.index("b") == text.index("b")
    assert other.split() == ["a", "c", "d"]
    assert other.index("c") == text.index("c")


def test_a_for_renders_its_body_or_nothing_and_a_repeated_condition_is_one_switch() -> None:
    cut = template("x %{ for t in l } y %{ endfor } %{ if p } z %{ endif } %{ if p } w %{ endif }")
    assert cut is not None
    loop, p = Switch("for", "t in l"), Switch("if", "p")
    assert cut.switches() == (loop, p)
    assert cut.render({loop: True, p: False}).split() == ["x", "y"]
    assert cut.render({loop: False, p: True}).split() == ["x", "z", "w"]


def test_nested_directives_render_inside_their_branch() -> None:
    cut = template("a %{ if p } b %{ if q } c %{ endif } %{ endif }")
    assert cut is not None
    p, q = Switch("if", "p"), Switch("if", "q")
    assert cut.render({p: True, q: True}).split() == ["a", "b", "c"]
    assert cut.render({p: False, q: True}).split() == ["a"]


def test_what_does_not_depend_on_the_directive_still_counts() -> None:
    formula = condition(PINNED)
    switch = _switch(IF_T.marker)
    null, chain = Atom(AtomKind.CERT_NULL), Atom(AtomKind.CHAIN_VALID)
    assert switch in atoms(formula)
    for deployed in (True, False):
        assert evaluate(formula, {switch: deployed, null: True}) is True
        assert evaluate(formula, {switch: deployed, null: False, chain: False}) is True
    pin = next(a for a in atoms(formula) if a.kind is AtomKind.THUMBPRINT_EQ)
    assert pin.source == REQUEST
    assert pin.literal is None
    valid = {null: False, chain: True, pin: False}
    assert evaluate(formula, {**valid, switch: True}) is True  # another thumbprint: rejected
    assert evaluate(formula, {**valid, switch: False}) is False  # no list rendered: let through


def test_a_directive_inside_an_initializer_is_read_without_renderings() -> None:
    text = (
        f'@(!new string[] {{ %{{ for t in l ~}}"${{t}}",%{{ endfor ~}} }}.Contains({C}.Thumbprint))'
    )
    assert not any(a.kind is AtomKind.OPAQUE for a in atoms(condition(text)))


def test_more_switches_than_the_bound_make_the_expression_unreadable() -> None:
    guarded = " ".join(
        f'%{{ if s{i} }} || {C}.Subject != "${{n{i}}}" %{{ endif }}' for i in range(5)
    )
    assert MAX_SWITCHES < 5
    with pytest.raises(ExpressionSyntaxError, match="32 renderings"):
        condition(f"@({C} == null {guarded})")


def test_a_rendering_that_is_no_csharp_makes_the_expression_unreadable() -> None:
    with pytest.raises(ExpressionSyntaxError):
        condition(f"@({C} == null %{{ if p }} || ( %{{ endif }})")


def test_switches_in_words() -> None:
    assert is_switch(IF_T.marker)
    assert not is_switch("${t}")
    assert not is_switch("path == '/x'")
    assert switch_words(IF_T.marker, False) == "`length(t) > 0` is false at deployment"
    assert switch_words("%{ for t in l }", True) == "`for t in l` renders its body at deployment"
    assert switch_words("context.Request.Method", True) is None


def test_a_bypass_names_the_deployment_condition() -> None:
    results = judge(*corpus_policy("h13-terraform-if-inside-condition"))
    (identity,) = results["MTLS-IN-05"]
    assert identity.status.value == "fail"
    assert "another thumbprint is forwarded to the backend" in identity.message
    assert identity.message.endswith("when `length(thumbprints) > 0` is false at deployment.")
    (missing,) = results["MTLS-IN-02"]
    assert missing.status.value == "pass"
