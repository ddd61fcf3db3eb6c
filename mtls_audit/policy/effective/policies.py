"""Effective policies: what APIM applies to a request, per API, operation and product path.

Scopes, broadest first: global → workspace (APIs whose id lies in ``…/workspaces/{w}``) →
product → API → operation. In each section a scope's ``<base/>`` is replaced by the parent's
effective section, a section without ``<base/>`` drops the parent's, and a scope without a
policy inherits its parent unchanged. Product policies apply only through a subscription to
that product, so every API has one path without product policies (all-APIs, API-scoped and
all-access subscriptions, or no subscription) and one path per product it belongs to.

Work is proportional to distinct policies: each distinct policy text is parsed once for a whole
model (:class:`PolicyParses`), each chain of policy documents is merged once (operations without
a policy share their API's :class:`Effective`, APIs without one share their parent's), and a
section is merged only when asked for.

This package sits below the model, so the service is read through the small protocols here,
which the model's ``ServiceModel`` satisfies. Workspaces are handled as far as the service
offers them: the workspace policy applies to any API whose id lies in a workspace, and a
workspace fragment is preferred to a service fragment of the same id; workspace APIs,
operations, products and their links are enumerated by :meth:`EffectivePolicies.paths` only
when the service lists them with the others.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from mtls_audit.errors import PolicyParseError
from mtls_audit.policy.effective.merge import Expander, Layer, OwnSection, merge_section
from mtls_audit.policy.effective.tree import (
    Assumption,
    EffectiveSection,
    Origin,
    OriginKind,
    Problem,
    ProblemKind,
)
from mtls_audit.policy.parsing.parser import parse_policy
from mtls_audit.policy.parsing.placeholders import NamedValueLike, NamedValues
from mtls_audit.policy.parsing.tree import SECTIONS, PolicyDocument


class Resource(Protocol):
    @property
    def id(self) -> str: ...


class OperationLike(Resource, Protocol):
    @property
    def api_id(self) -> str: ...


class PolicyLike(Resource, Protocol):
    """A policy or fragment resource: attached to ``scope_id``, text in ``format``."""

    @property
    def scope_id(self) -> str: ...

    @property
    def text(self) -> str | None: ...

    @property
    def format(self) -> str: ...


class ServiceLike(Protocol):
    """What is read of a service (the model's ``ServiceModel`` fits)."""

    @property
    def id(self) -> str: ...

    @property
    def apis(self) -> Sequence[Resource]: ...

    @property
    def operations(self) -> Sequence[OperationLike]: ...

    @property
    def products(self) -> Sequence[Resource]: ...

    @property
    def product_api_links(self) -> Sequence[tuple[str, str]]: ...

    @property
    def policies(self) -> Sequence[PolicyLike]: ...

    @property
    def fragments(self) -> Sequence[PolicyLike]: ...

    @property
    def named_values(self) -> Sequence[NamedValueLike]: ...


def _key(resource_id: str) -> str:
    return resource_id.rstrip("/").lower()


def _name(resource_id: str) -> str:
    return resource_id.rstrip("/").rsplit("/", 1)[-1]


def workspace_of(resource_id: str) -> str | None:
    """The id of the workspace a resource lies in (``…/service/{s}/workspaces/{w}/…``), or None."""
    parts = resource_id.rstrip("/").split("/")
    for index in range(len(parts) - 3):
        if parts[index].lower() == "service" and parts[index + 2].lower() == "workspaces":
            return "/".join(parts[: index + 4])
    return None


class PolicyParses:
    """Parses each distinct policy text once (by text and format); share one across a model.

    ``count`` is the number of parser calls made. A text the parser refuses is remembered as its
    message, never raised.
    """

    def __init__(self) -> None:
        self._done: dict[tuple[str, bool], PolicyDocument | str] = {}

    @property
    def count(self) -> int:
        return len(self._done)

    def parse(self, text: str, fmt: str) -> PolicyDocument | str:
        key = (text, fmt.lower() == "rawxml")
        found = self._done.get(key)
        if found is None:
            try:
                found = parse_policy(text, source="", escaped=False if key[1] else None)
            except PolicyParseError as exc:
                found = f"the parser refused the text: {exc}"
            self._done[key] = found
        return found


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class Effective:
    """The effective policy of one chain of policy documents; shared by every API, operation and
    path with that chain, and immutable (sections are merged on first use and kept).

    ``layers`` are the documents applied, broadest first (scopes without a policy are not
    layers); ``parent`` is the effective policy without the last layer. ``key`` identifies the
    chain (scope, policy resource id and text digest of each layer): group by it.
    """

    key: str
    layers: tuple[Layer, ...]
    parent: Effective | None
    _owner: EffectivePolicies | None = field(default=None, repr=False)
    _sections: dict[str, EffectiveSection] = field(default_factory=dict, repr=False)

    def __repr__(self) -> str:
        chain = " > ".join(layer.origin.label for layer in self.layers) or "no policy"
        return f"Effective({self.key[:12]}: {chain})"

    @property
    def layer(self) -> Layer | None:
        """The innermost policy document (None for the empty chain)."""
        return self.layers[-1] if self.layers else None

    def section(self, name: str) -> EffectiveSection:
        """The effective ``inbound``, ``backend``, ``outbound`` or ``on-error`` section."""
        if name not in SECTIONS:
            raise ValueError(f"unknown policy section {name!r}; one of {', '.join(SECTIONS)}")
        found = self._sections.get(name)
        if found is None:
            if self.parent is None or self._owner is None:
                found = EffectiveSection(name)
            else:
                layer = self.layers[-1]
                own = self._owner.own_section(layer, name)
                found = merge_section(self.parent.section(name), layer, own)
            self._sections[name] = found
        return found

    @property
    def inbound(self) -> EffectiveSection:
        return self.section("inbound")

    @property
    def backend(self) -> EffectiveSection:
        return self.section("backend")

    @property
    def outbound(self) -> EffectiveSection:
        return self.section("outbound")

    @property
    def on_error(self) -> EffectiveSection:
        return self.section("on-error")

    @property
    def problems(self) -> tuple[Problem, ...]:
        """The problems of every section, each once, in section order."""
        return tuple(dict.fromkeys(p for name in SECTIONS for p in self.section(name).problems))

    @property
    def assumptions(self) -> tuple[Assumption, ...]:
        found = (a for name in SECTIONS for a in self.section(name).assumptions)
        return tuple(dict.fromkeys(found))


@dataclass(frozen=True, slots=True)
class PolicyPath:
    """One way a request reaches an operation: ``product_id`` None is the path without product
    policies; ``operation_id`` None stands for an API without operations."""

    api_id: str
    operation_id: str | None
    product_id: str | None


class EffectivePolicies:
    """The effective policies of one service, memoised."""

    def __init__(
        self,
        service: ServiceLike,
        *,
        named_values: NamedValues | None = None,
        parses: PolicyParses | None = None,
    ) -> None:
        self.service_id = service.id
        self.named_values = (
            NamedValues(service.named_values) if named_values is None else named_values
        )
        self.parses = PolicyParses() if parses is None else parses
        self.computations = 0
        self._service = service
        self._policies: dict[str, PolicyLike] = {}
        for policy in service.policies:
            self._policies.setdefault(_key(policy.scope_id), policy)
        self._fragments: dict[tuple[str, str], PolicyLike] = {}
        for fragment in service.fragments:
            self._fragments.setdefault(
                (_key(fragment.scope_id), _name(fragment.id).lower()), fragment
            )
        self._layers: dict[str, Layer | None] = {}
        self._idents: dict[str, str] = {}
        self._expanders: dict[str, Expander] = {}
        self._own: dict[tuple[str, str], OwnSection] = {}
        self._products: dict[str, tuple[str, ...]] | None = None
        self._paths: tuple[tuple[PolicyPath, Effective], ...] | None = None
        root = self._new(hashlib.sha256(b"").hexdigest()[:32], (), None)
        self._chains: dict[tuple[str, ...], Effective] = {(): root}
        self._extensions: dict[tuple[int, int], Effective] = {}

    @classmethod
    def for_service(
        cls,
        service: ServiceLike,
        *,
        named_values: NamedValues | None = None,
        parses: PolicyParses | None = None,
    ) -> EffectivePolicies:
        return cls(service, named_values=named_values, parses=parses)

    @classmethod
    def for_services(
        cls, services: Iterable[ServiceLike], parses: PolicyParses | None = None
    ) -> dict[str, EffectivePolicies]:
        """One per service (keyed by lower-case service id), parsing each text once overall
        (``parses`` may hold texts parsed already)."""
        shared = PolicyParses() if parses is None else parses
        return {_key(s.id): cls(s, parses=shared) for s in services}

    # --- the public questions --------------------------------------------------------------

    def effective(
        self, api_id: str, operation_id: str | None = None, product_id: str | None = None
    ) -> Effective:
        """The effective policy of an API (or one of its operations) on the path of a product
        (``product_id`` None: the path without product policies)."""
        if operation_id is not None and not _key(operation_id).startswith(_key(api_id) + "/"):
            raise ValueError(f"operation {operation_id} is not an operation of API {api_id}")
        api_level = self._api_level(api_id, product_id)
        return api_level if operation_id is None else self._below(api_level, operation_id)

    def products_of(self, api_id: str) -> tuple[str, ...]:
        """The ids of the products an API belongs to, sorted."""
        return self._products_by_api().get(_key(api_id), ())

    def paths(self) -> Iterator[tuple[PolicyPath, Effective]]:
        """Every (API, operation, product path) with its effective policy: per API, the path
        without product policies first and then one per product, and on each path every
        operation (or one path with no operation when the API has none). Enumerated once:
        several analyses walk them."""
        if self._paths is None:
            self._paths = tuple(self._enumerate_paths())
        return iter(self._paths)

    def _enumerate_paths(self) -> Iterator[tuple[PolicyPath, Effective]]:
        operations: dict[str, list[str]] = defaultdict(list)
        for operation in self._service.operations:
            operations[_key(operation.api_id)].append(operation.id)
        products = self._products_by_api()
        for api in self._service.apis:
            api_key = _key(api.id)
            below = [  # each operation's own policy, looked up once for every product path
                (operation_id, self.layer_at(operation_id, OriginKind.OPERATION))
                for operation_id in operations.get(api_key, ())
            ]
            for product_id in (None, *products.get(api_key, ())):
                api_level = self._api_level(api.id, product_id)
                if not below:
                    yield PolicyPath(api.id, None, product_id), api_level
                for operation_id, layer in below:
                    effective = api_level if layer is None else self._extended(api_level, layer)
                    yield PolicyPath(api.id, operation_id, product_id), effective

    def layer_at(self, scope_id: str, kind: OriginKind) -> Layer | None:
        """The policy document attached to a resource (None when it has no policy)."""
        key = _key(scope_id)
        if key not in self._layers:
            policy = self._policies.get(key)
            layer = None if policy is None else self._read(policy, kind, _label(kind, scope_id))
            self._layers[key] = layer
        return self._layers[key]

    def fragment(self, fragment_id: str, workspace: str | None = None) -> Layer | None:
        """A fragment by id: for a policy in a workspace, the workspace's own fragment first
        (UNCONFIRMED whether APIM falls back to the service's), then the service's."""
        name = fragment_id.strip().lower()
        for namespace in (workspace, self.service_id):
            found = self._fragments.get((_key(namespace), name)) if namespace else None
            if found is not None:
                key = "fragment:" + _key(found.id)
                if key not in self._layers:
                    label = f"fragment:{_name(found.id)}"
                    self._layers[key] = self._read(found, OriginKind.FRAGMENT, label)
                return self._layers[key]
        return None

    def own_section(self, layer: Layer, name: str) -> OwnSection:
        """A document's own part of a section (fragments included), built once."""
        key = (_key(layer.origin.resource_id), name)
        found = self._own.get(key)
        if found is None:
            workspace = workspace_of(layer.scope_id)
            expander = self._expanders.get(workspace or "")
            if expander is None:
                expander = Expander(lambda fragment_id: self.fragment(fragment_id, workspace))
                self._expanders[workspace or ""] = expander
            found = self._own[key] = expander.own(layer, name)
        return found

    # --- building --------------------------------------------------------------------------

    def _api_level(self, api_id: str, product_id: str | None) -> Effective:
        scopes = [(self.service_id, OriginKind.GLOBAL)]
        workspace = workspace_of(api_id)
        if workspace is not None:
            scopes.append((workspace, OriginKind.WORKSPACE))
        if product_id is not None:
            scopes.append((product_id, OriginKind.PRODUCT))
        scopes.append((api_id, OriginKind.API))
        layers = (self.layer_at(scope, kind) for scope, kind in scopes)
        return self._chain(tuple(layer for layer in layers if layer is not None))

    def _below(self, api_level: Effective, operation_id: str) -> Effective:
        layer = self.layer_at(operation_id, OriginKind.OPERATION)
        return api_level if layer is None else self._extended(api_level, layer)

    def _extended(self, effective: Effective, layer: Layer) -> Effective:
        """``effective`` with one more layer, found by the two objects' identity (the
        enumeration of paths asks this for every operation on every product path)."""
        key = (id(effective), id(layer))  # both kept alive by this object's caches
        found = self._extensions.get(key)
        if found is None:
            found = self._extensions[key] = self._chain((*effective.layers, layer))
        return found

    def _products_by_api(self) -> dict[str, tuple[str, ...]]:
        if self._products is None:
            known = {_key(p.id): p.id for p in self._service.products}
            grouped: dict[str, set[str]] = defaultdict(set)
            for product, api in self._service.product_api_links:
                grouped[_key(api)].add(known.get(_key(product), product))
            self._products = {a: tuple(sorted(ids, key=_key)) for a, ids in grouped.items()}
        return self._products

    def _read(self, policy: PolicyLike, kind: OriginKind, label: str) -> Layer:
        origin = Origin(kind, policy.id, label)
        text, fmt = policy.text, policy.format
        digest = f"{kind.value}|{_key(policy.id)}|{fmt}|{text}"
        self._idents[_key(policy.id)] = hashlib.sha256(
            digest.encode("utf-8", "surrogatepass")
        ).hexdigest()
        if text is None or fmt.lower().endswith("-link"):
            how = f" (format {fmt}: the text is behind a link)" if text is not None else ""
            message = f"{label}: the policy text is not in the snapshot{how}"
            return Layer(
                origin, policy.scope_id, None, Problem(ProblemKind.NO_TEXT, origin, 0, 0, message)
            )
        parsed = self.parses.parse(text, fmt)
        if isinstance(parsed, str):
            problem = Problem(ProblemKind.UNPARSABLE, origin, 0, 0, f"{label}: {parsed}")
            return Layer(origin, policy.scope_id, None, problem)
        return Layer(origin, policy.scope_id, parsed)

    def _chain(self, layers: tuple[Layer, ...]) -> Effective:
        ids = tuple(_key(layer.origin.resource_id) for layer in layers)
        found = self._chains.get(ids)
        if found is None:
            parent = self._chain(layers[:-1])
            key = hashlib.sha256(f"{parent.key}\n{self._idents[ids[-1]]}".encode()).hexdigest()
            found = self._chains[ids] = self._new(key[:32], layers, parent)
        return found

    def _new(self, key: str, layers: tuple[Layer, ...], parent: Effective | None) -> Effective:
        self.computations += 1
        return Effective(key, layers, parent, self)


def _label(kind: OriginKind, scope_id: str) -> str:
    if kind is OriginKind.GLOBAL:
        return "global"
    if kind is OriginKind.OPERATION:
        api = scope_id.rstrip("/").rsplit("/", 2)[0]
        return f"operation:{_name(api)}/{_name(scope_id)}"
    return f"{kind.value}:{_name(scope_id)}"
