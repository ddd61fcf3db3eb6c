"""The public rule API: everything a rule pack imports, and nothing else.

A rule file declares one rule with :func:`rule`, naming the kind of ``subject`` it judges
(:data:`Service`, :data:`Certificate`, :data:`Snapshot`) and the collections it ``needs``
(e.g. :data:`POLICY_NEEDS`); its judge receives one subject and the run's :class:`Context`
and yields :class:`Result` objects built with :func:`passed`, :func:`failed`,
:func:`indeterminate` and :func:`not_applicable`. The domain views rules read beyond the
service live in four modules of this package: :mod:`mtls_audit.api.policy` (the policy
language and its analyses), :mod:`mtls_audit.api.certificates` (certificates and names),
:mod:`mtls_audit.api.keyvault` (Key Vault references, identities and access) and
:mod:`mtls_audit.api.probe` (what the live probe recorded); the other kinds of subject (each API
path, backend, secret named value, Key Vault certificate, probed service…) are in
:mod:`mtls_audit.api.subjects`. Everything
outside this package may change between releases; these names are pinned by a test.

Constants: :data:`MISSING` (a value absent from ARM, told apart from null), :data:`Evidence`
(a resource citation or a policy citation, what results carry).
"""

from mtls_audit.analysis import POLICY_NEEDS, Context
from mtls_audit.api import subjects as subjects  # api.subjects for packs importing api
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
from mtls_audit.model.entities import Api, Backend, NamedValue, Subscription
from mtls_audit.model.fabric import ServiceFabric, url_scheme
from mtls_audit.wording import plural

__all__ = [
    "MISSING",
    "POLICY_NEEDS",
    "Api",
    "Backend",
    "Certificate",
    "Citation",
    "Context",
    "Evidence",
    "Gap",
    "Lifecycle",
    "Model",
    "NamedValue",
    "Options",
    "PolicyCitation",
    "Result",
    "Rule",
    "Service",
    "ServiceFabric",
    "ServiceModel",
    "Severity",
    "Snapshot",
    "Status",
    "SubjectKind",
    "Subscription",
    "Tier",
    "View",
    "as_bool",
    "days_left",
    "failed",
    "indeterminate",
    "is_unresolved",
    "not_applicable",
    "parse_time",
    "passed",
    "plural",
    "rule",
    "same",
    "url_scheme",
]
