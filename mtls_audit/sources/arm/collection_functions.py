"""Array, object and text functions of ARM templates that current Bicep compiles to, lambdas
included (``map(x, lambda('i', …))``, ``reduce``, ``filter``, ``sort``, ``toObject``, …).

Each follows the ARM template function reference; a function given the wrong kind of value
raises :class:`EvaluationError`, which the caller turns into a gap on the property.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable
from functools import cmp_to_key
from typing import Any
from urllib.parse import quote, unquote, urljoin

from mtls_audit.sources.arm.expression import Context, EvaluationError, Evaluator, Node, kind_of
from mtls_audit.sources.arm.values import int_arg, limit, same, str_arg, text
from mtls_audit.wording import plural

MAX_RANGE = 10_000
"""ARM's own limit on ``range()``'s count."""


def _array(value: Any, function: str) -> list[Any]:
    if not isinstance(value, list):
        raise EvaluationError(f"{function}() expects an array, got {kind_of(value)}")
    return value


def _object(value: Any, function: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise EvaluationError(f"{function}() expects an object, got {kind_of(value)}")
    return value


def _args(ev: Evaluator, args: tuple[Node, ...], count: int, function: str) -> list[Any]:
    """The first arguments, evaluated; the rest are lambdas."""
    if len(args) < count + 1:
        raise EvaluationError(f"{function}() needs {plural(count, 'value')} and a lambda")
    return [ev.eval(arg) for arg in args[:count]]


def _map(ev: Evaluator, args: tuple[Node, ...]) -> list[Any]:
    [items] = _args(ev, args, 1, "map")
    return [ev.apply("map", args[1], item, i) for i, item in enumerate(_array(items, "map"))]


def _filter(ev: Evaluator, args: tuple[Node, ...]) -> list[Any]:
    [items] = _args(ev, args, 1, "filter")
    kept = []
    for i, item in enumerate(_array(items, "filter")):
        verdict = ev.apply("filter", args[1], item, i)
        if not isinstance(verdict, bool):
            raise EvaluationError(f"filter(): the lambda gave {kind_of(verdict)}, not a boolean")
        if verdict:
            kept.append(item)
    return kept


def _reduce(ev: Evaluator, args: tuple[Node, ...]) -> Any:
    items, value = _args(ev, args, 2, "reduce")
    for i, item in enumerate(_array(items, "reduce")):
        value = ev.apply("reduce", args[2], value, item, i)
    return value


def _sort(ev: Evaluator, args: tuple[Node, ...]) -> list[Any]:
    [items] = _args(ev, args, 1, "sort")

    def before(a: Any, b: Any) -> bool:
        verdict = ev.apply("sort", args[1], a, b)
        if not isinstance(verdict, bool):
            raise EvaluationError(f"sort(): the lambda gave {kind_of(verdict)}, not a boolean")
        return verdict

    def compare(a: Any, b: Any) -> int:
        return -1 if before(a, b) else (1 if before(b, a) else 0)

    return sorted(_array(items, "sort"), key=cmp_to_key(compare))


def _to_object(ev: Evaluator, args: tuple[Node, ...]) -> dict[str, Any]:
    [items] = _args(ev, args, 1, "toObject")
    out: dict[str, Any] = {}
    for item in _array(items, "toObject"):
        key = str_arg(ev.apply("toObject", args[1], item), "toObject")
        out[key] = ev.apply("toObject", args[2], item) if len(args) > 2 else item
    return out


def _map_values(ev: Evaluator, args: tuple[Node, ...]) -> dict[str, Any]:
    [value] = _args(ev, args, 1, "mapValues")
    return {k: ev.apply("mapValues", args[1], v) for k, v in _object(value, "mapValues").items()}


def _group_by(ev: Evaluator, args: tuple[Node, ...]) -> dict[str, list[Any]]:
    [items] = _args(ev, args, 1, "groupBy")
    out: dict[str, list[Any]] = {}
    for item in _array(items, "groupBy"):
        out.setdefault(str_arg(ev.apply("groupBy", args[1], item), "groupBy"), []).append(item)
    return out


def _lambda_variables(ev: Evaluator, args: tuple[Node, ...]) -> Any:
    if len(args) != 1:
        raise EvaluationError("lambdaVariables() takes one name")
    return ev.variable(str_arg(ev.eval(args[0]), "lambdaVariables"))


def _bare_lambda(_ev: Evaluator, _args: tuple[Node, ...]) -> Any:
    raise EvaluationError("lambda() is only a value of map, filter, reduce, sort, toObject, …")


LAMBDA_FUNCTIONS: dict[str, Callable[[Evaluator, tuple[Node, ...]], Any]] = {
    "map": _map,
    "filter": _filter,
    "reduce": _reduce,
    "sort": _sort,
    "toobject": _to_object,
    "mapvalues": _map_values,
    "groupby": _group_by,
    "lambdavariables": _lambda_variables,
    "lambda": _bare_lambda,
}


def _items(_ctx: Context, value: Any) -> list[dict[str, Any]]:
    """``items()``: key/value objects, ordered by key as ARM documents."""
    entries = sorted(_object(value, "items").items(), key=lambda kv: kv[0].lower())
    return [{"key": k, "value": v} for k, v in entries]


def _join(_ctx: Context, items: Any, delimiter: Any) -> str:
    parts = [text(item) for item in _array(items, "join")]
    return limit(str_arg(delimiter, "join").join(parts))


def _index_of(last: bool) -> Callable[[Context, Any, Any], int]:
    def index_of(_ctx: Context, container: Any, item: Any) -> int:
        if isinstance(container, str):  # case-insensitive for text, as ARM documents
            haystack, needle = container.lower(), str_arg(item, "indexOf").lower()
            return haystack.rfind(needle) if last else haystack.find(needle)
        found = [i for i, v in enumerate(_array(container, "indexOf")) if same(v, item)]
        return (found[-1] if last else found[0]) if found else -1

    return index_of


def _range(_ctx: Context, start: Any, count: Any) -> list[int]:
    first, n = int_arg(start, "range"), int_arg(count, "range")
    if not 0 <= n <= MAX_RANGE:
        raise EvaluationError(f"range(): count {n} is not from 0 to {MAX_RANGE}")
    return list(range(first, first + n))


def _slice(keep_head: bool) -> Callable[[Context, Any, Any], Any]:
    def sliced(_ctx: Context, value: Any, count: Any) -> Any:
        n = max(0, int_arg(count, "take/skip"))
        if not isinstance(value, str | list):
            raise EvaluationError(f"take()/skip() cannot take {kind_of(value)}")
        return value[:n] if keep_head else value[n:]

    return sliced


def _extreme(pick: Callable[[list[int]], int]) -> Callable[..., int]:
    def extreme(_ctx: Context, *args: Any) -> int:
        values = args[0] if len(args) == 1 and isinstance(args[0], list) else list(args)
        if not values:
            raise EvaluationError("min()/max() of nothing")
        return pick([int_arg(v, "min/max") for v in values])

    return extreme


def _intersection(_ctx: Context, first: Any, *others: Any) -> Any:
    if isinstance(first, dict):
        objects = [_object(o, "intersection") for o in others]
        return {k: v for k, v in first.items() if all(same(o.get(k), v) for o in objects)}
    arrays = [_array(o, "intersection") for o in others]
    kept: list[Any] = []
    for item in _array(first, "intersection"):
        everywhere = all(any(same(item, x) for x in a) for a in arrays)
        if everywhere and not any(same(item, x) for x in kept):
            kept.append(item)
    return kept


def _flatten(_ctx: Context, value: Any) -> list[Any]:
    return [x for item in _array(value, "flatten") for x in _array(item, "flatten")]


def _pad_left(_ctx: Context, value: Any, width: Any, pad: Any = " ") -> str:
    filler = str_arg(pad, "padLeft")
    if len(filler) != 1:
        raise EvaluationError("padLeft() pads with one character")
    return limit(text(value).rjust(int_arg(width, "padLeft"), filler))


def _from_base64(_ctx: Context, value: Any) -> str:
    try:
        return base64.b64decode(str_arg(value, "base64ToString"), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError) as exc:
        raise EvaluationError(f"base64ToString(): {exc}") from None


def _from_base64_json(ctx: Context, value: Any) -> Any:
    try:
        return json.loads(_from_base64(ctx, value))
    except json.JSONDecodeError as exc:
        raise EvaluationError(f"base64ToJson(): not valid JSON ({exc.msg})") from None


COLLECTION_FUNCTIONS: dict[str, Callable[..., Any]] = {
    "items": _items,
    "objectkeys": lambda _c, value: list(_object(value, "objectKeys")),
    "join": _join,
    "indexof": _index_of(last=False),
    "lastindexof": _index_of(last=True),
    "range": _range,
    "take": _slice(keep_head=True),
    "skip": _slice(keep_head=False),
    "min": _extreme(min),
    "max": _extreme(max),
    "intersection": _intersection,
    "flatten": _flatten,
    "padleft": _pad_left,
    "array": lambda _c, value: value if isinstance(value, list) else [value],
    "base64": lambda _c, v: base64.b64encode(str_arg(v, "base64").encode()).decode(),
    "base64tostring": _from_base64,
    "base64tojson": _from_base64_json,
    "uricomponent": lambda _c, v: quote(str_arg(v, "uriComponent"), safe=""),
    "uricomponenttostring": lambda _c, v: unquote(str_arg(v, "uriComponentToString")),
    "uri": lambda _c, base, rel: urljoin(str_arg(base, "uri"), str_arg(rel, "uri")),
}
