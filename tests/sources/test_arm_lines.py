"""Line numbers of JSON pointers (origins and gap lines), checked against a brute-force walk."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from mtls_audit.sources.arm.json_locate import line_numbers


def every_line(text: str) -> dict[str, int]:
    """Brute force: walk the whole document character by character, noting each value's line."""
    lines: dict[str, int] = {}
    decoder = json.JSONDecoder()

    def skip(at: int) -> int:
        while text[at] in " \t\r\n":
            at += 1
        return at

    def value(at: int, pointer: str) -> int:
        at = skip(at)
        lines[pointer] = text.count("\n", 0, at) + 1
        if text[at] not in "[{":
            return int(decoder.raw_decode(text, at)[1])
        closing, index, at = "]" if text[at] == "[" else "}", 0, skip(at + 1)
        while text[at] != closing:
            if closing == "}":
                key, at = decoder.raw_decode(text, at)
                at = skip(at) + 1
                token = key.replace("~", "~0").replace("/", "~1")
            else:
                token, index = str(index), index + 1
            at = skip(value(at, f"{pointer}/{token}"))
            if text[at] == ",":
                at = skip(at + 1)
        return at + 1

    value(0, "")
    return lines


SAMPLE = """{
  "a": [1, {"b~/c": {"x": [ 1 ,
    2]}}],
  "s": "brackets [ { \\" } ] inside",
  "d" : {"e":
     3}
}"""


def test_known_lines() -> None:
    wanted = ["", "/a/1", "/a/1/b~0~1c/x/1", "/s", "/d/e", "/missing", "/a/7"]
    assert line_numbers(SAMPLE, wanted) == {
        "": 1, "/a/1": 2, "/a/1/b~0~1c/x/1": 3, "/s": 4, "/d/e": 6}  # fmt: skip
    assert line_numbers(SAMPLE, []) == {}


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(alphabet='ab"\\/~[]{}\n ', max_size=5),
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(st.text(alphabet="ab/~ ", max_size=3), inner, max_size=4)
    ),
    max_leaves=25,
)


@given(document=JSON, indent=st.sampled_from([None, 0, 1, 3]), data=st.data())
def test_lines_match_the_brute_force_walk(document: Any, indent: int | None, data: Any) -> None:
    text = json.dumps(document, indent=indent)
    expected = every_line(text)
    chosen = data.draw(st.lists(st.sampled_from(sorted(expected)), unique=True))
    assert line_numbers(text, chosen) == {pointer: expected[pointer] for pointer in chosen}
