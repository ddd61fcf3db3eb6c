"""Expansion of ARM deployment templates (compiled Bicep included) into flat ARM resources.

Each declared resource becomes one entry in ARM wire format: full ``id`` (built with the
offline subscription and resource group), full ``type``, ``name`` = the last name segment, and
the other keys with their expressions resolved. Template-only keys (``dependsOn``,
``condition``, ``copy``, ``resources``, ``comments``, ``scope``, ``existing``) are dropped;
``apiVersion`` is kept because it tells which API contract (and defaults) the properties follow.

Nested child resources, copy loops, conditions, ``languageVersion`` 2.0 symbolic resources,
extension resources with ``scope`` and inline nested deployments (inner and outer evaluation
scope) are expanded. What cannot be resolved becomes a gap: a property keeps its ``"[...]"``
text; a name keeps the unresolved part as its ``[...]`` text (one name segment) so the resource
and its children stay in the snapshot under a recognisable id.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from mtls_audit.sources.arm.expression import EvaluationError, ExpressionError
from mtls_audit.sources.arm.functions import evaluate_string
from mtls_audit.sources.arm.id_functions import provider_path
from mtls_audit.sources.arm.scope import (
    TEMPLATE_KEYS,
    Budget,
    Env,
    Fail,
    Scope,
    TemplateState,
    Unresolved,
    copy_count,
    given_values,
    pointer_token,
    resolve,
)
from mtls_audit.wording import plural

MAX_NESTING = 10
_TEMPLATE_ONLY = TEMPLATE_KEYS | {"scope"}
# Computed by the expansion from the declaration; a declared "id" (not an ARM declaration
# property) or a differently cased "Type" never overrides them.
_IDENTITY = {"id", "type", "name"}
_ABOVE_GROUP = ("subscription", "managementgroup", "tenant")
_ROLE_ASSIGNMENTS = "microsoft.authorization/roleassignments"
_DEPLOYMENTS = "microsoft.resources/deployments"


@dataclass(frozen=True)
class Link:
    """A deployment whose template is in another file (``templateLink``).

    ``key`` is ``relativePath`` or ``uri``; ``target`` its resolved value (None when it could
    not be resolved); ``written`` what the template says; ``given`` the parameters passed.
    """

    key: str
    target: str | None
    written: str
    pointer: str
    given: dict[str, Any]
    env: Env
    depth: int


@dataclass
class Expansion:
    """Resources (each with the JSON pointer of its declaration), gaps (without lines) and the
    linked templates to follow."""

    resources: list[tuple[dict[str, Any], str]] = field(default_factory=list)
    gaps: list[dict[str, Any]] = field(default_factory=list)
    links: list[Link] = field(default_factory=list)


def type_from_id(resource_id: str) -> tuple[str, str] | None:
    """The full type and name an ARM id encodes, or None when it names no provider resource."""
    parts = resource_id.strip("/").split("/")
    lower = [part.lower() for part in parts]
    if "providers" not in lower:
        return None
    at = len(lower) - 1 - lower[::-1].index("providers")
    rest = parts[at + 2 :]
    if at + 1 >= len(parts) or not rest or len(rest) % 2:
        return None
    return "/".join([parts[at + 1], *rest[0::2]]), rest[-1]


def expand_template(
    template: Mapping[str, Any],
    *,
    file: str,
    env: Env,
    parameters: Mapping[str, Any],
    depth: int = 0,
) -> Expansion:
    """Expand one deployment template; ``parameters`` holds the parameters files' values,
    ``depth`` how deep in linked templates this one is."""
    schema = str(template.get("$schema", "")).lower().rsplit("/", 1)[-1]
    if schema.startswith(_ABOVE_GROUP):
        env = replace(env, resource_group=None)
    out = Expansion()
    scope = Scope(TemplateState(template, parameters, "", Budget()), env)
    _Expander(_Sink(file, out), depth).resources(
        template.get("resources"), "/resources", scope, None
    )
    return out


class _Sink:
    """Collects the expansion's resources and gaps (each gap once)."""

    def __init__(self, file: str, out: Expansion) -> None:
        self.file = file
        self.out = out
        self.seen: set[tuple[str, ...]] = set()

    def gap(
        self,
        kind: str,
        what: str,
        message: str,
        pointer: str,
        subject: str = "",
        declaration: str | None = None,
    ) -> None:
        """Record a gap once; with the resource's ``declaration`` pointer, the gap also names
        the ``property`` (a pointer inside the resource) it is about."""
        subject = subject or self.file
        key = (kind, what, message, pointer, subject)
        if key not in self.seen:
            self.seen.add(key)
            gap = {"kind": kind, "subject": subject, "what": what, "message": message}
            if declaration is not None and pointer.startswith(declaration + "/"):
                gap["property"] = pointer[len(declaration) :]
            self.out.gaps.append(gap | {"file": self.file, "pointer": pointer})

    def failure(self, subject: str, declaration: str) -> Fail:
        def fail(exc: ExpressionError, pointer: str, text: str) -> None:
            shown = text if len(text) <= 160 else text[:159] + "…"
            message = f"{shown}: {exc}; kept as written"
            self.gap(exc.kind, exc.what, message, pointer, subject, declaration)

        return fail


class _Expander:
    def __init__(self, sink: _Sink, depth: int) -> None:
        self.sink = sink
        self.depth = depth

    def resources(self, decls: Any, pointer: str, scope: Scope, parent: str | None) -> None:
        items: Iterable[tuple[str, Any]]
        if isinstance(decls, dict):  # languageVersion 2.0: keyed by symbolic name
            items = ((pointer_token(k), v) for k, v in decls.items())
        elif isinstance(decls, list):
            items = ((str(i), v) for i, v in enumerate(decls))
        else:
            if decls is not None:
                message = "'resources' is neither a list nor an object"
                self.sink.gap("parse-error", "template-resource", message, pointer)
            return
        for key, decl in items:
            self.declaration(decl, f"{pointer}/{key}", scope, parent)

    def declaration(self, decl: Any, pointer: str, scope: Scope, parent: str | None) -> None:
        if not isinstance(decl, dict):
            self.sink.gap("parse-error", "template-resource", "not a resource object", pointer)
            return
        if decl.get("existing") is True:  # a reference to a resource, not a declaration
            return
        copy = decl.get("copy")
        if copy is None:
            self.instance(decl, pointer, scope, parent)
            return
        try:
            if not isinstance(copy, dict) or not isinstance(copy.get("name"), str):
                raise EvaluationError("copy needs a name and a count")
            count = copy_count(copy.get("count"), scope, f"{pointer}/copy/count")
        except ExpressionError as exc:
            message = f"copy loop not expanded ({exc}); the resource is left out"
            self.sink.gap("unsupported", "copy-loop", message, f"{pointer}/copy")
            return
        for i in range(count):
            self.instance(decl, pointer, scope.with_loop(copy["name"], i), parent)

    def instance(
        self, decl: dict[str, Any], pointer: str, scope: Scope, parent: str | None
    ) -> None:
        if not self.wanted(decl, pointer, scope):
            return
        errors: dict[str, list[ExpressionError]] = {"name": [], "scope": []}
        try:
            rtype = resolve(decl.get("type"), scope, f"{pointer}/type")
            if not isinstance(rtype, str) or not isinstance(decl.get("name"), str):
                raise EvaluationError("the resource has no type or no name")
            if rtype.lower() == _DEPLOYMENTS:
                self.deployment(decl, pointer, scope)
                return
            name = _placeheld(decl["name"], scope, errors["name"])
            scope_id = (
                _placeheld(decl["scope"], scope, errors["scope"]) if "scope" in decl else None
            )
            resource_id, full_type = _identify(rtype, name, scope_id, parent, scope.env)
        except ExpressionError as exc:
            self.sink.gap(exc.kind, "template-resource", f"resource left out: {exc}", pointer)
            return
        for key, problems in errors.items():
            for error in problems:
                message = f"{error}; the id keeps it as written"
                where = f"{pointer}/{key}"
                self.sink.gap(error.kind, error.what, message, where, resource_id, pointer)
        body = {"id": resource_id, "type": full_type, "name": resource_id.rsplit("/", 1)[1]}
        fail = self.sink.failure(resource_id, pointer)
        for key, value in decl.items():
            if key.lower() not in _TEMPLATE_ONLY | _IDENTITY:
                body[key] = resolve(value, scope, f"{pointer}/{pointer_token(key)}", fail)
        properties = body.get("properties")
        if full_type.lower() == _ROLE_ASSIGNMENTS and isinstance(properties, dict):
            properties.setdefault("scope", resource_id.rsplit("/providers/", 1)[0] or "/")
        self.sink.out.resources.append((body, pointer))
        if "resources" in decl:
            self.resources(decl["resources"], f"{pointer}/resources", scope, resource_id)

    def wanted(self, decl: dict[str, Any], pointer: str, scope: Scope) -> bool:
        """False when the resource's condition is false; an unknown condition keeps it."""
        if "condition" not in decl:
            return True
        try:
            return resolve(decl["condition"], scope, f"{pointer}/condition") not in (
                False,
                "false",
                "False",
            )
        except ExpressionError as exc:
            message = f"condition not evaluated ({exc}); the resource is kept"
            self.sink.gap(exc.kind, exc.what, message, f"{pointer}/condition")
            return True

    def deployment(self, decl: dict[str, Any], pointer: str, scope: Scope) -> None:
        props = decl.get("properties")
        props = props if isinstance(props, dict) else {}
        template = props.get("template")
        if self.depth >= MAX_NESTING:
            message = f"nested deployments deeper than {MAX_NESTING} levels are not expanded"
            self.sink.gap("unsupported", "nested-deployment", message, pointer)
            return
        env = scope.env
        try:
            for key, field_name in (("subscriptionId", "subscription"), ("resourceGroup", "")):
                if key in decl:
                    value = str(resolve(decl[key], scope, f"{pointer}/{key}"))
                    env = replace(env, **{field_name or "resource_group": value})
        except ExpressionError as exc:
            message = f"the deployment's target is not known ({exc}); its resources are left out"
            self.sink.gap(exc.kind, "nested-deployment", message, pointer)
            return
        parameters = f"{pointer}/properties/parameters"
        if not isinstance(template, dict):
            given = _given(props.get("parameters"), scope, parameters)
            where = f"{pointer}/properties/templateLink"
            self.link(props.get("templateLink"), where, scope, given, env)
            return
        options = props.get("expressionEvaluationOptions")
        base = f"{pointer}/properties/template"
        if isinstance(options, dict) and str(options.get("scope", "")).lower() == "inner":
            given = _given(props.get("parameters"), scope, parameters)
            scope = Scope(TemplateState(template, given, base, scope.state.budget), env)
        else:  # outer: the nested template's expressions use the parent's parameters
            scope = replace(scope, env=env)
        nested = _Expander(self.sink, self.depth + 1)
        nested.resources(template.get("resources"), f"{base}/resources", scope, None)

    def link(self, link: Any, pointer: str, scope: Scope, given: dict[str, Any], env: Env) -> None:
        """A linked template: its ``relativePath`` or ``uri``, for the reader to follow."""
        key = next((k for k in ("relativePath", "uri") if isinstance(link, dict) and k in link), "")
        if not key:
            message = "nested deployment without an inline template or a templateLink"
            self.sink.gap("parse-error", "linked-template", message, pointer)
            return
        written = link[key]
        try:
            target = resolve(written, scope, f"{pointer}/{key}")
        except ExpressionError as exc:
            target, written = None, f"{written} ({exc})"
        where = target if isinstance(target, str) else None
        found = Link(key, where, str(written), pointer, given, env, self.depth + 1)
        self.sink.out.links.append(found)


def _given(params: Any, scope: Scope, pointer: str) -> dict[str, Any]:
    """Parameters passed to an inner-scope nested deployment, evaluated in the outer scope."""
    values = given_values(params)
    for name, value in values.items():
        if not isinstance(value, Unresolved):
            try:
                where = f"{pointer}/{pointer_token(name)}/value"
                values[name] = resolve(value, scope, where)
            except ExpressionError as exc:
                values[name] = Unresolved(f"its value in the nested deployment failed: {exc}")
    return values


def _placeheld(text: Any, scope: Scope, errors: list[ExpressionError]) -> str:
    """A name or scope; unresolvable parts kept as their ``[...]`` text (see evaluate_string)."""
    if not isinstance(text, str):
        raise EvaluationError(f"expected a string, got {text!r}")
    try:
        value = evaluate_string(text, scope, placeholders=errors)
    except ExpressionError as exc:
        errors.append(exc)
        return text
    if not isinstance(value, str):
        raise EvaluationError(f"{text!r} is not a string")
    return value


def _identify(
    rtype: str, name: str, scope_id: str | None, parent: str | None, env: Env
) -> tuple[str, str]:
    """The full id and type of a declared resource.

    A legacy extension type such as ``Microsoft.KeyVault/vaults/providers/roleAssignments`` with
    the name ``kv/Microsoft.Authorization/x`` interleaves into the right id by itself.
    """
    if parent is not None and "." not in rtype.split("/", 1)[0]:
        types, segments = rtype.split("/"), name.split("/")
        if len(types) != len(segments) or not all(segments):
            needs = plural(len(types), "name segment")
            raise EvaluationError(f"child type {rtype!r} needs {needs}")
        resource_id = parent + "".join(f"/{t}/{n}" for t, n in zip(types, segments, strict=True))
    elif rtype.lower() == "microsoft.resources/resourcegroups":
        return f"/subscriptions/{env.subscription}/resourceGroups/{name}", rtype
    else:
        if not all(name.split("/")):
            raise EvaluationError(f"name {name!r} has an empty segment")
        base = env.prefix if scope_id is None else _absolute(scope_id, env)
        resource_id = base + provider_path(rtype, [name])
    found = type_from_id(resource_id)
    if found is None:
        raise EvaluationError(f"cannot build an id from type {rtype!r} and name {name!r}")
    return resource_id, found[0]


def _absolute(scope: str, env: Env) -> str:
    """A template ``scope``: a full id, or ``Namespace/type/name`` relative to the deployment."""
    if scope.startswith("/"):
        return scope.rstrip("/")
    return f"{env.prefix}/providers/{scope.strip('/')}"
