"""MTLS-LEAK-04: no subscription allows request tracing."""

from __future__ import annotations

from collections.abc import Iterator

from mtls_audit import api


@api.rule(id="MTLS-LEAK-04", severity=api.Severity.MEDIUM, subject=api.subjects.Subscription)
def tracing_allowed(sub: api.Subscription, ctx: api.Context) -> Iterator[api.Result]:
    """No subscription allows request tracing.

    What it checks:
        Every APIM subscription has ``allowTracing`` false (the default when absent). The
        snapshot does not say which subscriptions are production ones, so every subscription
        is judged; waive a non-production one with a documented waiver.

    Why it matters:
        A trace returns the full policy execution to the caller: request headers, the
        client certificate's details, named-value results and backend responses — patient
        data and secrets in a debugging channel.

    Example of a failing configuration:
        A partner subscription with ``"allowTracing": true`` left on after an investigation.

    What passes:
        ``"allowTracing": false`` or absent.

    How to fix:
        portal: Subscriptions > subscription > Allow tracing: off.
        cli: az rest --method patch …/subscriptions/SID?api-version=2024-05-01 --body
            '{"properties": {"allowTracing": false}}'
        arm: Microsoft.ApiManagement/service/subscriptions: properties.allowTracing: false
        terraform: azurerm_api_management_subscription: allow_tracing = false

    References:
        https://learn.microsoft.com/azure/api-management/api-management-howto-api-inspector
    """
    cite = sub.props.cite("allowTracing")
    label = f"Subscription {sub.display_name}"
    if sub.allow_tracing:
        yield api.failed(sub.id, f"{label} allows request tracing.", cite, name=sub.display_name)
    else:
        yield api.passed(
            sub.id, f"{label} does not allow request tracing.", cite, name=sub.display_name
        )
