"""The public rule API: everything a rule pack imports, and nothing else.

A rule file declares one rule (or a very small family) with :func:`rule` and yields
:class:`Result` objects built with :func:`passed`, :func:`failed`, :func:`indeterminate` and
:func:`not_applicable`, reading only the :class:`Model`. Everything outside this module may
change between releases; these names are pinned by a test.
"""

from mtls_audit.analysis import POLICY_NEEDS, Context
from mtls_audit.analysis.coverage import PathCoverage, requests_client_certificates
from mtls_audit.analysis.documents import document_elements
from mtls_audit.analysis.paths import NO_PRODUCT, ApiPath, InboundPath
from mtls_audit.certs.names import DistinguishedNameError, DnForm, ParsedDn, Rdn, parse_dn
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
from mtls_audit.engine.subjects import Certificate, Service, Snapshot, SubjectKind
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
    Api,
    Backend,
    CertificateEntity,
    KeyVaultRef,
    Vault,
    secret_name_of,
    secret_version_of,
    vault_url_of,
)
from mtls_audit.model.fabric import ServiceFabric, url_scheme
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
    CertificateRole,
    InventoryCertificate,
    backend_certificates,
    certificate_facts,
    certificate_inventory,
    keyvault_certificate,
)
from mtls_audit.policy.disclosure import (
    ResponseWrite,
    Written,
    certificate_data,
    header_data,
    last_error_data,
    response_writes,
)
from mtls_audit.policy.effective import Effective
from mtls_audit.policy.effective_merge import Layer
from mtls_audit.policy.effective_tree import EffectiveNode, EffectiveSection
from mtls_audit.policy.inbound import FailureKind, InboundVerdict, KindVerdict, Outcome
from mtls_audit.policy.pins import Pin, PinField, PinSite, escaped, thumbprint_defects
from mtls_audit.policy.placeholders import find_placeholders
from mtls_audit.redaction import REDACTED, secret_attribute

__all__ = [
    "MISSING",
    "NO_PRODUCT",
    "POLICY_NEEDS",
    "REDACTED",
    "AccessVerdict",
    "Api",
    "ApiPath",
    "Backend",
    "BackendCertificate",
    "Certificate",
    "CertificateEntity",
    "CertificateRole",
    "Citation",
    "Context",
    "DistinguishedNameError",
    "DnForm",
    "Effective",
    "EffectiveNode",
    "EffectiveSection",
    "Evidence",
    "FailureKind",
    "Gap",
    "IdentityStatus",
    "InboundPath",
    "InboundVerdict",
    "InventoryCertificate",
    "KeyVaultRef",
    "KindVerdict",
    "Layer",
    "Lifecycle",
    "Model",
    "Options",
    "Outcome",
    "ParsedDn",
    "PathCoverage",
    "Pin",
    "PinField",
    "PinSite",
    "PolicyCitation",
    "Rdn",
    "ReferenceIdentity",
    "ResponseWrite",
    "Result",
    "Rule",
    "Service",
    "ServiceFabric",
    "ServiceModel",
    "Severity",
    "Snapshot",
    "Status",
    "SubjectKind",
    "Tier",
    "Vault",
    "VaultUse",
    "View",
    "Written",
    "access_evidence",
    "as_bool",
    "backend_certificates",
    "certificate_data",
    "certificate_facts",
    "certificate_inventory",
    "days_left",
    "document_elements",
    "escaped",
    "failed",
    "find_placeholders",
    "find_vault",
    "header_data",
    "indeterminate",
    "is_unresolved",
    "keyvault_certificate",
    "last_error_data",
    "not_applicable",
    "parse_dn",
    "parse_time",
    "passed",
    "reference_identities",
    "requests_client_certificates",
    "response_writes",
    "rule",
    "same",
    "secret_attribute",
    "secret_name_of",
    "secret_version_of",
    "thumbprint_defects",
    "url_scheme",
    "vault_access",
    "vault_url_of",
    "vault_uses",
]
