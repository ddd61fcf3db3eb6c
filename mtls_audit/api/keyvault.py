"""Key Vault as rules read it: references to secrets and certificates, the identity each is
read with, the vaults, and whether an identity's access lets it read."""

from mtls_audit.model.access import AccessVerdict
from mtls_audit.model.entities import (
    KeyVaultRef,
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

__all__ = [
    "AccessVerdict",
    "IdentityStatus",
    "KeyVaultRef",
    "ReferenceIdentity",
    "Vault",
    "VaultUse",
    "access_evidence",
    "find_vault",
    "reference_identities",
    "secret_name_of",
    "secret_version_of",
    "vault_access",
    "vault_url_of",
    "vault_uses",
]
