"""The functions of ARM template expressions, and their evaluator.

:func:`evaluate_string` evaluates a template string against a :class:`Context` that answers
``parameters()``, ``variables()`` and ``copyIndex()``. Only functions whose result is known
without Azure are implemented. Any other function raises :class:`UnsupportedFunction` naming it;
the caller keeps the original string and records a gap.

``guid()`` is computed as ARM documents it (a name-based UUID v5 over the arguments joined by
``-``) so role assignment names stay stable. Id functions are in ``arm_ids``, array, object and
lambda functions in ``arm_collections``; ``reference()`` answers only for a resource the template
itself declares (languageVersion 2.0 symbolic names).
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Callable
from typing import Any

from mtls_audit.sources.arm.collection_functions import COLLECTION_FUNCTIONS, LAMBDA_FUNCTIONS
from mtls_audit.sources.arm.expression import (
    Context,
    EvaluationError,
    Evaluator,
    ExpressionError,
    Node,
    declared,
    kind_of,
    member,
    parse,
    unsupported,
)
from mtls_audit.sources.arm.id_functions import (
    extension_resource_id,
    resource_group,
    resource_id,
    subscription,
    subscription_resource_id,
    tenant_resource_id,
)
from mtls_audit.sources.arm.values import int_arg, limit, same, str_arg, text

_GUID_NAMESPACE = uuid.UUID("11fb06fb-712d-4ddd-98c7-e71bbd588830")


def evaluate_string(
    value: str, ctx: Context, *, placeholders: list[ExpressionError] | None = None
) -> Any:
    """The value of a template string: the expression's result, or the literal text.

    With ``placeholders`` (used for resource names), an argument of ``concat``/``format`` that
    cannot be evaluated is kept as its own ``[...]`` text and its error appended to the list, so
    ``format('{0}/policy', parameters('x'))`` still yields two name segments.
    """
    if len(value) >= 2 and value[0] == "[" and value[-1] == "]":
        if value[1] == "[":
            return value[1:]
        try:
            return Evaluator(ctx, _FUNCTIONS, _LAZY, placeholders).eval(parse(value[1:-1]))
        except RecursionError:
            raise EvaluationError("the expression is nested too deeply") from None
    return value


def _copy_index(ctx: Context, *args: Any) -> int:
    loop = next((a for a in args if isinstance(a, str)), None)
    offset = next((a for a in args if type(a) is int), 0)
    return ctx.copy_index(loop) + offset


def _concat(_ctx: Context, *args: Any) -> Any:
    if args and all(isinstance(a, list) for a in args):
        return [item for a in args for item in a]
    if any(isinstance(a, list | dict) for a in args):
        raise EvaluationError("concat() takes only strings or only arrays")
    return limit("".join(text(a) for a in args))


_FORMAT_ITEM = re.compile(r"\{\{|\}\}|\{(\d+)([,:][^}]*)?\}")


def _format(_ctx: Context, template: Any, *args: Any) -> str:
    def item(match: re.Match[str]) -> str:
        if match.group(1) is None:
            return match.group()[0]
        if match.group(2):
            raise EvaluationError(f"format(): the specifier {match.group()!r} is not supported")
        index = int(match.group(1))
        if index >= len(args):
            raise EvaluationError(f"format(): no argument for {match.group()}")
        return text(args[index])

    return limit(_FORMAT_ITEM.sub(item, str_arg(template, "format")))


def _contains(_ctx: Context, container: Any, item: Any) -> bool:
    if isinstance(container, str):
        return text(item) in container
    if isinstance(container, list):
        return any(same(element, item) for element in container)
    if isinstance(container, dict):
        return str_arg(item, "contains").lower() in (key.lower() for key in container)
    raise EvaluationError(f"contains() cannot search {kind_of(container)}")


def _empty(_ctx: Context, value: Any) -> bool:
    if value is None:
        return True
    if isinstance(value, str | list | dict):
        return len(value) == 0
    raise EvaluationError(f"empty() cannot test {kind_of(value)}")


def _length(_ctx: Context, value: Any) -> int:
    if isinstance(value, str | list | dict):
        return len(value)
    raise EvaluationError(f"length() cannot measure {kind_of(value)}")


def _edge(index: int) -> Callable[[Context, Any], Any]:
    def edge(_ctx: Context, value: Any) -> Any:
        if isinstance(value, str | list):
            return value[index] if value else ("" if isinstance(value, str) else None)
        raise EvaluationError(f"first()/last() cannot take {kind_of(value)}")

    return edge


def _substring(_ctx: Context, value: Any, first: Any, length: Any = None) -> str:
    text, start = str_arg(value, "substring"), int_arg(first, "substring")
    end = len(text) if length is None else start + int_arg(length, "substring")
    if not 0 <= start <= end <= len(text):
        raise EvaluationError(f"substring(): {start}..{end} is outside the {len(text)} chars")
    return text[start:end]


def _split(_ctx: Context, text: Any, delimiters: Any) -> list[str]:
    parts = delimiters if isinstance(delimiters, list) else [delimiters]
    pattern = "|".join(re.escape(str_arg(part, "split")) for part in parts)
    return re.split(pattern, str_arg(text, "split"))


def _replace(_ctx: Context, text: Any, old: Any, new: Any) -> str:
    if not str_arg(old, "replace"):
        raise EvaluationError("replace(): the text to replace is empty")
    return limit(str_arg(text, "replace").replace(old, str_arg(new, "replace")))


def _create_object(_ctx: Context, *args: Any) -> dict[str, Any]:
    if len(args) % 2:
        raise EvaluationError("createObject() needs key/value pairs")
    return {str_arg(k, "createObject"): v for k, v in zip(args[::2], args[1::2], strict=True)}


def _merge(a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
    merged = dict(a)
    for key, value in b.items():
        old = merged.get(key)
        merged[key] = _union(None, old, value) if _mergeable(old, value) else value
    return merged


def _mergeable(a: Any, b: Any) -> bool:
    return (isinstance(a, dict) and isinstance(b, dict)) or (
        isinstance(a, list) and isinstance(b, list)
    )


def _union(_ctx: Context | None, *args: Any) -> Any:
    if args and all(isinstance(a, dict) for a in args):
        merged: dict[str, Any] = {}
        for a in args:
            merged = _merge(merged, a)
        return merged
    if args and all(isinstance(a, list) for a in args):
        out: list[Any] = []
        for item in (item for a in args for item in a):
            if not any(same(item, seen) for seen in out):
                out.append(item)
        return out
    raise EvaluationError("union() takes only objects or only arrays")


def _shallow_merge(_ctx: Context, objects: Any) -> dict[str, Any]:
    merged: dict[str, Any] = {}
    for item in objects if isinstance(objects, list) else [objects]:
        if not isinstance(item, dict):
            raise EvaluationError(f"shallowMerge() takes objects, got {kind_of(item)}")
        merged.update(item)
    return merged


def _bool(_ctx: Context, value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    if type(value) is int:
        return value != 0
    raise EvaluationError(f"bool() cannot convert {value!r}")


def _to_int(_ctx: Context, value: Any) -> int:
    if isinstance(value, bool):
        raise EvaluationError("int() cannot convert a boolean")
    return int(value.strip()) if isinstance(value, str) else int(value)


def _json(_ctx: Context, text: Any) -> Any:
    try:
        return json.loads(str_arg(text, "json"))
    except json.JSONDecodeError as exc:
        raise EvaluationError(f"json(): not valid JSON ({exc.msg})") from None


def _try_get(_ctx: Context, value: Any, *keys: Any) -> Any:
    for key in keys:
        try:
            value = member(value, key)
        except EvaluationError:
            return None
    return value


def _reference(ctx: Context, target: Any, _api_version: Any = None, full: Any = None) -> Any:
    """``reference('symbol')``: what the template declares for one of its own resources.
    Properties Azure computes (a principal id, a vault URI) are not there and fail as unknown;
    a resource id or an ``existing`` resource reads deployed state, which files do not have."""
    if not isinstance(target, str) or target.startswith("/"):
        raise unsupported("reference")
    return declared(ctx.declared(target, isinstance(full, str) and full.lower() == "full"))


def _guid(_ctx: Context, *args: Any) -> str:
    return str(uuid.uuid5(_GUID_NAMESPACE, "-".join(str_arg(a, "guid") for a in args)))


def _compare(test: Callable[[Any, Any], bool]) -> Callable[[Context, Any, Any], bool]:
    def compare(_ctx: Context, a: Any, b: Any) -> bool:
        if not (type(a) is type(b) and type(a) in (int, str)):
            raise EvaluationError(f"cannot compare {kind_of(a)} with {kind_of(b)}")
        return test(a, b)

    return compare


def _arith(op: Callable[[int, int], int]) -> Callable[[Context, Any, Any], int]:
    def arith(_ctx: Context, a: Any, b: Any) -> int:
        try:
            return op(int_arg(a, "arithmetic"), int_arg(b, "arithmetic"))
        except ZeroDivisionError:
            raise EvaluationError("division by zero") from None

    return arith


def _truncating_div(a: int, b: int) -> int:
    """Integer division rounding toward zero, as .NET does."""
    quotient = abs(a) // abs(b)
    return quotient if (a < 0) == (b < 0) else -quotient


def _not(_ctx: Context, value: Any) -> bool:
    if not isinstance(value, bool):
        raise EvaluationError(f"not() expects true or false, got {kind_of(value)}")
    return not value


def _fold(value: Any, function: str) -> str:
    """startsWith/endsWith compare without case."""
    return str_arg(value, function).lower()


def _lazy_if(ev: Evaluator, args: tuple[Node, ...]) -> Any:
    if len(args) != 3:
        raise EvaluationError("if() takes a condition and two values")
    return ev.eval(args[1] if ev.truth(args[0], "if") else args[2])


def _lazy_and(ev: Evaluator, args: tuple[Node, ...]) -> bool:
    return all(ev.truth(arg, "and") for arg in args)


def _lazy_or(ev: Evaluator, args: tuple[Node, ...]) -> bool:
    return any(ev.truth(arg, "or") for arg in args)


def _lazy_coalesce(ev: Evaluator, args: tuple[Node, ...]) -> Any:
    return next((v for v in (ev.eval(arg) for arg in args) if v is not None), None)


_LAZY: dict[str, Callable[[Evaluator, tuple[Node, ...]], Any]] = {
    "if": _lazy_if,
    "and": _lazy_and,
    "or": _lazy_or,
    "coalesce": _lazy_coalesce,
    **LAMBDA_FUNCTIONS,
}

_FUNCTIONS: dict[str, Callable[..., Any]] = {
    "parameters": lambda ctx, name: ctx.parameter(str_arg(name, "parameters")),
    "variables": lambda ctx, name: ctx.variable(str_arg(name, "variables")),
    "copyindex": _copy_index,
    "resourcegroup": resource_group,
    "subscription": subscription,
    "resourceid": resource_id,
    "subscriptionresourceid": subscription_resource_id,
    "tenantresourceid": tenant_resource_id,
    "extensionresourceid": extension_resource_id,
    "concat": _concat,
    "format": _format,
    "tolower": lambda _c, s: str_arg(s, "toLower").lower(),
    "toupper": lambda _c, s: str_arg(s, "toUpper").upper(),
    "trim": lambda _c, s: str_arg(s, "trim").strip(),
    "startswith": lambda _c, s, p: _fold(s, "startsWith").startswith(_fold(p, "startsWith")),
    "endswith": lambda _c, s, p: _fold(s, "endsWith").endswith(_fold(p, "endsWith")),
    "string": lambda _c, v: limit(text(v)),
    "json": _json,
    "bool": _bool,
    "int": _to_int,
    "equals": lambda _c, a, b: same(a, b),
    "not": _not,
    "empty": _empty,
    "contains": _contains,
    "length": _length,
    "replace": _replace,
    "substring": _substring,
    "split": _split,
    "first": _edge(0),
    "last": _edge(-1),
    "createarray": lambda _c, *items: list(items),
    "createobject": _create_object,
    "union": _union,
    "shallowmerge": _shallow_merge,
    "tryget": _try_get,
    "guid": _guid,
    "reference": _reference,
    "true": lambda _c: True,
    "false": lambda _c: False,
    "null": lambda _c: None,
    "less": _compare(lambda a, b: a < b),
    "lessorequals": _compare(lambda a, b: a <= b),
    "greater": _compare(lambda a, b: a > b),
    "greaterorequals": _compare(lambda a, b: a >= b),
    "add": _arith(lambda a, b: a + b),
    "sub": _arith(lambda a, b: a - b),
    "mul": _arith(lambda a, b: a * b),
    "div": _arith(_truncating_div),
    "mod": _arith(lambda a, b: a - b * _truncating_div(a, b)),
    **COLLECTION_FUNCTIONS,
}
SUPPORTED_FUNCTIONS = frozenset(_FUNCTIONS) | frozenset(_LAZY)
