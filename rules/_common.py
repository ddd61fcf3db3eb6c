"""Helpers shared by the rules of the built-in pack (certificate windows, tier gates, Key Vault
references whose vault is not known)."""

from __future__ import annotations

from collections.abc import Iterator

from mtls_audit import api
from mtls_audit.api.keyvault import KeyVaultRef


def expiry_level(days: int, options: api.Options) -> str | None:
    """``expired``, ``warning`` (inside the warning window), ``notice`` (inside the notice
    window) or None (beyond both)."""
    if days < 0:
        return "expired"
    if days <= options.warning_days:
        return "warning"
    if days <= options.notice_days:
        return "notice"
    return None


def classic_only(svc: api.ServiceModel, what: str) -> api.Result | None:
    """The result for a service where a classic-tier-only check does not apply, if any."""
    return tier_gate(
        svc,
        unknown=f", so whether {what} applies cannot be decided.",
        other=f": {what} applies to classic tiers only.",
    )


def tier_gate(svc: api.ServiceModel, *, unknown: str, other: str) -> api.Result | None:
    """Indeterminate on an unknown tier, not applicable on a non-classic one (citing the sku).

    The messages are ``The tier of NAME is unknown (sku 'X')`` + ``unknown`` and
    ``NAME is on the X tier`` + ``other``.
    """
    service = svc.service
    if service.tier is api.Tier.UNKNOWN:
        return api.indeterminate(
            svc.id,
            f"The tier of {service.name} is unknown (sku {service.sku_name!r}){unknown}",
            service.view.cite("sku"),
            name=service.name,
        )
    if service.tier is not api.Tier.CLASSIC:
        return api.not_applicable(
            svc.id,
            f"{service.name} is on the {service.sku_name} tier{other}",
            service.view.cite("sku"),
            name=service.name,
        )
    return None


def hostnames_unknown(svc: api.ServiceModel, what: str) -> api.Result | None:
    """An indeterminate result when the service's hostnames are an unresolved expression."""
    written = svc.service.hostnames_unresolved
    if written is None:
        return None
    return api.indeterminate(
        svc.id,
        f"{svc.service.name}: the hostnames are the template expression {written}, which "
        f"was not resolved, so {what} cannot be judged.",
        svc.service.props.cite("hostnameConfigurations"),
        name=svc.service.name,
    )


def uncollected(ctx: api.Context, svc: api.ServiceModel, *collections: str) -> Iterator[api.Result]:
    """An indeterminate result when a collection a rule needs was not (fully) collected.

    ``collections`` are ARM child collection names as the collectors report them in gaps
    (``apis``, ``backends``, ``namedValues``…); the check is what keeps an empty collection
    from being read as "nothing to judge".
    """
    gaps = ctx.gaps_about(*collections, subject=svc.id)
    if gaps:
        yield api.indeterminate(
            svc.id,
            f"{svc.service.name}: {', '.join(collections)} could not be collected completely "
            f"({gaps[0].message}).",
            name=svc.service.name,
        )


def vault_unknown(ref: KeyVaultRef, consequence: str) -> api.Result:
    """Indeterminate about ``ref``, which names no vault URL (an unresolved template expression,
    or other text): "The named value x names its secret with …, <consequence>."."""
    return api.indeterminate(
        ref.view.resource_id,
        f"The {ref.label} {ref.unknown_secret}, {consequence}.",
        ref.cite(),
        key=ref.label,
        name=ref.label,
    )
