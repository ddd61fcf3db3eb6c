"""The kinds of subject a rule may judge, beyond the three of :mod:`mtls_audit.api`
(:data:`Service`, :data:`Certificate`, :data:`Snapshot`, also here), and the subjects some
of them hand to the judge (:class:`VaultCertificateUse`, :class:`Probed`).

Kinds: :data:`Scope` (each service, or the snapshot when it holds none), :data:`ApiPath`
and :data:`MtlsPath` (each API path with its inbound verdict; the second only of services
that request client certificates), :data:`Hostname`, :data:`CaCertificate`, :data:`Api`,
:data:`Backend`, :data:`Subscription`, :data:`NamedValue`, :data:`VaultReference`,
:data:`VaultCertificate` and :data:`ProbeSubject`. Each kind names the collections it needs;
the engine reports a service where one is missing as indeterminate and never calls the judge.
"""

from mtls_audit.engine.subjects import (
    Api,
    ApiPath,
    Backend,
    CaCertificate,
    Certificate,
    Hostname,
    MtlsPath,
    NamedValue,
    Probed,
    ProbeSubject,
    Scope,
    Service,
    Snapshot,
    Subscription,
    VaultCertificate,
    VaultCertificateUse,
    VaultReference,
)

__all__ = [
    "Api",
    "ApiPath",
    "Backend",
    "CaCertificate",
    "Certificate",
    "Hostname",
    "MtlsPath",
    "NamedValue",
    "ProbeSubject",
    "Probed",
    "Scope",
    "Service",
    "Snapshot",
    "Subscription",
    "VaultCertificate",
    "VaultCertificateUse",
    "VaultReference",
]
