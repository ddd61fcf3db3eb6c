"""What MTLS-KV-02 and MTLS-KV-03 share: the access of the identity each vault is read with."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

from mtls_audit import api
from mtls_audit.api.keyvault import (
    AccessVerdict,
    IdentityStatus,
    VaultUse,
    access_evidence,
    vault_access,
    vault_uses,
)

Judge = Callable[[api.Context, api.ServiceModel, VaultUse], api.Result]


def each_use(ctx: api.Context, svc: api.ServiceModel, judge: Judge) -> Iterator[api.Result]:
    """One result per (vault, identity) of the service; N/A for a service without references."""
    uses = vault_uses(svc)
    if not uses:
        yield api.not_applicable(
            svc.id, f"{svc.service.name} has no Key Vault references.", name=svc.service.name
        )
    for use in uses:
        yield judge(ctx, svc, use)


@dataclass(frozen=True)
class Access:
    """The verdict on one vault use, or None with the reason it cannot be judged."""

    verdict: AccessVerdict | None
    unjudged: str
    evidence: tuple[api.Citation, ...]


def judge_access(ctx: api.Context, svc: api.ServiceModel, use: VaultUse) -> Access:
    """Judge a use whose identity is not missing (the rules decide what a missing one means)."""
    identity = use.identity
    evidence = tuple(ref.cite() for ref in use.refs) + identity.evidence
    if identity.status is IdentityStatus.UNKNOWN:
        return Access(None, f"The {use.refs[0].label} {identity.reason}.", evidence)
    if use.vault_url is None:
        return Access(None, f"The {use.refs[0].label} {use.refs[0].unknown_secret}.", evidence)
    if not identity.principal_id:
        return Access(
            None,
            f"The principal id of {identity.description} is not in the snapshot, so its "
            f"access to {use.vault_url} cannot be judged.",
            evidence,
        )
    verdict = vault_access(
        ctx.model, identity.principal_id, use.vault_url, secrets=use.secrets, service_id=svc.id
    )
    return Access(verdict, "", evidence + access_evidence(ctx.model, use.vault_url, verdict))


def used_for(use: VaultUse) -> str:
    """ "the hostname x, the named value y" — what the vault is read for."""
    return ", ".join(ref.label for ref in use.refs)


def capital(text: str) -> str:
    return text[:1].upper() + text[1:]
