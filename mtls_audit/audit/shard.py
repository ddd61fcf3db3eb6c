"""``--shard K/N``: which targets one of N workers scans.

A target belongs to shard ``1 + (first 8 bytes of SHA-256 of its name, lower-cased) mod N``: the
same on every machine and run, independent of the targets' order and of which other targets
exist, so N workers each given the same schedule (and the same discovery answer) scan every
target exactly once, and adding a target moves no other one.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TypeVar

T = TypeVar("T")
_SHARD = re.compile(r"^\s*(\d{1,5})\s*/\s*(\d{1,5})\s*$")


@dataclass(frozen=True)
class Shard:
    index: int  # 1-based, as written
    count: int

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"

    def holds(self, name: str) -> bool:
        digest = hashlib.sha256(name.lower().encode("utf-8")).digest()
        return int.from_bytes(digest[:8], "big") % self.count == self.index - 1


def parse_shard(text: str) -> Shard:
    """``K/N`` with 1 ≤ K ≤ N; ValueError otherwise."""
    match = _SHARD.match(text)
    if match is None:
        raise ValueError(f"{text!r} is not K/N (e.g. 2/8)")
    index, count = int(match[1]), int(match[2])
    if not 1 <= index <= count:
        raise ValueError(f"{text!r}: K must be between 1 and N")
    return Shard(index, count)


def select(items: Sequence[T], shard: Shard, name: Callable[[T], str]) -> list[T]:
    """The items of ``shard``, in their order."""
    return [item for item in items if shard.holds(name(item))]
