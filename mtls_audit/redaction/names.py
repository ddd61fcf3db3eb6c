"""What is a secret: by ARM resource type and property, by policy construct, and by name.

This is the one list the tool keeps of secret-bearing places; docs/formats.md ("What redaction
removes") describes the same tables for readers. It leans to removal: a property named like a
credential is a secret wherever it appears, a header or parameter whose name looks like a
credential has its literal value removed, and resource types the tool does not read keep only
the shape of their ``properties``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache

REDACTED = "[redacted]"
"""The marker that replaces a secret value (the key, attribute or element stays)."""

# --- names of headers, query parameters, variables and JSON/form keys ----------------------

_SECRET_WORDS = frozenset(
    {
        "auth", "authorization", "key", "apikey", "token", "accesstoken", "authtoken",
        "idtoken", "refreshtoken", "sastoken", "secret", "clientsecret", "password", "passwd",
        "pwd", "passphrase", "credential", "credentials", "sig", "signature", "code", "cookie",
        "sessionid", "sharedaccesskey", "accountkey", "subscriptionkey", "functionkey",
        "functionskey", "masterkey", "hostkey",
    }
)  # fmt: skip
_WORD = re.compile(r"[a-z0-9]+")


def secret_name(name: str) -> bool:
    """Whether a header, query parameter, variable or JSON/form key names a credential:
    ``Authorization``, ``Ocp-Apim-Subscription-Key``, ``x-functions-key``, ``code``, ``sig``,
    ``client_secret``, … (its last word, or all of its words joined, is a credential word;
    ``token_type`` is not one)."""
    words = _WORD.findall(name.lower())
    return bool(words) and ("".join(words) in _SECRET_WORDS or words[-1] in _SECRET_WORDS)


# --- ARM properties -------------------------------------------------------------------------

SECRET_KEYS = frozenset(
    {
        "password", "certificatepassword", "pfx", "privatekey", "accesstoken", "refreshtoken",
        "primarykey", "secondarykey", "clientsecret", "connectionstring", "instrumentationkey",
        "validationkey", "resourceownerpassword", "accountkey", "sharedaccesskey",
        "primaryconnectionstring", "secondaryconnectionstring",
    }
)  # fmt: skip
"""Property names (lower case) whose value is a secret in any resource, at any depth."""
_SECRET_SUFFIXES = ("password", "secret", "connectionstring")


@cache
def secret_key(key: str) -> bool:
    """A property whose value is a secret wherever it appears (the named-value flag
    ``secret`` itself is not one)."""
    low = key.lower()
    return low in SECRET_KEYS or (low != "secret" and low.endswith(_SECRET_SUFFIXES))


@dataclass(frozen=True)
class SecretProperty:
    """A secret-bearing place in a resource: ``path`` from the resource's top (``*`` is any
    key or index); ``unless`` names keys at the last ``*`` that are not secret."""

    path: str
    label: str
    unless: frozenset[str] = frozenset()

    @property
    def segments(self) -> tuple[str, ...]:
        return tuple(self.path.split("/"))


def _props(*paths: str, label: str = "") -> tuple[SecretProperty, ...]:
    """Paths under ``properties``, counted as ``label`` (by default the property's name)."""
    return tuple(
        SecretProperty(f"properties/{path}", label or path.rsplit("/", 1)[-1].lower())
        for path in paths
    )


BY_TYPE: dict[str, tuple[SecretProperty, ...]] = {
    "apim:service": _props(
        "hostnameConfigurations/*/encodedCertificate",
        "hostnameConfigurations/*/certificatePassword",
        "certificates/*/certificatePassword",
    ),
    "apim:certificates": _props("data", "password"),
    "apim:backends": (
        *_props(
            "credentials/header/*/*",
            "credentials/query/*/*",
            "credentials/authorization/parameter",
            label="backend-credential",
        ),
        *_props("proxy/password"),
    ),
    "apim:loggers": (
        SecretProperty(
            "properties/credentials/*",
            "logger-credential",
            frozenset({"name", "identityclientid", "endpointaddress"}),
        ),
    ),
    "apim:caches": _props("connectionString"),
    "apim:identityproviders": _props("clientSecret"),
    "apim:openidconnectproviders": _props("clientSecret"),
    "apim:authorizationservers": _props("clientSecret", "resourceOwnerPassword"),
    "apim:authorizationproviders": _props("oauth2/grantTypes/*/clientSecret"),
    "apim:authorizationproviders/authorizations": _props(
        "parameters/*", label="authorization-parameter"
    ),
    "apim:portalsettings": _props("validationKey"),
    "apim:subscriptions": _props("primaryKey", "secondaryKey"),
    "apim:users": _props("password"),
    "apim:tenant": _props("primaryKey", "secondaryKey"),
    "microsoft.keyvault/vaults/secrets": _props("value", label="key-vault-secret"),
}
"""Secret-bearing properties by resource kind (see :func:`resource_kind`). Named values
(``value`` unless ``secret`` is literally false), policy text and encoded certificates are
judged by their content in ``redaction.resources``."""

NAMED_VALUE_KINDS = frozenset({"apim:namedvalues", "apim:properties"})
"""Named values, and their legacy name (``service/properties``, API versions before 2019)."""

READ_FAMILIES = (
    "microsoft.apimanagement/",
    "microsoft.keyvault/vaults",
    "microsoft.authorization/",
    "microsoft.managedidentity/",
    "microsoft.resources/resourcegroups",
)
"""Resource types the tool reads; any other type keeps only the shape of its properties."""

_APIM = "microsoft.apimanagement/service"


def resource_kind(resource_type: object) -> str:
    """``apim:<child path>`` for APIM types (a workspace's children as the service's), else
    the lower-case type: ``…/service/workspaces/backends`` → ``apim:backends``."""
    low = str(resource_type or "").lower()
    if low == _APIM:
        return "apim:service"
    if not low.startswith(_APIM + "/"):
        return low
    rest = low[len(_APIM) + 1 :]
    if rest.startswith("workspaces/"):
        rest = rest[len("workspaces/") :]
    return f"apim:{rest}"


def is_read_type(resource_type: object) -> bool:
    return str(resource_type or "").lower().startswith(READ_FAMILIES)


def is_policy_kind(kind: str) -> bool:
    last = kind.removeprefix("apim:").rsplit("/", 1)[-1]
    return kind.startswith("apim:") and last in ("policies", "policyfragments")


# --- policy constructs ----------------------------------------------------------------------

POLICY_SECRET_ATTRIBUTES: dict[str, frozenset[str]] = {
    "authentication-certificate": frozenset({"body", "password"}),
    "authentication-basic": frozenset({"password"}),
    "*": frozenset({"password", "certificate-password", "client-secret"}),
}
"""Attributes whose literal value is a secret, by element (``*``: on any element).
``authentication-managed-identity`` carries no secret (its ``client-id`` names an identity)."""

POLICY_NAMED_VALUE_ELEMENTS = frozenset({"set-header", "set-query-parameter", "check-header"})
"""Elements whose ``<value>`` children are secrets when their ``name`` is a credential name."""

POLICY_KEY_ELEMENTS = frozenset({"key"})
"""Elements whose literal text is key material (``validate-jwt`` signing and decryption keys)."""


def secret_attribute(element: str, attribute: str) -> bool:
    """Whether ``attribute`` of a policy ``element`` holds a secret when written literally."""
    attr = attribute.lower()
    return attr in POLICY_SECRET_ATTRIBUTES["*"] or attr in POLICY_SECRET_ATTRIBUTES.get(
        element.lower(), frozenset()
    )
