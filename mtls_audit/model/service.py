"""The APIM service resource: tier, hostnames, CA store, identity, protocol settings."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from mtls_audit.certs.times import TimestampError, parse_timestamp
from mtls_audit.model.cite import MISSING, Citation
from mtls_audit.model.json_view import View, as_bool, is_unresolved, same
from mtls_audit.model.resource import Entity

# Services created on or before this date default the legacy protocols and ciphers to enabled.
LEGACY_DEFAULT_CUTOFF = datetime(2018, 4, 1, 23, 59, 59, tzinfo=UTC)

_CLASSIC = {"developer", "basic", "standard", "premium", "isolated"}
_V2 = {"basicv2", "standardv2", "premiumv2"}
_PROTOCOL_PREFIX = "Microsoft.WindowsAzure.ApiManagement.Gateway."


class Tier(enum.Enum):
    """How a tier asks for client certificates (FACTS §2)."""

    CLASSIC = "classic"  # per-hostname negotiateClientCertificate, CA store
    CONSUMPTION = "consumption"  # enableClientCertificate, no CA store
    V2 = "v2"  # enableClientCertificate (UNCONFIRMED, most likely), no CA store
    UNKNOWN = "unknown"


def parse_time(value: Any) -> datetime | None:
    """An ARM timestamp as aware UTC; None when absent or not a timestamp."""
    if not isinstance(value, str) or not value:
        return None
    try:
        return parse_timestamp(value)
    except TimestampError:
        return None


def tier_of(sku_name: str | None) -> Tier:
    if not sku_name:
        return Tier.UNKNOWN
    base = sku_name.split("_", 1)[0].lower()  # Terraform writes Developer_1, Consumption_0
    if base in _CLASSIC:
        return Tier.CLASSIC
    if base == "consumption":
        return Tier.CONSUMPTION
    if base in _V2:
        return Tier.V2
    return Tier.UNKNOWN


@dataclass(frozen=True, slots=True)
class CertificateInfo:
    """The ``certificate`` block ARM returns for hostnames and CA store entries."""

    view: View

    @property
    def expiry(self) -> datetime | None:
        return parse_time(self.view.get("expiry"))

    @property
    def thumbprint(self) -> str | None:
        return self.view.text("thumbprint")

    @property
    def subject(self) -> str | None:
        return self.view.text("subject")


@dataclass(frozen=True, slots=True)
class Hostname:
    """One entry of the service's ``hostnameConfigurations``: a host name, its type and the
    certificate it serves."""

    view: View

    @property
    def type(self) -> str:
        return self.view.text("type") or ""

    @property
    def host_name(self) -> str:
        """The host name; an unresolved template expression as written (so that two unknown
        hosts stay apart and a reader sees which parameter holds the name)."""
        value = self.view.get("hostName")
        return value if isinstance(value, str) else ""

    @property
    def is_proxy(self) -> bool:
        return same(self.type, "Proxy")

    @property
    def is_builtin(self) -> bool:
        """The default ``*.azure-api.net`` host (certificateSource BuiltIn)."""
        source = self.view.get("certificateSource")
        return same(source, "BuiltIn") or self.host_name.lower().endswith(".azure-api.net")

    @property
    def negotiates(self) -> bool | None:
        """``negotiateClientCertificate``; ARM's default when absent is false."""
        if not self.view.has("negotiateClientCertificate"):
            return False
        return self.view.flag("negotiateClientCertificate")

    @property
    def key_vault_id(self) -> str | None:
        return self.view.text("keyVaultId")

    @property
    def identity_client_id(self) -> str | None:
        return self.view.text("identityClientId")

    @property
    def certificate(self) -> CertificateInfo | None:
        child = self.view.child("certificate")
        return CertificateInfo(child) if child else None


@dataclass(frozen=True, slots=True)
class CaCertificate:
    """One certificate of the service's CA store (``properties.certificates``)."""

    view: View

    @property
    def store_name(self) -> str | None:
        return self.view.text("storeName")

    @property
    def certificate(self) -> CertificateInfo | None:
        child = self.view.child("certificate")
        return CertificateInfo(child) if child else None


@dataclass(frozen=True, slots=True)
class UserIdentity:
    resource_id: str
    principal_id: str | None
    client_id: str | None


@dataclass(frozen=True, slots=True)
class Identity:
    view: View | None

    @property
    def type(self) -> str:
        return (self.view.text("type") if self.view else None) or "None"

    @property
    def system_assigned(self) -> bool:
        return "systemassigned" in self.type.replace(" ", "").lower().split(",")

    @property
    def principal_id(self) -> str | None:
        return self.view.text("principalId") if self.view else None

    @property
    def user_assigned(self) -> tuple[UserIdentity, ...]:
        users = self.view.get("userAssignedIdentities") if self.view else None
        if not isinstance(users, Mapping):
            return ()
        out = []
        for rid, data in users.items():
            info = data if isinstance(data, Mapping) else {}
            view = View("", "", info)
            out.append(UserIdentity(rid, view.text("principalId"), view.text("clientId")))
        return tuple(out)


@dataclass(frozen=True, slots=True)
class ProtocolSetting:
    """One ``customProperties`` switch, with ARM's date-dependent default applied."""

    name: str
    enabled: bool | None  # None: cannot be decided (absent and creation date unknown)
    defaulted: bool
    citation: Citation


class Service(Entity):
    """The APIM service resource."""

    @property
    def sku_name(self) -> str | None:
        sku = self.view.child("sku")
        return sku.text("name") if sku else None

    @property
    def tier(self) -> Tier:
        return tier_of(self.sku_name)

    @property
    def created_at(self) -> datetime | None:
        return parse_time(self.props.get("createdAtUtc"))

    @property
    def hostnames_unresolved(self) -> str | None:
        """The template expression written for ``hostnameConfigurations`` when the offline
        source could not resolve it: the hostnames are then unknown, not absent."""
        written = self.props.get("hostnameConfigurations")
        return written if is_unresolved(written) else None

    @property
    def hostnames(self) -> tuple[Hostname, ...]:
        return tuple(Hostname(v) for v in self.props.children("hostnameConfigurations"))

    @property
    def ca_certificates(self) -> tuple[CaCertificate, ...]:
        return tuple(CaCertificate(v) for v in self.props.children("certificates"))

    @property
    def identity(self) -> Identity:
        return Identity(self.view.child("identity"))

    @property
    def virtual_network_type(self) -> str | None:
        return self.props.text("virtualNetworkType")

    def protocol_setting(self, suffix: str) -> ProtocolSetting:
        """A ``customProperties`` switch such as ``Security.Protocols.Tls10``."""
        name = _PROTOCOL_PREFIX + suffix
        custom = self.props.child("customProperties") or View(
            self.id, self.props.ptr("customProperties"), {}
        )
        citation = custom.cite(name)
        if citation.observed is not MISSING:
            return ProtocolSetting(name, as_bool(citation.observed), False, citation)
        created = self.created_at
        if created is None:
            return ProtocolSetting(name, None, True, citation)
        return ProtocolSetting(name, created <= LEGACY_DEFAULT_CUTOFF, True, citation)
