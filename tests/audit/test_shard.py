"""``--shard K/N``: N shards cover every target exactly once, whatever the targets' order."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mtls_audit.audit.shard import Shard, parse_shard, select

NAMES = st.lists(
    st.from_regex(r"[A-Za-z0-9][A-Za-z0-9._-]{0,20}", fullmatch=True), unique_by=str.lower
)


@given(names=NAMES, count=st.integers(1, 40), seed=st.randoms())
def test_n_shards_cover_every_target_exactly_once(
    names: list[str], count: int, seed: object
) -> None:
    shards = [select(names, Shard(k, count), str) for k in range(1, count + 1)]
    assert sorted(n for shard in shards for n in shard) == sorted(names)
    # Deterministic and independent of order: the same names, shuffled, fall in the same shards.
    shuffled = list(names)
    seed.shuffle(shuffled)  # type: ignore[attr-defined]
    for k, shard in enumerate(shards, start=1):
        assert sorted(select(shuffled, Shard(k, count), str)) == sorted(shard)


@given(names=NAMES, extra=st.text(min_size=1, max_size=10), count=st.integers(1, 10))
def test_adding_a_target_moves_no_other(names: list[str], extra: str, count: int) -> None:
    for k in range(1, count + 1):
        before = select(names, Shard(k, count), str)
        after = select([*names, extra], Shard(k, count), str)
        assert [n for n in after if n != extra] == [n for n in before if n != extra]


def test_a_thousand_targets_are_spread_over_shards() -> None:
    names = [f"apim-{n}" for n in range(1000)]
    sizes = [len(select(names, Shard(k, 8), str)) for k in range(1, 9)]
    assert min(sizes) > 90  # 125 each on average


@pytest.mark.parametrize("text", ["0/3", "4/3", "3", "a/b", "1/0", "-1/2"])
def test_a_bad_shard_is_refused(text: str) -> None:
    with pytest.raises(ValueError, match="K"):
        parse_shard(text)


def test_a_shard_reads_back_as_written() -> None:
    assert str(parse_shard(" 2 / 8 ")) == "2/8"
