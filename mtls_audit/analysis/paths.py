"""What policy rules judge: each API (or operation) on each product path, with its effective
policy, and, for certificate validation, its inbound verdict."""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from mtls_audit.model.build import ServiceModel
from mtls_audit.model.ids import last_name
from mtls_audit.policy.effective.policies import Effective
from mtls_audit.policy.inbound.verdicts import InboundVerdict

if TYPE_CHECKING:
    from mtls_audit.analysis.context import Context

NO_PRODUCT = "no-product"
"""The path key of requests made without a product (``product:<name>`` otherwise)."""


@dataclass(frozen=True, slots=True)
class ApiPath:
    """An API (or one operation) on one product path, with its effective policy."""

    id: str
    name: str
    key: str
    effective: Effective

    @property
    def api_id(self) -> str:
        return self.id.partition("/operations/")[0]


@dataclass(frozen=True, slots=True)
class InboundPath:
    """An :class:`ApiPath` of ``service`` with the client-certificate verdict of its inbound
    policy."""

    service: ServiceModel
    path: ApiPath
    verdict: InboundVerdict


Signature = Callable[[Effective], Hashable]
"""What a rule judges of an effective policy: operations alike in it are reported together."""


@dataclass(frozen=True, slots=True)
class PathGroup:
    """The operations of one API on one product path: each with its subject name and
    effective policy, and those effective policies each once."""

    api_id: str
    api_name: str
    key: str
    members: tuple[tuple[str | None, str, Effective], ...]
    distinct: tuple[Effective, ...]


def path_groups(ctx: Context, svc: ServiceModel) -> tuple[PathGroup, ...]:
    """The service's paths grouped per API and product path, enumerated once per run."""
    found = ctx.memo.path_groups.get(svc.id)
    if found is not None:
        return found
    names = {a.id.lower(): a.display_name for a in svc.apis}
    names |= {o.id.lower(): o.display_name for o in svc.operations}

    def name(resource_id: str) -> str:
        found = names.get(resource_id.lower())
        return found if found is not None else last_name(resource_id)

    groups: dict[tuple[str, str], list[tuple[str | None, Effective]]] = {}
    for path, effective in ctx.effective_policies(svc).paths():
        key = NO_PRODUCT if path.product_id is None else f"product:{last_name(path.product_id)}"
        groups.setdefault((path.api_id, key), []).append((path.operation_id, effective))
    subjects: dict[str, str] = {}  # an operation's subject name, the same on every path
    built = []
    for (api_id, key), members in groups.items():
        api_name = name(api_id)
        named: list[tuple[str | None, str, Effective]] = []
        for operation_id, effective in members:
            if operation_id is None:
                named.append((operation_id, api_name, effective))
                continue
            subject = subjects.get(operation_id)
            if subject is None:
                subject = subjects[operation_id] = f"{api_name}/{name(operation_id)}"
            named.append((operation_id, subject, effective))
        distinct = tuple({effective.key: effective for _, effective in members}.values())
        built.append(PathGroup(api_id, api_name, key, tuple(named), distinct))
    found = ctx.memo.path_groups[svc.id] = tuple(built)
    return found


def api_paths(
    ctx: Context, svc: ServiceModel, signature: Signature | None = None
) -> Iterator[ApiPath]:
    """Per API and path (``no-product``, ``product:<name>``): the API when all its operations
    have the same ``signature`` there (by default, the same effective policy), else each
    operation. The signature is asked once per distinct effective policy of the API."""
    for group in path_groups(ctx, svc):
        distinct = group.distinct
        if len(distinct) == 1 or (
            signature is not None and len({signature(effective) for effective in distinct}) == 1
        ):
            yield ApiPath(group.api_id, group.api_name, group.key, group.members[0][2])
            continue
        for operation_id, name, effective in group.members:
            assert operation_id is not None  # an API without operations has one path
            yield ApiPath(operation_id, name, group.key, effective)


def inbound_paths(ctx: Context, svc: ServiceModel) -> Iterator[InboundPath]:
    """The paths with their inbound verdicts; the operations of an API that differ in
    effective policy but not in verdict (an operation policy that adds a rate limit) are
    judged together, as the API."""
    names = {api.id.lower(): api.display_name for api in svc.apis}
    group: list[InboundPath] = []
    for path in [*api_paths(ctx, svc), None]:
        item = None
        if path is not None:
            item = InboundPath(svc, path, ctx.inbound_verdict(svc, path.effective))
        if group and (item is None or _place(item) != _place(group[0])):
            first = group[0]
            if len(group) > 1 and all(j.verdict is first.verdict for j in group):
                api = first.path.api_id
                merged = ApiPath(
                    api, names.get(api.lower(), api), first.path.key, first.path.effective
                )
                group = [InboundPath(svc, merged, first.verdict)]
            yield from group
            group = []
        if item is not None:
            group.append(item)


def _place(item: InboundPath) -> tuple[str, str]:
    return item.path.api_id, item.path.key
