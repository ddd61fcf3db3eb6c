"""MTLS-EVID-01: the evidence is complete."""

from __future__ import annotations

from collections.abc import Iterator

from mtls_audit import api


@api.rule(id="MTLS-EVID-01", severity=api.Severity.HIGH, subject=api.subjects.Scope)
def evidence_complete(seen: api.ServiceModel | api.Model, ctx: api.Context) -> Iterator[api.Result]:
    """Every data source the rules need was collected.

    What it checks:
        The snapshot has no gaps: nothing failed to be read (403, 404 of a referenced object,
        timeout, parse error, unresolved template expression), and at least one APIM service
        is present. One result per service; gaps not tied to a service count for every
        service.

    Why it matters:
        An audit conclusion holds only for the population it saw. A missing part makes the
        dependent results indeterminate and must be visible, not silently skipped.

    Example of a failing configuration:
        Role assignments returned 403 to the auditor's identity.

    What passes:
        A snapshot without gaps.

    How to fix:
        portal: Grant the identity that runs the audit Reader on the subscription, Key Vault Reader
            and Key Vault Certificate User (or certificates get/list) on the vaults, and read access
            to role assignments.
        cli: az role assignment create --role Reader --assignee ID --scope /subscriptions/SUB
        arm: Resolve every template expression the offline source reports, or pass --parameters.
        terraform: Export resources with their values resolved (terraform show -json is not an ARM
            export).

    References:
        45 CFR 164.308(a)(8); AICPA TSC CC4.1.
    """
    if isinstance(seen, api.Model):
        yield api.failed(
            "(snapshot)",
            f"The snapshot holds no API Management service ({seen.nothing_to_audit}).",
            name="snapshot",
        )
        return
    gaps = ctx.gaps_about(subject=seen.id)
    name = seen.service.name
    if gaps:
        shown = "; ".join(f"{g.what or g.kind} {g.subject}: {g.message}" for g in gaps[:5])
        more = f" (and {len(gaps) - 5} more)" if len(gaps) > 5 else ""
        yield api.failed(
            seen.id,
            f"{api.plural(len(gaps), 'part')} of {name} could not be collected or understood: "
            f"{shown}{more}.",
            name=name,
        )
    else:
        yield api.passed(seen.id, f"Everything about {name} was collected.", name=name)
