"""Verdicts of small inbound policies written in the tests."""

from __future__ import annotations

from mtls_audit.policy.inbound.verdicts import FailureKind, InboundVerdict, Outcome
from mtls_audit.policy.standalone import FileVerdict, judge_text

CERT = "context.Request.Certificate"
REJECT = '<return-response><set-status code="403" reason="Forbidden" /></return-response>'

MISSING = FailureKind.MISSING
UNTRUSTED = FailureKind.UNTRUSTED
REVOKED = FailureKind.REVOKED
EXPIRED = FailureKind.EXPIRED
NOT_YET_VALID = FailureKind.NOT_YET_VALID
THUMBPRINT = FailureKind.WRONG_THUMBPRINT
NAME = FailureKind.WRONG_NAME

ALWAYS = Outcome.ALWAYS
NEVER = Outcome.NEVER
BYPASS = Outcome.BYPASS
UNDECIDABLE = Outcome.UNDECIDABLE


def judged(inbound: str, **named_values: str) -> FileVerdict:
    """The file verdict of a ``<policies>`` document with this ``<inbound>`` body."""
    text = f"<policies>\n<inbound>\n{inbound}\n</inbound>\n<backend><forward-request /></backend>"
    return judge_text(text + "\n</policies>", "test.xml", named_values)


def verdict(inbound: str, **named_values: str) -> InboundVerdict:
    found = judged(inbound, **named_values).verdict
    assert found is not None
    return found


def outcomes(found: InboundVerdict) -> dict[str, str]:
    """Kind → outcome, by value, for compact assertions."""
    return {kind.value: v.outcome.value for kind, v in found.kinds.items()}


def rejects(reject_condition: str, **named_values: str) -> InboundVerdict:
    """A ``<choose>`` that answers 403 when ``reject_condition`` (an expression) holds."""
    inbound = f'<choose><when condition="@({reject_condition})">{REJECT}</when></choose>'
    return verdict(inbound, **named_values)
