"""Evaluation scope of an ARM template: parameters, variables, copy loops, and value resolution.

Parameters and variables are evaluated lazily, once, and strictly: a variable that uses an
unsupported function fails wherever it is used, never yielding half-evaluated text. Secure
parameters are never read, so no secret from a parameters file can enter a snapshot.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from mtls_audit.sources.arm.expression import (
    EvaluationError,
    ExpressionError,
    UnresolvedParameter,
    unsupported,
)
from mtls_audit.sources.arm.functions import evaluate_string
from mtls_audit.wording import plural

MAX_COPY = 800
"""ARM's own limit on a copy loop's count."""
MAX_FUNCTION_DEPTH = 32
"""How deep user-defined functions may call each other."""
MAX_TYPE_DEPTH = 32
"""How deep user-defined types may nest before a parameter is treated as secret."""
MAX_COPIES = 100_000
"""Copy-loop items one file may produce in all (nested loops multiply)."""
_SECURE = {"securestring", "secureobject"}
TEMPLATE_KEYS = frozenset({"dependson", "condition", "copy", "resources", "comments", "existing"})
"""Keys of a resource declaration that only steer the deployment (not ARM wire format)."""

Fail = Callable[[ExpressionError, str, str], None]
"""Called with the error, the JSON pointer and the original text of a failing string."""


@dataclass(frozen=True)
class Env:
    """Where a template deploys: the subscription, and the resource group (None at sub scope)."""

    subscription: str
    resource_group: str | None

    @property
    def prefix(self) -> str:
        base = f"/subscriptions/{self.subscription}"
        if self.resource_group is None:
            return base
        return f"{base}/resourceGroups/{self.resource_group}"


@dataclass(frozen=True)
class Unresolved:
    """A parameter value known not to be available (Key Vault reference, failed expression)."""

    reason: str


def pointer_token(key: str) -> str:
    """One JSON pointer segment (RFC 6901 escaping)."""
    return key.replace("~", "~0").replace("/", "~1")


def given_values(parameters: Any) -> dict[str, Any]:
    """Literal values of a parameters object ``{"x": {"value": …}}``.

    Key Vault references are not read (their values are secrets): they become Unresolved.
    """
    values: dict[str, Any] = {}
    for name, spec in parameters.items() if isinstance(parameters, dict) else ():
        if isinstance(spec, dict) and "value" in spec:
            values[name] = spec["value"]
        elif isinstance(spec, dict) and "reference" in spec:
            values[name] = Unresolved("its value is a Key Vault reference, which is not read")
    return values


class Budget:
    """Copy-loop items left for one file, so nested loops cannot exhaust memory."""

    def __init__(self, items: int = MAX_COPIES) -> None:
        self.items = items

    def spend(self, count: int) -> None:
        self.items -= count
        if self.items < 0:
            raise EvaluationError(f"copy loops make more than {MAX_COPIES} items in one file")


class TemplateState:
    """Parameter definitions, given values and variables of one template, with their cache.

    ``base`` is the JSON pointer of the template inside its file ("" for a whole file);
    nested templates share their file's ``budget``.
    """

    def __init__(
        self, template: Mapping[str, Any], given: Mapping[str, Any], base: str, budget: Budget
    ) -> None:
        self.base = base
        self.budget = budget
        self.given = {name.lower(): value for name, value in given.items()}
        self.functions = _user_functions(template.get("functions"))
        definitions = template.get("definitions")
        self.definitions = definitions if isinstance(definitions, dict) else {}
        params = template.get("parameters")
        items = params.items() if isinstance(params, dict) else ()
        self.params = {name.lower(): (name, spec) for name, spec in items}
        self.variables: dict[str, tuple[bool, Any, str]] = {}
        variables = template.get("variables")
        for name, value in variables.items() if isinstance(variables, dict) else ():
            if name.lower() == "copy" and isinstance(value, list):
                for i, loop in enumerate(value):
                    if isinstance(loop, dict) and isinstance(loop.get("name"), str):
                        pointer = f"/variables/copy/{i}"
                        self.variables[loop["name"].lower()] = (True, loop, pointer)
            else:
                pointer = f"/variables/{pointer_token(name)}"
                self.variables[name.lower()] = (False, value, pointer)
        resources = template.get("resources")
        self.symbols = resources if isinstance(resources, dict) else {}
        self.cache: dict[str, Any] = {}
        self.busy: set[str] = set()
        self.busy_functions = 0

    def typed(self, spec: Any) -> dict[str, Any]:
        """A parameter or type declaration with its ``$ref`` to a user-defined type
        (``#/definitions/name``) merged in; the declaration's own keys win."""
        merged: dict[str, Any] = dict(spec) if isinstance(spec, dict) else {}
        for _ in range(MAX_TYPE_DEPTH):
            ref = merged.pop("$ref", None)
            if not isinstance(ref, str):
                break
            target = self.definitions.get(ref.rsplit("/", 1)[-1]) if ref.startswith("#/") else None
            merged = (dict(target) if isinstance(target, dict) else {}) | merged
        return merged

    def holds_secret(self, spec: Any, depth: int = 0) -> bool:
        """Whether a type is secure or has a secure part (an object property, an item): such a
        parameter is never read, so that no secret from a parameters file enters a snapshot."""
        if depth > MAX_TYPE_DEPTH:
            return True  # too deep to tell: treat as secret
        typed = self.typed(spec)
        if str(typed.get("type", "")).lower() in _SECURE:
            return True
        properties = typed.get("properties")
        parts = list(properties.values()) if isinstance(properties, dict) else []
        parts += [
            typed[k] for k in ("items", "additionalProperties") if isinstance(typed.get(k), dict)
        ]
        return any(self.holds_secret(part, depth + 1) for part in parts)

    def once(self, label: str, compute: Callable[[], Any]) -> Any:
        """The cached value (or cached failure) of ``label``; detects self-reference."""
        if label in self.cache:
            value = self.cache[label]
            if isinstance(value, ExpressionError):
                raise value
            return value
        if label in self.busy:
            raise EvaluationError(f"{label} refers to itself")
        self.busy.add(label)
        try:
            self.cache[label] = compute()
        except ExpressionError as exc:
            failure = type(exc)(f"{label}: {exc}")
            self.cache[label] = failure
            raise failure from None
        finally:
            self.busy.discard(label)
        return self.cache[label]


@dataclass(frozen=True)
class Scope:
    """What expressions evaluate against: a template's state, the env and the copy loops."""

    state: TemplateState
    env: Env
    loops: tuple[tuple[str, int], ...] = ()

    @property
    def subscription_id(self) -> str:
        return self.env.subscription

    @property
    def resource_group(self) -> str | None:
        return self.env.resource_group

    def with_loop(self, name: str, index: int) -> Scope:
        return replace(self, loops=(*self.loops, (name.lower(), index)))

    def copy_index(self, loop: str | None) -> int:
        for name, index in reversed(self.loops):
            if loop is None or name == loop.lower():
                return index
        raise EvaluationError(f"copyIndex({loop or ''}) is used outside its copy loop")

    def parameter(self, name: str) -> Any:
        state = self.state
        found = state.params.get(name.lower())
        if found is None:
            raise EvaluationError(f"the template has no parameter {name!r}")
        key, spec = found
        spec = state.typed(spec)
        if state.holds_secret(spec):
            raise UnresolvedParameter(f"secure parameter {key!r} is not read (secrets stay out)")
        if key.lower() in state.given:
            value = state.given[key.lower()]
            if isinstance(value, Unresolved):
                raise UnresolvedParameter(f"parameter {key!r}: {value.reason}")
            return value
        if "defaultValue" in spec:
            pointer = f"{state.base}/parameters/{pointer_token(key)}/defaultValue"
            plain = Scope(state, self.env)
            default = spec["defaultValue"]
            return state.once(f"parameters('{key}')", lambda: resolve(default, plain, pointer))
        if spec.get("nullable") is True:
            return None
        raise UnresolvedParameter(f"parameter {key!r} has no value (no default, not given)")

    def user_function(self, name: str, args: list[Any]) -> Any:
        """Apply a user-defined function: its output expression, evaluated where its own
        parameters are the arguments (such functions cannot read the template's parameters or
        variables)."""
        definition = self.state.functions.get(name.lower())
        if definition is None:
            raise unsupported(name)
        params = definition.get("parameters")
        names = [p.get("name") for p in params] if isinstance(params, list) else []
        output = definition.get("output")
        if not isinstance(output, dict) or "value" not in output or len(names) != len(args):
            raise EvaluationError(f"{name}() is not a function of {plural(len(args), 'argument')}")
        if self.state.busy_functions >= MAX_FUNCTION_DEPTH:
            raise EvaluationError(f"{name}(): user-defined functions nest too deeply")
        given = {str(n): v for n, v in zip(names, args, strict=True)}
        specs = {"parameters": {str(n): {"type": "object"} for n in names}}
        inner = TemplateState(specs, given, self.state.base, self.state.budget)
        inner.functions = self.state.functions
        inner.busy_functions = self.state.busy_functions + 1
        return resolve(output["value"], Scope(inner, self.env), f"{self.state.base}/functions")

    def declared(self, symbol: str, full: bool) -> Any:
        """What the template declares for its resource ``symbol``: the properties (the whole
        declaration with ``full``), without the top-level members that cannot be resolved (their
        gaps are recorded on the resource itself), so that reading one of those fails."""
        state = self.state
        decl = state.symbols.get(symbol)
        if not isinstance(decl, dict) or decl.get("existing") is True or "copy" in decl:
            raise unsupported("reference")
        pointer = f"{state.base}/resources/{pointer_token(symbol)}"
        if full:
            body = {k: v for k, v in decl.items() if k.lower() not in TEMPLATE_KEYS}
        else:
            body, pointer = decl.get("properties", {}), f"{pointer}/properties"
        plain = Scope(state, self.env)

        def compute() -> Any:
            failed: list[str] = []
            value = resolve(body, plain, pointer, lambda _e, at, _t: failed.append(at))
            if not isinstance(value, dict):
                if failed:
                    raise EvaluationError(f"the declared value of {symbol!r} is not resolved")
                return value
            tops = {at[len(pointer) + 1 :].split("/", 1)[0] for at in failed}
            return {k: v for k, v in value.items() if pointer_token(k) not in tops}

        return state.once(f"reference('{symbol}'{', full' if full else ''})", compute)

    def variable(self, name: str) -> Any:
        state = self.state
        found = state.variables.get(name.lower())
        if found is None:
            raise EvaluationError(f"the template has no variable {name!r}")
        is_loop, definition, pointer = found
        plain, where = Scope(state, self.env), state.base + pointer

        def compute() -> Any:
            if is_loop:
                return loop_values(definition, plain, where, None)
            return resolve(definition, plain, where)

        return state.once(f"variables('{name}')", compute)


def _user_functions(declared: Any) -> dict[str, dict[str, Any]]:
    """``{"namespace.member": definition}`` from a template's ``functions`` array."""
    found: dict[str, dict[str, Any]] = {}
    for namespace in declared if isinstance(declared, list) else ():
        members = namespace.get("members") if isinstance(namespace, dict) else None
        prefix = namespace.get("namespace") if isinstance(namespace, dict) else None
        for member, definition in members.items() if isinstance(members, dict) else ():
            if isinstance(prefix, str) and isinstance(definition, dict):
                found[f"{prefix}.{member}".lower()] = definition
    return found


def resolve(value: Any, scope: Scope, pointer: str, fail: Fail | None = None) -> Any:
    """Evaluate every expression in a JSON value; property ``copy`` loops are expanded.

    Without ``fail`` the first error propagates; with it, a failing string is kept as written.
    """
    if isinstance(value, str):
        try:
            return evaluate_string(value, scope)
        except ExpressionError as exc:
            if fail is None:
                raise
            fail(exc, pointer, value)
            return value
    if isinstance(value, list):
        return [resolve(v, scope, f"{pointer}/{i}", fail) for i, v in enumerate(value)]
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for key, item in value.items():
            if key == "copy" and _is_property_loops(item):
                out.update(_property_loops(item, scope, f"{pointer}/copy", fail))
            else:
                out[key] = resolve(item, scope, f"{pointer}/{pointer_token(key)}", fail)
        return out
    return value


def _is_property_loops(value: Any) -> bool:
    return isinstance(value, list) and all(
        isinstance(loop, dict) and isinstance(loop.get("name"), str) and "input" in loop
        for loop in value
    )


def _property_loops(
    loops: list[dict[str, Any]], scope: Scope, pointer: str, fail: Fail | None
) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for i, loop in enumerate(loops):
        try:
            out[loop["name"]] = loop_values(loop, scope, f"{pointer}/{i}", fail)
        except ExpressionError as exc:
            if fail is None:
                raise
            fail(exc, f"{pointer}/{i}/count", str(loop.get("count")))
            out.setdefault("copy", []).append(loop)
    return out


def loop_values(loop: Mapping[str, Any], scope: Scope, pointer: str, fail: Fail | None) -> Any:
    """The array a property or variable copy loop (``name``, ``count``, ``input``) builds."""
    count = copy_count(loop.get("count"), scope, f"{pointer}/count")
    body = loop.get("input")
    return [
        resolve(body, scope.with_loop(loop["name"], i), f"{pointer}/input", fail)
        for i in range(count)
    ]


def copy_count(value: Any, scope: Scope, pointer: str) -> int:
    """A copy loop's count, checked against ARM's limit and the file's budget."""
    count = resolve(value, scope, pointer)
    if type(count) is not int or not 0 <= count <= MAX_COPY:
        raise EvaluationError(f"copy count {count!r} is not a whole number from 0 to {MAX_COPY}")
    scope.state.budget.spend(count)
    return count
