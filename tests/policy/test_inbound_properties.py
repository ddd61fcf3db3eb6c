"""Property tests: the kind verdicts of random rejecting conditions agree with a brute-force
interpreter run on random requests.

A ``<choose>`` answers 403 when a random condition holds, so a request is rejected exactly when
the interpreter says True (403) or ERROR (on-error, 500). A kind judged "always rejected" must
reject every random request whose certificate fails in that way; and a missing certificate, on
which nothing but the request path can bear, is judged exactly as the interpreter runs it when
the condition reads the certificate at all (a condition on the path alone is no check).
"""

from __future__ import annotations

from dataclasses import replace
from html import escape

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mtls_audit.policy.expressions.parser import parse
from mtls_audit.policy.inbound.verdicts import FailureKind, Outcome
from tests.policy.cert_model import Request, interpret
from tests.policy.cert_strategies import HEALTH, REQUEST_CERTS, conditions, requests
from tests.policy.inbound_support import REJECT, verdict

_SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _kind(request: Request) -> FailureKind | None:
    """The one way the request's certificate fails, if any (identity aside)."""
    cert = request.certificate
    if cert is None:
        return FailureKind.MISSING
    if cert.not_after < request.now:
        return FailureKind.EXPIRED
    if cert.not_before > request.now:
        return FailureKind.NOT_YET_VALID
    if not cert.chain_ok:
        return FailureKind.UNTRUSTED
    return None if cert.revocation_ok else FailureKind.REVOKED


def _rejected(text: str, request: Request) -> bool:
    return interpret(parse(f"@({text})"), request) is not False


def _policy(text: str) -> str:
    return f'<choose><when condition="{escape("@(" + text + ")")}">{REJECT}</when></choose>'


@_SETTINGS
@given(st.sampled_from(REQUEST_CERTS).flatmap(conditions), requests())
def test_always_rejected_kinds_reject_every_such_request(text: str, request: Request) -> None:
    found = verdict(_policy(text))
    kind = _kind(request)
    if kind is not None and found[kind].outcome is Outcome.ALWAYS:
        assert _rejected(text, request), (text, kind, request)


@_SETTINGS
@given(st.sampled_from(REQUEST_CERTS).flatmap(conditions), requests())
def test_a_missing_certificate_is_judged_as_it_runs(text: str, request: Request) -> None:
    missing = verdict(_policy(text))[FailureKind.MISSING]
    runs = [_rejected(text, replace(request, certificate=None, path=p)) for p in ("/health", "/x")]
    if "context.Request.Certificate" not in text:
        # Nothing reads the certificate: a path-only answer is no certificate check.
        assert missing.outcome is Outcome.NEVER, text
    elif HEALTH not in text:
        assert (missing.outcome is Outcome.ALWAYS) is runs[0], text
    elif all(runs):
        assert missing.outcome is Outcome.ALWAYS, text
    elif not any(runs):
        assert missing.outcome is Outcome.NEVER, text
    else:
        # Rejected on one path only: a bypass, or "never" when that path rejects every request
        # (``NotAfter < now || now < NotAfter``): paths nobody gets through say nothing.
        assert missing.outcome in (Outcome.BYPASS, Outcome.NEVER), text
