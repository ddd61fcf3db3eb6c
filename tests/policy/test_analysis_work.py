"""The inbound analysis takes work polynomial in the policy's size, and a bounded amount.

Work is counted in steps (formula nodes built, rows evaluated), never timed, so these tests are
not at the mercy of a loaded machine. Figures in seconds are in ``benchmarks/deep_bench.py``.
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from benchmarks.deep_policies import nested, sequential
from mtls_audit.policy.expressions.atoms import REQUEST, Atom, AtomKind, header_source
from mtls_audit.policy.expressions.decide import assignments, rows
from mtls_audit.policy.expressions.logic import metered
from mtls_audit.policy.inbound import verdicts as inbound
from mtls_audit.policy.inbound.verdicts import FailureKind, Outcome
from mtls_audit.policy.standalone import FileStatus, FileVerdict, judge_text
from tests.policy.inbound_support import CERT, REJECT, judged

_TESTS = (
    f"{CERT} == null",
    f"!{CERT}.Verify()",
    f'{CERT}.Thumbprint != "3F2A9C1B7D4E6F8091A2B3C4D5E6F708192A3B4C"',
    'context.Request.Headers.GetValueOrDefault("X-Mode", "") == "strict"',
    f"{CERT}.NotAfter &lt; DateTime.Now",
    'context.Variables.GetValueOrDefault&lt;bool&gt;("ok", true)',
)


def _work(text: str) -> tuple[int, FileVerdict]:
    with metered() as budget:
        found = judge_text(text, "generated.xml")
    return budget.spent, found


def test_sequential_and_nested_blocks_take_work_linear_in_their_number() -> None:
    for shape in (sequential, nested):
        small, _ = _work(shape(20))
        large, found = _work(shape(80))
        assert found.status is not FileStatus.UNREADABLE
        assert found.verdict is not None
        assert not found.verdict.problems
        # Four times the blocks: about four times the work (it used to double per block).
        assert large <= 6 * small, (shape.__name__, small, large)


def test_two_hundred_blocks_and_thirty_deep_nesting_are_decided_within_the_budget() -> None:
    for text in (sequential(200), nested(30)):
        spent, found = _work(text)
        assert spent < inbound.ANALYSIS_BUDGET
        assert found.verdict is not None
        assert all(v.outcome is not Outcome.UNDECIDABLE for v in found.verdict.kinds.values())


# -- a property over generated policies -----------------------------------------------------


@st.composite
def _blocks(draw: st.DrawFn, depth: int = 0) -> str:
    """Up to five elements: ``<choose>`` blocks (nested up to three deep) over a few tests,
    variables set from the tests and read back, and rejections."""
    parts = []
    for _ in range(draw(st.integers(1, 5 if depth == 0 else 2))):
        kind = draw(st.sampled_from(("choose", "set", "reject") if depth < 3 else ("set",)))
        test = draw(st.sampled_from(_TESTS))
        if kind == "set":
            parts.append(f'<set-variable name="ok" value="@({test})" />')
        elif kind == "reject":
            parts.append(f'<choose><when condition="@({test})">{REJECT}</when></choose>')
        else:
            arms = "".join(
                f'<when condition="@({draw(st.sampled_from(_TESTS))})">'
                f"{draw(_blocks(depth + 1))}</when>"
                for _ in range(draw(st.integers(1, 2)))
            )
            otherwise = draw(st.one_of(st.just(""), _blocks(depth + 1)))
            parts.append(f"<choose>{arms}<otherwise>{otherwise}</otherwise></choose>")
    return "".join(parts)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_blocks(), min_size=1, max_size=8))
def test_work_is_bounded_by_the_policy_size(groups: list[str]) -> None:
    body = "".join(groups)
    elements = body.count("<") - body.count("</")  # start tags
    spent, found = _work(
        f"<policies><inbound>{body}</inbound><backend><forward-request /></backend></policies>"
    )
    assert found.verdict is not None
    # The tests above touch at most 6 atoms: the table has a bounded number of rows, and the
    # formulas grow with the elements, not with the paths through them (which are exponential
    # in the elements): a polynomial bound, with room above the 45 steps an element seen at
    # most when this was written.
    assert spent <= 200 * elements + elements**2 // 2 + 2_000, (spent, elements)


# -- the budget ---------------------------------------------------------------------------------


_CHECKED = (
    f'<choose><when condition="@({CERT} == null || !{CERT}.Verify())">{REJECT}</when></choose>'
)


@pytest.mark.parametrize("stop", ["compiling", "judging"])
def test_an_analysis_over_its_budget_is_undecidable_and_says_why(
    monkeypatch: pytest.MonkeyPatch, stop: str
) -> None:
    """One step ends the compilation; one step fewer than the analysis takes ends it while the
    last kind is judged. Either way no kind passes or fails, and the reason names the budget."""
    with metered() as whole:
        judged(_CHECKED)
    limit = 1 if stop == "compiling" else whole.spent - 1
    monkeypatch.setattr(inbound, "ANALYSIS_BUDGET", limit)
    found = judged(_CHECKED)
    assert found.status is FileStatus.UNDECIDABLE
    assert found.verdict is not None
    for verdict in found.verdict.kinds.values():
        assert verdict.outcome is Outcome.UNDECIDABLE
        assert f"exceeded its budget of {limit:,} steps" in verdict.reason
    assert found.verdict.tls_missing.outcome is Outcome.UNDECIDABLE
    # Judged: the elements that test each kind are still named.
    assert found.verdict[FailureKind.MISSING].tested is (stop == "judging")


def test_the_same_policy_within_its_budget_is_decided() -> None:
    found = judged(_CHECKED)
    assert found.verdict is not None
    assert found.verdict[FailureKind.MISSING].outcome is Outcome.ALWAYS
    assert found.verdict[FailureKind.UNTRUSTED].outcome is Outcome.ALWAYS


# -- the table rows -------------------------------------------------------------------------


def test_rows_are_the_assignments_in_the_order_asked() -> None:
    thumb = "3F2A9C1B7D4E6F8091A2B3C4D5E6F708192A3B4C"
    header = header_source("X-Client-Cert")
    found = [
        Atom(AtomKind.CERT_NULL),
        Atom(AtomKind.CHAIN_VALID),
        Atom(AtomKind.EXPIRED),
        Atom(AtomKind.THUMBPRINT_EQ, REQUEST, thumb, True),
        Atom(AtomKind.SUBJECT_CONTAINS, REQUEST, "CN=a", False),
        Atom(AtomKind.CERT_NULL, header),
        Atom(AtomKind.OPAQUE, "", text="path"),
        Atom(AtomKind.OPAQUE, "", text="method"),
    ]
    for order in (tuple(found), tuple(reversed(found)), tuple(found[5:]), (found[0],), ()):
        expected = [tuple(a[atom] for atom in order) for a in assignments(order)]
        assert list(rows(order)) == expected
        assert len(set(expected)) == len(expected)
