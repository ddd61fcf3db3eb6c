"""Typed read-only views over a snapshot: the one place ARM quirks live."""

from mtls_audit.model.build import Gap, Model, ServiceModel, build_model
from mtls_audit.model.cite import MISSING, Citation, Evidence, PolicyCitation
from mtls_audit.model.json_view import View, as_bool, is_unresolved, same
from mtls_audit.model.service import Tier, parse_time

__all__ = [
    "MISSING",
    "Citation",
    "Evidence",
    "Gap",
    "Model",
    "PolicyCitation",
    "ServiceModel",
    "Tier",
    "View",
    "as_bool",
    "build_model",
    "is_unresolved",
    "parse_time",
    "same",
]
