"""The policy language as rules read it: effective policies per path, the documents as
written, certificate pins, the inbound certificate verdict, coverage and response writes.

The analyses themselves are reached through :class:`mtls_audit.api.Context`
(``ctx.effective_policies(svc)``, ``ctx.inbound_paths(svc)``, ``ctx.policy_pins(svc)``…);
this module holds the types they return and the pure helpers that read them.

Constants: :data:`NO_PRODUCT` (the path key of requests made without a product) and
:data:`REDACTED` (what stands in a snapshot for a secret value).
"""

from mtls_audit.analysis.coverage import PathCoverage, requests_client_certificates
from mtls_audit.analysis.documents import document_elements
from mtls_audit.analysis.paths import NO_PRODUCT, ApiPath, InboundPath
from mtls_audit.policy.disclosure.writes import (
    ResponseWrite,
    Written,
    certificate_data,
    header_data,
    last_error_data,
)
from mtls_audit.policy.effective.merge import Layer
from mtls_audit.policy.effective.policies import Effective
from mtls_audit.policy.effective.tree import EffectiveNode, EffectiveSection
from mtls_audit.policy.inbound.pins import Pin, PinField, PinSite, escaped, thumbprint_defects
from mtls_audit.policy.inbound.verdicts import FailureKind, InboundVerdict, KindVerdict, Outcome
from mtls_audit.policy.parsing.placeholders import find_placeholders
from mtls_audit.redaction import REDACTED, secret_attribute

__all__ = [
    "NO_PRODUCT",
    "REDACTED",
    "ApiPath",
    "Effective",
    "EffectiveNode",
    "EffectiveSection",
    "FailureKind",
    "InboundPath",
    "InboundVerdict",
    "KindVerdict",
    "Layer",
    "Outcome",
    "PathCoverage",
    "Pin",
    "PinField",
    "PinSite",
    "ResponseWrite",
    "Written",
    "certificate_data",
    "document_elements",
    "escaped",
    "find_placeholders",
    "header_data",
    "last_error_data",
    "requests_client_certificates",
    "secret_attribute",
    "thumbprint_defects",
]
