"""MTLS-IN-08: thumbprint literals are written the way APIM reports thumbprints."""

from __future__ import annotations

from collections.abc import Iterator

from mtls_audit import api
from mtls_audit.api.policy import Pin, PinSite, thumbprint_defects

from .. import _guide
from .._policy import PinWalk, judge_literal_forms, judge_pin_sites, shown_pin


@api.rule(
    id="MTLS-IN-08",
    severity=api.Severity.MEDIUM,
    guide=_guide.TROUBLESHOOT_403,
    needs=api.POLICY_NEEDS,
)
def thumbprint_literal_format(svc: api.ServiceModel, ctx: api.Context) -> Iterator[api.Result]:
    """Thumbprint literals are 40 upper-case hex digits or compared ignoring case.

    What it checks:
        Every thumbprint literal in every policy document and fragment: the ``thumbprint`` and
        ``issuer-thumbprint`` claims of ``validate-client-certificate`` identities, and the
        literals compared with ``context.Request.Certificate.Thumbprint`` in expressions. A
        literal passes when it is 40 upper-case hex digits, or when the expression compares it
        ignoring case (``OrdinalIgnoreCase``, ``ToUpper()``). It fails for lower case compared
        ordinally (``!=``, ``==``, ``Equals``), spaces, colons, invisible characters such as
        U+200E (shown escaped in the message), any other character, and a 64-digit SHA-256
        fingerprint. ``{{named values}}`` are judged after resolution; a secret, missing or
        deployment-time value is indeterminate, as is an expression the analyser cannot read.
        Lower case in an identity claim fails at low severity: whether
        ``validate-client-certificate`` ignores case is not documented. One result per element
        holding thumbprints.

    Why it matters:
        ``Thumbprint`` is SHA-1 in upper-case hex. A literal copied from a browser or
        ``openssl`` output (lower case, colons, a hidden left-to-right mark) never equals it,
        so the allowed client is refused with 403, or, in a check written as "reject unless
        one of these matches", the list silently allows fewer clients than intended.

    Example of a failing configuration:
        ``context.Request.Certificate.Thumbprint != "55b8367fcd8be3f3e71f82fc495695b93cf12c06"``

    What passes:
        ``context.Request.Certificate.Thumbprint != "55B8367FCD8BE3F3E71F82FC495695B93CF12C06"``,
        or the lower-case literal compared with ``StringComparison.OrdinalIgnoreCase``.

    How to fix:
        portal: APIs > policy editor: rewrite the thumbprint as the 40 upper-case hex digits shown
            under Certificates (no spaces, colons or invisible characters).
        cli: az apim api policy show …; then az rest --method put …/policies/policy with the
            corrected thumbprint
        arm: policies: properties.value with the thumbprint in upper case, or {{client-thumbprint}}
            from a named value
        terraform: azurerm_api_management_api_policy.xml_content with the corrected thumbprint
        policy: context.Request.Certificate.Thumbprint.Equals("AB12…",
            StringComparison.OrdinalIgnoreCase)

    References:
        https://learn.microsoft.com/azure/api-management/api-management-howto-mutual-certificates-for-clients
        https://learn.microsoft.com/dotnet/api/system.security.cryptography.x509certificates.x509certificate2.thumbprint
    """
    yield from judge_pin_sites(ctx, svc, _WALK, _judge)


_WALK = PinWalk(
    what="thumbprint literals",
    chosen=lambda pin: pin.field.is_thumbprint,
    none="No policy of {name} compares a thumbprint literal.",
    unreadable_words=("thumbprint",),
    unreadable="comparing a thumbprint",
)


def _judge(subject: str, site: PinSite, pins: list[Pin]) -> api.Result:
    defects = {pin: _defects(pin) for pin in pins if pin.value is not None}
    wrong = {pin: found for pin, found in defects.items() if found}
    only_case = all(_case_only(pin) for pin in wrong)
    return judge_literal_forms(
        subject,
        site,
        pins,
        [f"{shown_pin(pin)} has {', '.join(found)}{_never(pin)}" for pin, found in wrong.items()],
        "40 upper-case hex digits, or compared ignoring case",
        api.Severity.LOW if only_case else None,
    )


def _defects(pin: Pin) -> tuple[str, ...]:
    """What is wrong with a known literal; for an expression only what makes it unmatchable."""
    assert pin.value is not None
    if pin.atom is not None and pin.can_match:
        return ()
    return thumbprint_defects(pin.value, pin.case_sensitive)


def _case_only(pin: Pin) -> bool:
    """An identity claim whose only defect is its case (the comparison is undocumented)."""
    return pin.case_sensitive is None and not thumbprint_defects(pin.value or "", False)


def _never(pin: Pin) -> str:
    return ": it never matches" if pin.atom is not None else ""
