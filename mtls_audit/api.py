"""The public rule API: everything a rule pack imports, and nothing else.

A rule file declares one rule (or a very small family) with :func:`rule` and yields
:class:`Result` objects built with :func:`passed`, :func:`failed`, :func:`indeterminate` and
:func:`not_applicable`, reading only the :class:`Model`. Everything outside this module may
change between releases; these names are pinned by a test.
"""

from mtls_audit.certs.times import days_left
from mtls_audit.engine.results import (
    Result,
    Severity,
    Status,
    failed,
    indeterminate,
    not_applicable,
    passed,
)
from mtls_audit.engine.rule import Lifecycle, Options, Rule, rule
from mtls_audit.model import (
    MISSING,
    Citation,
    Evidence,
    Gap,
    Model,
    PolicyCitation,
    ServiceModel,
    Tier,
    View,
    as_bool,
    is_unresolved,
    parse_time,
    same,
)
from mtls_audit.model.entities import secret_name_of, secret_version_of, vault_url_of
from mtls_audit.model.inventory import InventoryCertificate, certificate_inventory

__all__ = [
    "MISSING",
    "Citation",
    "Evidence",
    "Gap",
    "InventoryCertificate",
    "Lifecycle",
    "Model",
    "Options",
    "PolicyCitation",
    "Result",
    "Rule",
    "ServiceModel",
    "Severity",
    "Status",
    "Tier",
    "View",
    "as_bool",
    "certificate_inventory",
    "days_left",
    "failed",
    "indeterminate",
    "is_unresolved",
    "not_applicable",
    "parse_time",
    "passed",
    "rule",
    "same",
    "secret_name_of",
    "secret_version_of",
    "vault_url_of",
]
