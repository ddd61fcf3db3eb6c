"""Typed views over the APIM child resources and the resources around APIM."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import SplitResult, urlsplit

from mtls_audit.model import ids
from mtls_audit.model.cite import Citation
from mtls_audit.model.fabric import ServiceFabric, service_fabric
from mtls_audit.model.json_view import View, is_unresolved
from mtls_audit.model.resource import Entity
from mtls_audit.model.service import parse_time
from mtls_audit.redaction import REDACTED


class Api(Entity):
    """An API of the service (``Microsoft.ApiManagement/service/apis``)."""

    @property
    def service_url(self) -> str | None:
        return self.props.text("serviceUrl")

    @property
    def protocols(self) -> tuple[str, ...] | None:
        value = self.props.get("protocols")
        if isinstance(value, list) and all(isinstance(v, str) for v in value):
            return tuple(v.lower() for v in value)
        return None

    @property
    def subscription_required(self) -> bool:
        flag = self.props.flag("subscriptionRequired")
        return True if flag is None else flag

    @property
    def is_current(self) -> bool:
        """Revisions other than the current one are not served on the API's path."""
        current = self.props.flag("isCurrent")
        return True if current is None else current


class Operation(Entity):
    @property
    def api_id(self) -> str:
        return ids.parent(self.id)

    @property
    def method(self) -> str:
        return self.props.text("method") or ""

    @property
    def url_template(self) -> str:
        return self.props.text("urlTemplate") or ""


class Product(Entity):
    @property
    def subscription_required(self) -> bool:
        flag = self.props.flag("subscriptionRequired")
        return True if flag is None else flag


class PolicyScope(enum.Enum):
    GLOBAL = "global"
    WORKSPACE = "workspace"
    PRODUCT = "product"
    API = "api"
    OPERATION = "operation"


class Policy(Entity):
    """A policy document at one scope; ``scope_id`` is the resource it is attached to."""

    @property
    def scope_id(self) -> str:
        return ids.parent(self.id)

    @property
    def scope(self) -> PolicyScope:
        parent_type = ids.parent(self.id).split("/")[-2].lower()
        return {
            "service": PolicyScope.GLOBAL,
            "workspaces": PolicyScope.WORKSPACE,
            "products": PolicyScope.PRODUCT,
            "apis": PolicyScope.API,
            "operations": PolicyScope.OPERATION,
        }.get(parent_type, PolicyScope.GLOBAL)

    @property
    def text(self) -> str | None:
        """The policy text: ``value``, or ``policyContent`` in api-versions up to 2017-03-01
        (still written by portal exports and older templates)."""
        for name in ("value", "policyContent"):
            value = self.props.get(name)
            if isinstance(value, str):
                return value
        return None

    @property
    def format(self) -> str:
        """``format``, or ``contentFormat`` beside ``policyContent``; XML when absent."""
        return (self.props.text("format") or self.props.text("contentFormat") or "xml").lower()


class Fragment(Policy):
    """A policy fragment (``policyFragments/{id}``): included verbatim where referenced."""


class Backend(Entity):
    """A backend entity: the URL, TLS settings and credentials the gateway calls with."""

    @property
    def url(self) -> str | None:
        return self.props.text("url")

    @property
    def credentials(self) -> View | None:
        return self.props.child("credentials")

    @property
    def tls(self) -> View | None:
        return self.props.child("tls")

    @property
    def service_fabric(self) -> ServiceFabric | None:
        """The cluster settings of a Service Fabric backend (see ``model.fabric``)."""
        return service_fabric(self.props)


@dataclass(frozen=True, slots=True)
class KeyVaultRef:
    """A Key Vault reference from APIM: the secret URL and the identity used to read it.

    ``view`` is the object holding the reference and ``field`` the property naming the secret
    (``secretIdentifier`` in a ``keyVault`` block, ``keyVaultId`` on a hostname).
    """

    view: View
    secret_identifier: str | None
    identity_client_id: str | None
    field: str = "secretIdentifier"
    label: str = ""

    def cite(self) -> Citation:
        return self.view.cite(self.field)

    @property
    def unresolved(self) -> bool:
        """The secret is named by a template expression the offline source could not resolve:
        a Key Vault reference whose vault, secret and version are unknown."""
        return is_unresolved(self.view.get(self.field))

    @property
    def unknown_secret(self) -> str:
        """Why the vault of this reference is not known (when ``vault_url`` is None)."""
        if self.unresolved:
            written = self.view.get(self.field)
            return f"names its secret with a template expression that was not resolved ({written})"
        return "names a secret that is not a vault URL"

    @property
    def vault_url(self) -> str | None:
        return vault_url_of(self.secret_identifier)

    @property
    def is_versioned(self) -> bool:
        return secret_version_of(self.secret_identifier) is not None

    @property
    def last_status(self) -> View | None:
        return self.view.child("lastStatus")


def _split(url: str | None) -> SplitResult | None:
    """The parts of a URL, or None when there is none or it cannot be parsed (``https://a[b]/``:
    brackets in a host must hold an IPv6 address); such a reference is unknown, not a crash."""
    if not url:
        return None
    try:
        return urlsplit(url)
    except ValueError:
        return None


def vault_url_of(secret_url: str | None) -> str | None:
    """The vault's URL (``https://name.vault.azure.net``) of a Key Vault identifier, or None."""
    parts = _split(secret_url)
    if parts is None or not parts.scheme or not parts.netloc:
        return None
    return f"{parts.scheme}://{parts.netloc}".lower()


def secret_name_of(secret_url: str | None) -> str | None:
    """The secret's (or certificate's) name in a Key Vault identifier, or None."""
    parts = _split(secret_url)
    segments = [s for s in parts.path.split("/") if s] if parts else []
    return segments[1] if len(segments) >= 2 else None


def secret_version_of(secret_url: str | None) -> str | None:
    """The version segment of ``…/secrets/<name>/<version>``, or None when versionless."""
    parts = _split(secret_url)
    segments = [s for s in parts.path.split("/") if s] if parts else []
    return segments[2] if len(segments) >= 3 and segments[2] else None


def key_vault_ref(view: View | None, label: str = "") -> KeyVaultRef | None:
    if view is None:
        return None
    return KeyVaultRef(
        view, view.text("secretIdentifier"), view.text("identityClientId"), label=label
    )


class CertificateEntity(Entity):
    """A certificate uploaded to the service (``…/certificates``), inline or from Key Vault."""

    @property
    def thumbprint(self) -> str | None:
        return self.props.text("thumbprint")

    @property
    def subject(self) -> str | None:
        return self.props.text("subject")

    @property
    def expiry(self) -> datetime | None:
        return parse_time(self.props.get("expirationDate"))

    @property
    def key_vault(self) -> KeyVaultRef | None:
        return key_vault_ref(self.props.child("keyVault"), f"certificate {self.name}")


class NamedValue(Entity):
    """A named value of the service: a literal, a secret, or a Key Vault reference."""

    @property
    def secret(self) -> bool:
        return bool(self.props.flag("secret"))

    @property
    def value(self) -> str | None:
        """The value of a non-secret named value (secrets never carry one; a value the
        snapshot hides, e.g. under an unresolved ``secret`` flag, is unknown)."""
        value = None if self.secret else self.props.text("value")
        return None if value == REDACTED else value

    @property
    def key_vault(self) -> KeyVaultRef | None:
        return key_vault_ref(self.props.child("keyVault"), f"named value {self.display_name}")


class Subscription(Entity):
    """A subscription of the service: its scope and whether it allows request tracing."""

    @property
    def scope(self) -> str:
        return self.props.text("scope") or ""

    @property
    def allow_tracing(self) -> bool | None:
        return self.props.flag("allowTracing")


class Gateway(Entity):
    """A self-hosted gateway."""


class GatewayHostname(Entity):
    @property
    def gateway_id(self) -> str:
        return ids.parent(self.id)


class Vault(Entity):
    """A Key Vault the snapshot holds (``Microsoft.KeyVault/vaults``)."""

    @property
    def uri(self) -> str | None:
        uri = self.props.text("vaultUri")
        return uri.rstrip("/").lower() if uri else None

    @property
    def rbac(self) -> bool | None:
        if not self.props.has("enableRbacAuthorization"):
            return False  # the default before api-version 2026-02-01
        return self.props.flag("enableRbacAuthorization")


class RoleAssignment(Entity):
    @property
    def scope(self) -> str:
        return self.props.text("scope") or ids.parent(ids.parent(self.id))

    @property
    def role_definition_id(self) -> str:
        return self.props.text("roleDefinitionId") or ""

    @property
    def principal_id(self) -> str:
        return self.props.text("principalId") or ""


class RoleDefinition(Entity):
    pass


@dataclass(frozen=True, slots=True)
class KeyVaultCertificate:
    """Data-plane facts about one Key Vault certificate (``snapshot.keyvault``)."""

    vault_url: str
    name: str
    raw: Mapping[str, Any]

    @property
    def pointer(self) -> str:
        return f"/keyvault/{_esc(self.vault_url)}/certificates/{_esc(self.name)}"

    @property
    def properties(self) -> View:
        value = self.raw.get("properties")
        return View(
            self.vault_url,
            self.pointer + "/properties",
            value if isinstance(value, Mapping) else {},
        )

    @property
    def policy(self) -> View | None:
        value = self.raw.get("policy")
        if isinstance(value, Mapping):
            return View(self.vault_url, self.pointer + "/policy", value)
        return None

    @property
    def expiry(self) -> datetime | None:
        return parse_time(self.properties.get("expires_on"))

    @property
    def subject_id(self) -> str:
        """The certificate's URL, used as the subject of results about it."""
        return f"{self.vault_url}/certificates/{self.name}"


def _esc(text: str) -> str:
    return text.replace("~", "~0").replace("/", "~1")
