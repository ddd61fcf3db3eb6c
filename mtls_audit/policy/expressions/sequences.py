"""Collection methods over literal string sets: the allow-list idioms of real policies.

``new[] {"A", "B"}.Any(t => t == cert.Thumbprint)``, ``.All``, ``.Where(..).Any()``,
``.Select``, ``.FirstOrDefault(..)``, ``Array.IndexOf``, ``Array.Exists``, ``Array.Find``,
``list.IndexOf``, ``ToList()``/``ToArray()`` and a JSON list parsed from a literal or a named
value are each read as the disjunction (or conjunction) of the lambda over the items, so every
form of one allow-list judges like ``.Contains``. A lambda is applied by the evaluator
(``apply``), which knows the variables in scope.
"""

from __future__ import annotations

import json
from collections.abc import Callable

from mtls_audit.policy.expressions.logic import TRUE, Formula, and_, if_, or_
from mtls_audit.policy.expressions.members import in_text_set
from mtls_audit.policy.expressions.values import (
    Bool,
    Found,
    Lam,
    Leaf,
    Null,
    Number,
    Path,
    Site,
    Text,
    TextSet,
    Throw,
    Value,
    choice,
    truth,
)

Apply = Callable[[Lam, Leaf], Value]
"""The value of a lambda's body for one item."""

_KEEP_AS_IS = frozenset(
    {"ToList", "ToArray", "ToObject", "Values", "AsEnumerable", "ToHashSet", "Distinct"}
)
_PARSERS = frozenset(
    {("JsonConvert", "DeserializeObject"), ("JArray", "Parse"), ("JToken", "Parse")}
)


def sequence_call(
    target: Leaf, name: str, args: list[Leaf], site: Site, apply: Apply
) -> Value | None:
    """``target.name(args)`` when ``target`` is a literal set (or ``Array``/JSON statics over
    one); None when the call is not a collection method modelled here."""
    if isinstance(target, Path):
        return _static(target.path, name, args, site, apply)
    if not isinstance(target, TextSet):
        return None
    lambdas = [arg for arg in args if isinstance(arg, Lam)]
    if lambdas and len(args) == 1:
        return _with_lambda(target, name, lambdas[0], site, apply)
    if args:
        if name == "IndexOf" and len(args) == 1 and not isinstance(args[0], Lam):
            return _index_of(target, args[0], site)
        return None
    if name in _KEEP_AS_IS:
        return target
    if name == "Any":
        return Bool(or_(*_kept(target)))
    if name in ("First", "FirstOrDefault", "Single", "SingleOrDefault"):
        return _first(target, [TRUE] * len(target.items), name)
    if name == "Count" and not target.keep:
        return Number(len(target.items))
    return None


def _kept(items: TextSet) -> tuple[Formula, ...]:
    return items.keep or (TRUE,) * len(items.items)


def _with_lambda(items: TextSet, name: str, lam: Lam, site: Site, apply: Apply) -> Value | None:
    tests = [truth(apply(lam, item), site) for item in items.items]
    kept = _kept(items)
    if name in ("Any", "Exists"):
        return Bool(or_(*(and_(k, t) for k, t in zip(kept, tests, strict=True))))
    if name in ("All", "TrueForAll"):
        return Bool(and_(*(if_(k, t, TRUE) for k, t in zip(kept, tests, strict=True))))
    if name == "Where":
        keep = tuple(and_(k, t) for k, t in zip(kept, tests, strict=True))
        return TextSet(items.items, items.ignore_case, keep)
    if name in ("First", "FirstOrDefault", "Find", "Single", "SingleOrDefault"):
        both = [and_(k, t) for k, t in zip(kept, tests, strict=True)]
        return _first(items, both, name)
    if name == "Select":
        mapped = [apply(lam, item) for item in items.items]
        if all(isinstance(m, Text) for m in mapped):
            texts = tuple(m for m in mapped if isinstance(m, Text))
            return TextSet(texts, items.ignore_case, items.keep)
    return None


def _first(items: TextSet, matches: list[Formula], name: str) -> Value:
    """The first item whose match holds; none matching is null (``…OrDefault``, ``Find``) or
    an exception."""
    result: Value = Null() if name.endswith("OrDefault") or name == "Find" else Throw()
    for item, match in reversed(list(zip(items.items, matches, strict=True))):
        result = choice(match, item, result)
    return result


def _index_of(items: TextSet, value: Leaf, site: Site) -> Value | None:
    found = in_text_set(items, value, site, False)
    return None if found is None else Found(found)


def _static(path: str, name: str, args: list[Leaf], site: Site, apply: Apply) -> Value | None:
    last = path.rsplit(".", 1)[-1]
    if (last, name) in _PARSERS and len(args) == 1 and isinstance(args[0], Text):
        return parse_list(args[0])
    if last != "Array" or not args or not isinstance(args[0], TextSet):
        return None
    items, rest = args[0], args[1:]
    renamed = {"Exists": "Any", "Find": "FirstOrDefault", "TrueForAll": "All"}.get(name, name)
    return sequence_call(items, renamed, rest, site, apply)


def parse_list(text: Text) -> Value | None:
    """A JSON list of strings; entries unknown when the text is (an unresolved named value)."""
    if text.value is None:
        return TextSet((text,))
    try:
        parsed = json.loads(text.value)
    except ValueError:
        return None
    if isinstance(parsed, list) and all(isinstance(entry, str) for entry in parsed):
        return TextSet(tuple(Text(entry, entry) for entry in parsed))
    return None
