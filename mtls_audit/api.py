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
from mtls_audit.model.access import AccessVerdict
from mtls_audit.model.entities import (
    Backend,
    Vault,
    secret_name_of,
    secret_version_of,
    vault_url_of,
)
from mtls_audit.model.identity import (
    IdentityStatus,
    ReferenceIdentity,
    VaultUse,
    access_evidence,
    find_vault,
    reference_identities,
    vault_access,
    vault_uses,
)
from mtls_audit.model.inventory import (
    BackendCertificate,
    InventoryCertificate,
    backend_certificates,
    certificate_facts,
    certificate_inventory,
    keyvault_certificate,
)
from mtls_audit.model.policies import effective_policies

__all__ = [
    "MISSING",
    "AccessVerdict",
    "Backend",
    "BackendCertificate",
    "Citation",
    "Evidence",
    "Gap",
    "IdentityStatus",
    "InventoryCertificate",
    "Lifecycle",
    "Model",
    "Options",
    "PolicyCitation",
    "ReferenceIdentity",
    "Result",
    "Rule",
    "ServiceModel",
    "Severity",
    "Status",
    "Tier",
    "Vault",
    "VaultUse",
    "View",
    "access_evidence",
    "as_bool",
    "backend_certificates",
    "certificate_facts",
    "certificate_inventory",
    "days_left",
    "effective_policies",
    "failed",
    "find_vault",
    "indeterminate",
    "is_unresolved",
    "keyvault_certificate",
    "not_applicable",
    "parse_time",
    "passed",
    "reference_identities",
    "rule",
    "same",
    "secret_name_of",
    "secret_version_of",
    "vault_access",
    "vault_url_of",
    "vault_uses",
]
