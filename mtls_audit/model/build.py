"""The model: typed, read-only views over one snapshot, indexed for the rules."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar

from mtls_audit.model import ids
from mtls_audit.model.entities import (
    Api,
    Backend,
    CertificateEntity,
    Fragment,
    Gateway,
    GatewayHostname,
    KeyVaultCertificate,
    KeyVaultRef,
    NamedValue,
    Operation,
    Policy,
    Product,
    RoleAssignment,
    RoleDefinition,
    Subscription,
    Vault,
)
from mtls_audit.model.population import nothing_to_audit
from mtls_audit.model.probe import ProbeRun, read_probe
from mtls_audit.model.relevance import SERVICE_CHILDREN, matters
from mtls_audit.model.resource import Entity
from mtls_audit.model.service import Service, parse_time
from mtls_audit.policy.effective.policies import PolicyParses
from mtls_audit.redaction import redact_text

_APIM = "microsoft.apimanagement/service"
E = TypeVar("E", bound=Entity)
GAP_SCOPES = frozenset({"service", "vault", "vaults", "listing"})


@dataclass(frozen=True, slots=True)
class Gap:
    """A part of the population that could not be collected or understood."""

    kind: str
    subject: str
    what: str
    message: str
    raw: Mapping[str, Any]

    @property
    def scope(self) -> tuple[str, str] | None:
        """What the gap makes uncertain, as the live collector records it (docs/formats.md):
        ``service``, ``vault``, ``vaults`` (every vault's access) or ``listing``; None when the
        source did not say."""
        scope = self.raw.get("scope")
        if isinstance(scope, Mapping) and len(scope) == 1:
            ((kind, value),) = scope.items()
            if kind in GAP_SCOPES and isinstance(value, str):
                return kind, value
        return None


@dataclass(frozen=True)
class ServiceModel:
    """One APIM service and everything below it."""

    service: Service
    apis: tuple[Api, ...] = ()
    operations: tuple[Operation, ...] = ()
    products: tuple[Product, ...] = ()
    product_api_links: tuple[tuple[str, str], ...] = ()  # (product id, api id)
    policies: tuple[Policy, ...] = ()
    fragments: tuple[Fragment, ...] = ()
    backends: tuple[Backend, ...] = ()
    certificates: tuple[CertificateEntity, ...] = ()
    named_values: tuple[NamedValue, ...] = ()
    subscriptions: tuple[Subscription, ...] = ()
    gateways: tuple[Gateway, ...] = ()
    gateway_hostnames: tuple[GatewayHostname, ...] = ()
    gateway_cas: tuple[Entity, ...] = ()
    workspaces: tuple[Entity, ...] = ()
    other: tuple[Entity, ...] = ()

    @property
    def id(self) -> str:
        return self.service.id

    def key_vault_refs(self) -> tuple[KeyVaultRef, ...]:
        """Every Key Vault reference: hostnames, certificate entities, named values; those named
        by an unresolved template expression included (``unresolved``, no ``vault_url``)."""
        refs: list[KeyVaultRef | None] = [
            KeyVaultRef(
                host.view,
                host.key_vault_id,
                host.identity_client_id,
                "keyVaultId",
                f"hostname {host.host_name}",
            )
            for host in self.service.hostnames
        ]
        refs += [c.key_vault for c in self.certificates] + [n.key_vault for n in self.named_values]
        # A reference written as an unresolved template expression is still a reference.
        return tuple(r for r in refs if r is not None and (r.secret_identifier or r.unresolved))

    def operations_of(self, api: Api) -> tuple[Operation, ...]:
        api_key = ids.key(api.id)
        return tuple(o for o in self.operations if ids.key(o.api_id) == api_key)


@dataclass(frozen=True)
class Model:
    """Everything the rules may read. Built once per assessment; never changed."""

    services: tuple[ServiceModel, ...]
    vaults: tuple[Vault, ...]
    role_assignments: tuple[RoleAssignment, ...]
    role_definitions: tuple[RoleDefinition, ...]
    keyvault_certificates: tuple[KeyVaultCertificate, ...]
    gaps: tuple[Gap, ...]
    as_of: datetime
    source: str
    collected: frozenset[str] = field(default_factory=frozenset)  # resource type keys present
    # Gaps about properties no rule reads (see model.relevance): listed, never gating.
    ignored_gaps: tuple[Gap, ...] = ()
    # Why there is nothing to audit (no APIM service), naming what was found; None otherwise.
    nothing_to_audit: str | None = None
    # What live requests to the gateway got back (``mtls-audit probe``); None when none ran.
    probe: ProbeRun | None = None
    # The policy texts parsed while building, reused by the effective policies.
    policy_parses: PolicyParses | None = field(default=None, compare=False, repr=False)

    def gaps_about(self, *what: str, subject: str | None = None) -> tuple[Gap, ...]:
        """Gaps about the given kinds of data (all kinds when none given).

        With ``subject``: the gaps below it or above it, plus those whose scope reaches it. A
        gap about a vault (or about every vault's access) reaches the vault and the services
        that take secrets from it, not a gateway or an API; a gap about a listing reaches what
        it could have listed; a gap with no scope and tied to no service reaches everything (a
        file that could not be read may have held anything).
        """
        wanted = {w.lower() for w in what}

        def related(gap: Gap) -> bool:
            if subject is None:
                return True
            near = gap.subject.startswith("/") and (
                ids.is_within(gap.subject, subject) or ids.is_within(subject, gap.subject)
            )
            return near or self._reaches(gap, subject)

        return tuple(
            g for g in self.gaps if (not wanted or g.what.lower() in wanted) and related(g)
        )

    def _reaches(self, gap: Gap, subject: str) -> bool:
        scope = gap.scope
        if scope is None:
            if not gap.subject.startswith("/"):
                return True
            return not any(ids.is_within(gap.subject, s.id) for s in self.services)
        kind, value = scope
        if kind == "service":
            return False  # the subject test above is the whole of it
        if kind == "listing":
            return not value.startswith("/") or ids.is_within(subject, value)
        vaults = [
            v
            for v in self.vaults
            if kind == "vaults" or v.uri == value.lower() or ids.key(v.id) == ids.key(value)
        ]
        urls = {v.uri for v in vaults if v.uri} | ({value.lower()} if kind == "vault" else set())
        if any(ids.is_within(subject, v.id) for v in vaults):
            return True
        return any(
            ids.is_within(svc.id, subject)
            and any(
                kind == "vaults" or (r.vault_url or "").rstrip("/").lower() in urls
                for r in svc.key_vault_refs()
            )
            for svc in self.services
        )

    def vault_by_url(self, url: str | None) -> Vault | None:
        if not url:
            return None
        low = url.rstrip("/").lower()
        return next((v for v in self.vaults if v.uri == low), None)


def _type_key(resource: Mapping[str, Any]) -> str:
    return str(resource.get("type", "")).lower()


def _product_links(
    grouped: Mapping[str, list[Mapping[str, Any]]],
) -> tuple[tuple[str, str], ...]:
    links: set[tuple[str, str]] = set()
    for r in grouped.get(f"{_APIM}/products/apis", ()):
        rid = str(r.get("id", ""))
        links.add((ids.key(ids.parent(rid)), ids.last_name(rid).lower()))
    for r in grouped.get(f"{_APIM}/products/apilinks", ()):
        api_id = Entity(r).props.text("apiId") or ""
        links.add((ids.key(ids.parent(str(r.get("id", "")))), ids.last_name(api_id).lower()))
    return tuple(sorted(links))


def build_service(service: Mapping[str, Any], rows: list[Mapping[str, Any]]) -> ServiceModel:
    known = {f"{_APIM}/{child}" for child in SERVICE_CHILDREN}
    service_id = str(service.get("id", ""))
    # Each row's type is read once, and the rows of one type are found by one lookup.
    typed = [(_type_key(r), r) for r in rows]
    grouped: dict[str, list[Mapping[str, Any]]] = defaultdict(list)
    for t, r in typed:
        grouped[t].append(r)

    def collect(suffix: str, cls: Callable[[Mapping[str, Any]], E]) -> tuple[E, ...]:
        return tuple(cls(r) for r in grouped.get(f"{_APIM}/{suffix}", ()))

    def rows_of(wanted: Callable[[str], bool]) -> list[Mapping[str, Any]]:
        """The rows of the types ``wanted``, in the rows' order (types interleave in it)."""
        return [r for t, r in typed if wanted(t)]

    links = tuple(
        (product, f"{service_id}/apis/{api}".lower()) for product, api in _product_links(grouped)
    )
    return ServiceModel(
        service=Service(service),
        apis=collect("apis", Api),
        operations=collect("apis/operations", Operation),
        products=collect("products", Product),
        product_api_links=links,
        policies=tuple(
            Policy(r) for r in rows_of(lambda t: t.endswith("/policies") and t.startswith(_APIM))
        ),
        fragments=collect("policyfragments", Fragment),
        backends=collect("backends", Backend),
        certificates=collect("certificates", CertificateEntity),
        named_values=collect("namedvalues", NamedValue),
        subscriptions=collect("subscriptions", Subscription),
        gateways=collect("gateways", Gateway),
        gateway_hostnames=collect("gateways/hostnameconfigurations", GatewayHostname),
        gateway_cas=collect("gateways/certificateauthorities", Entity),
        workspaces=collect("workspaces", Entity),
        other=tuple(Entity(r) for r in rows_of(lambda t: t not in known)),
    )


UNANALYSED = "not-analysed"


def _unanalysed(services: tuple[ServiceModel, ...]) -> list[dict[str, str]]:
    """Gaps for parts of the population this version collects no further and does not judge:
    workspaces (their APIs, products, policies and fragments). Recorded like any gap, so the
    evidence is incomplete and says why, instead of silently judging fewer operations."""
    return [
        {
            "kind": UNANALYSED,
            "subject": workspace.id,
            "what": "workspaces",
            "message": f"the APIs, products, policies and fragments of workspace "
            f"{ids.last_name(workspace.id)} are not collected or judged by this version, "
            "so requests to workspace-scoped APIs are not judged",
        }
        for svc in services
        for workspace in svc.workspaces
    ]


def _refused(services: tuple[ServiceModel, ...], parses: PolicyParses) -> list[dict[str, str]]:
    """Gaps for the policy documents the parser refuses (hostile or unreadable text): none of
    their elements is judged, so the evidence is incomplete and names each document. The
    parser's message gives the line and column, never the text."""
    found = []
    for svc in services:
        for policy in (*svc.policies, *svc.fragments):
            text, fmt = policy.text, policy.format
            if text is None or fmt.endswith("-link"):
                continue
            parsed = parses.parse(text, fmt)
            if isinstance(parsed, str):
                what = "policy fragment" if isinstance(policy, Fragment) else "policy"
                message = f"the {what} is not judged, none of its elements is known: {parsed}"
                found.append(
                    {
                        "kind": "parse-error",
                        "subject": policy.id,
                        "what": "policy-document",
                        "message": redact_text(message, Counter()),
                    }
                )
    return found


def build_model(snapshot: Mapping[str, Any], *, as_of: datetime | None = None) -> Model:
    """The model of a (validated) snapshot; ``as_of`` defaults to its collection time."""
    resources: list[Mapping[str, Any]] = list(snapshot.get("resources", []))
    typed = [(_type_key(r), r) for r in resources]
    by_service: dict[str, list[Mapping[str, Any]]] = defaultdict(list)
    services: list[Mapping[str, Any]] = []
    for t, r in typed:
        if t == _APIM:
            services.append(r)
        elif t.startswith(_APIM + "/"):
            owner = ids.service_of(str(r.get("id", "")))
            if owner:
                by_service[ids.key(owner)].append(r)
    provenance = snapshot.get("provenance", {})
    collected_at = parse_time(provenance.get("collected_at"))
    if as_of is None:
        if collected_at is None:
            raise ValueError("the snapshot has no collection time; give an explicit as_of")
        as_of = collected_at
    keyvault: list[KeyVaultCertificate] = []
    for vault_url, vault in sorted(snapshot.get("keyvault", {}).items()):
        for name, cert in sorted((vault.get("certificates") or {}).items()):
            keyvault.append(KeyVaultCertificate(vault_url.rstrip("/").lower(), name, cert))
    built = tuple(
        build_service(s, by_service.get(ids.key(str(s.get("id", ""))), [])) for s in services
    )
    parses = PolicyParses()
    recorded = [*snapshot.get("gaps", []), *_unanalysed(built), *_refused(built, parses)]
    types = {str(r.get("id", "")).rstrip("/").lower(): t for t, r in typed} if recorded else {}
    gaps: list[Gap] = []
    ignored: list[Gap] = []
    for g in recorded:
        gap = Gap(
            str(g.get("kind", "")),
            str(g.get("subject", "") or ""),
            str(g.get("what", "") or ""),
            str(g.get("message", "")),
            g,
        )
        (gaps if matters(g, types) else ignored).append(gap)
    return Model(
        services=built,
        vaults=tuple(Vault(r) for t, r in typed if t == "microsoft.keyvault/vaults"),
        role_assignments=tuple(
            RoleAssignment(r) for t, r in typed if t == "microsoft.authorization/roleassignments"
        ),
        role_definitions=tuple(
            RoleDefinition(r) for t, r in typed if t == "microsoft.authorization/roledefinitions"
        ),
        keyvault_certificates=tuple(keyvault),
        probe=read_probe(snapshot),
        gaps=tuple(gaps),
        ignored_gaps=tuple(ignored),
        as_of=as_of,
        source=str(provenance.get("source", "")),
        collected=frozenset(t for t, _ in typed),
        nothing_to_audit=nothing_to_audit(resources, len(gaps)),
        policy_parses=parses,
    )
