"""Metamorphic and soundness properties over the verdict corpus (``verdicts/``).

Equivalent rewrites of a corpus policy judge identically, rule by rule: ``.Contains`` ↔
``.Any(lambda)`` ↔ ``Array.IndexOf(..) != -1``; a header indexer ↔ ``GetValueOrDefault``; the
negative form (reject when bad) ↔ the positive form with ``<otherwise>``; De Morgan; a condition
inline ↔ through a variable ↔ in a statement block; one order of ``<identity>`` elements ↔
another, and an identity listed once ↔ twice. Hypothesis picks the policy and the rewrites
(one, or two composed).

Soundness: replacing a recognised certificate test with an expression the analyser cannot model
that still reads the certificate makes the verdicts of the rules that judge that test undecided
(where they passed) and never a pass. Other rules may change either way: a bypass of a pin that
is now unknown is no longer shown, while the chain check still covers every request.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import cache

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mtls_audit.policy.standalone import judge_text
from tests.rules.test_verdict_corpus import COLUMNS, corpus_policy, expectations, judge

Rewrite = Callable[[str], str]
_SETTINGS = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
CERT = "context.Request.Certificate"
_Q = "&quot;"
_COLLECTION = r"(new [^{}()]*(?:\([^()]*\))?\s*\{[^{}]*\})"
_ARGUMENT = r"(context\.Request\.[A-Za-z.]+(?:\[[^\]]*\]\.First\(\))?)"


def contains_to_any(text: str) -> str:
    return re.sub(rf"{_COLLECTION}\.Contains\({_ARGUMENT}\)", r"\1.Any(item => item == \2)", text)


def contains_to_index_of(text: str) -> str:
    return re.sub(
        rf"{_COLLECTION}\.Contains\({_ARGUMENT}\)", r"(Array.IndexOf(\1, \2) != -1)", text
    )


def any_to_contains(text: str) -> str:
    return re.sub(rf"{_COLLECTION}\.Any\((\w+) => \2 == {_ARGUMENT}\)", r"\1.Contains(\3)", text)


def _in_conditions(text: str, pattern: str, replacement: str) -> str:
    """Rewrite inside ``<when condition>`` only: there a header compared with a pin rejects
    a request without it either way (the indexer throws, GetValueOrDefault gives "")."""
    return re.sub(r'condition="[^"]*"', lambda m: re.sub(pattern, replacement, m[0]), text)


def getvalueordefault_to_indexer(text: str) -> str:
    return _in_conditions(
        text,
        rf"context\.Request\.Headers\.GetValueOrDefault\(({_Q}[^&]*{_Q}), {_Q}{_Q}\)",
        r"context.Request.Headers[\1].First()",
    )


def indexer_to_getvalueordefault(text: str) -> str:
    return _in_conditions(
        text,
        rf"context\.Request\.Headers\[({_Q}[^&]*{_Q})\]\.First\(\)",
        rf"context.Request.Headers.GetValueOrDefault(\1, {_Q}{_Q})",
    )


_REJECTING_WHEN = re.compile(
    r'<choose>\s*<when condition="@\((?P<cond>[^"]*)\)">\s*'
    r"(?P<reject><return-response>(?:(?!<when).)*?</return-response>)\s*</when>\s*</choose>",
    re.S,
)


def negative_to_positive(text: str) -> str:
    """``<when condition="bad">reject</when>`` → ``<when condition="!(bad)" />`` and the
    rejection in ``<otherwise>``."""
    return _REJECTING_WHEN.sub(
        lambda m: (
            f'<choose>\n      <when condition="@(!({m["cond"]}))" />\n      '
            f"<otherwise>{m['reject']}</otherwise>\n    </choose>"
        ),
        text,
    )


def de_morgan(text: str) -> str:
    """``cert == null || !cert.Verify()`` → ``!(cert != null &amp;&amp; cert.Verify())``."""
    return text.replace(
        f"{CERT} == null || !{CERT}.Verify()",
        f"!({CERT} != null &amp;&amp; {CERT}.Verify())",
    )


def inline_to_block(text: str) -> str:
    return re.sub(r'condition="@\(([^"]*)\)"', r'condition="@{ return \1; }"', text)


_FIRST_WHEN = re.compile(r'(?P<indent>[ ]*)<choose>\s*<when condition="@\((?P<cond>[^"]*)\)"')


def inline_to_variable(text: str) -> str:
    """The first ``<when>`` condition computed by a ``<set-variable>`` just before it."""
    return _FIRST_WHEN.sub(
        lambda m: (
            f'{m["indent"]}<set-variable name="verdict-input" value="@({m["cond"]})" />\n'
            f'{m["indent"]}<choose>\n{m["indent"]}  <when condition="@((bool)context.Variables'
            f'[{_Q}verdict-input{_Q}])"'
        ),
        text,
        count=1,
    )


def reverse_identities(text: str) -> str:
    def reverse(match: re.Match[str]) -> str:
        found = re.findall(r"<identity\b[^>]*/>", match[0])
        return "<identities>" + "".join(reversed(found)) + "</identities>"

    return re.sub(r"<identities>.*?</identities>", reverse, text, flags=re.S)


def repeat_an_identity(text: str) -> str:
    """An allow-list holding one identity twice accepts the same certificates."""
    return re.sub(r"(<identity\b[^>]*/>)", r"\1\1", text, count=1)


REWRITES: dict[str, Rewrite] = {
    f.__name__: f
    for f in (
        contains_to_any,
        contains_to_index_of,
        any_to_contains,
        getvalueordefault_to_indexer,
        indexer_to_getvalueordefault,
        negative_to_positive,
        de_morgan,
        inline_to_block,
        inline_to_variable,
        reverse_identities,
        repeat_an_identity,
    )
}


@cache
def verdicts(api_policy: str, global_policy: str | None) -> tuple[tuple[str, ...], ...]:
    """Per rule, the set of statuses and severities of its results (rules that report per
    element may cite one more element through a variable)."""
    found = judge(api_policy, global_policy)
    return tuple(
        tuple(
            sorted(
                {f"{r.status.value}:{r.severity.value if r.severity else ''}" for r in found[rule]}
            )
        )
        for rule in COLUMNS
    )


def applicable() -> list[tuple[str, str]]:
    """Every (policy, rewrite) pair where the rewrite changes the policy."""
    pairs = []
    for name in sorted(expectations()):
        text, _ = corpus_policy(name)
        pairs += [(name, rewrite) for rewrite, f in REWRITES.items() if f(text) != text]
    return pairs


PAIRS = applicable()


def test_every_rewrite_applies_somewhere() -> None:
    assert {rewrite for _, rewrite in PAIRS} == set(REWRITES)


@_SETTINGS
@given(st.sampled_from(PAIRS), st.sampled_from(sorted(REWRITES)))
def test_equivalent_rewrites_judge_identically(pair: tuple[str, str], second: str) -> None:
    name, first = pair
    text, global_policy = corpus_policy(name)
    rewritten = REWRITES[first](text)
    again = REWRITES[second](rewritten)
    assert verdicts(rewritten, global_policy) == verdicts(text, global_policy), (name, first)
    assert verdicts(again, global_policy) == verdicts(text, global_policy), (name, first, second)


# -- soundness -----------------------------------------------------------------------------------

_UNKNOWN = f"{CERT}.GetRawCertDataString().GetHashCode() % 7 == 3"
"""An expression about the certificate the analyser does not model."""
_TESTS = {
    "thumbprint": (
        re.compile(rf"{re.escape(CERT)}\.Thumbprint != {_Q}[0-9A-F]{{40}}{_Q}"),
        ("MTLS-IN-05",),
    ),
    "allow-list": (
        re.compile(rf"!{_COLLECTION}\.(?:Contains|Any)\([^()]*Thumbprint\)"),
        ("MTLS-IN-05",),
    ),
    "chain": (re.compile(rf"!{re.escape(CERT)}\.Verify\(\)"), ("MTLS-IN-03", "MTLS-IN-04")),
}


def soundness_cases() -> list[tuple[str, str]]:
    """Corpus policies holding exactly one occurrence of a recognised test, and no other
    element that performs the same check (nor a global policy), that let some request in (a
    policy that rejects everything decides every failure whatever the test says)."""
    cases = []
    for name in sorted(expectations()):
        text, global_policy = corpus_policy(name)
        if global_policy is not None or "validate-client-certificate" in text:
            continue
        judged = judge_text(text, f"{name}.xml").verdict
        if judged is None or not judged.accepts_any:
            continue
        for test, (pattern, _) in _TESTS.items():
            if len(pattern.findall(text)) == 1:
                cases.append((name, test))
    return cases


SOUNDNESS = soundness_cases()


def test_soundness_cases_cover_every_recognised_test() -> None:
    assert {test for _, test in SOUNDNESS} == set(_TESTS)


@pytest.mark.parametrize(("name", "test"), SOUNDNESS)
def test_an_unmodelled_certificate_test_is_undecided_never_passed(name: str, test: str) -> None:
    text, _ = corpus_policy(name)
    pattern, affected = _TESTS[test]
    replaced = pattern.sub(f"({_UNKNOWN})", text)
    before = dict(zip(COLUMNS, verdicts(text, None), strict=True))
    after = dict(zip(COLUMNS, verdicts(replaced, None), strict=True))
    for rule in affected:
        statuses = {entry.partition(":")[0] for entry in after[rule]}
        if {entry.partition(":")[0] for entry in before[rule]} == {"pass"}:
            assert statuses == {"indeterminate"}, (rule, after[rule])
        assert "pass" not in statuses, (rule, after[rule])
