"""The Key Vault part of a live collection: the vaults APIM references, who may read them, and
the certificates' properties and policies from the data plane.

A vault URL found in APIM configuration is attacker-influenced: the data plane is only contacted
for URLs under the cloud's Key Vault domain or equal to the ``vaultUri`` of a vault found through
ARM, so that no Key Vault token is sent anywhere else.
"""

from __future__ import annotations

import asyncio
import base64
import ipaddress
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime
from enum import Enum
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from azure.core.exceptions import ClientAuthenticationError

from mtls_audit.sources.azure.arm_reads import Api, ArmReader, Failure, Json
from mtls_audit.sources.azure.http import CappedRetryPolicy, GuardedTransport, origin
from mtls_audit.sources.azure.store import Store
from mtls_audit.sources.roles import BUILTIN_ROLE_IDS
from mtls_audit.wording import plural

if TYPE_CHECKING:
    from azure.core.credentials_async import AsyncTokenCredential as AsyncCredential

KEYVAULT_API = "2023-07-01"


def split_secret_id(secret_id: object) -> tuple[str, str] | None:
    """``https://kv/secrets/name[/version]`` → (vault URL, name); None when not such a URL."""
    if not isinstance(secret_id, str) or not secret_id.lower().startswith("https://"):
        return None
    segments = urlsplit(secret_id).path.strip("/").split("/")
    if len(segments) < 2 or segments[0].lower() != "secrets" or not segments[1]:
        return None
    return origin(secret_id), segments[1]


def references(resources: Iterable[Json]) -> dict[str, set[str]]:
    """Vault URL → names of the certificates APIM takes from it (named values add the vault)."""
    found: dict[str, set[str]] = {}
    for resource in resources:
        kind = str(resource.get("type", "")).lower()
        properties = resource.get("properties") or {}
        key_vault = properties.get("keyVault") or {}
        if kind == "microsoft.apimanagement/service":
            for hostname in properties.get("hostnameConfigurations") or []:
                _note(found, split_secret_id(hostname.get("keyVaultId")), certificate=True)
        elif kind.endswith("/certificates"):
            _note(found, split_secret_id(key_vault.get("secretIdentifier")), certificate=True)
        elif kind.endswith("/namedvalues"):
            _note(found, split_secret_id(key_vault.get("secretIdentifier")), certificate=False)
    return found


def _note(found: dict[str, set[str]], ref: tuple[str, str] | None, *, certificate: bool) -> None:
    if ref is not None:
        names = found.setdefault(ref[0], set())
        if certificate:
            names.add(ref[1])


def _iso(value: datetime | None) -> str | None:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ") if value else None


def _plain(value: Any) -> Any:
    return value.value if isinstance(value, Enum) else value


def certificate_facts(certificate: Any) -> Json:
    """A ``KeyVaultCertificate`` under the SDK's attribute names (no secret is in it)."""
    props = certificate.properties
    thumbprint = props.x509_thumbprint
    facts: Json = {
        "properties": {
            "id": props.id,
            "name": props.name,
            "version": props.version,
            "enabled": props.enabled,
            "not_before": _iso(props.not_before),
            "expires_on": _iso(props.expires_on),
            "created_on": _iso(props.created_on),
            "updated_on": _iso(props.updated_on),
            "recovery_level": _plain(props.recovery_level),
            "x509_thumbprint": bytes(thumbprint).hex().upper() if thumbprint else None,
            "tags": props.tags or {},
        }
    }
    policy = certificate.policy
    if policy is not None:
        facts["policy"] = {
            "exportable": policy.exportable,
            "key_type": _plain(policy.key_type),
            "key_size": policy.key_size,
            "reuse_key": policy.reuse_key,
            "issuer_name": _plain(policy.issuer_name),
            "content_type": _plain(policy.content_type),
            "subject": policy.subject,
            "san_dns_names": policy.san_dns_names,
            "validity_in_months": policy.validity_in_months,
            "certificate_transparency": policy.certificate_transparency,
            "lifetime_actions": [
                {
                    "action": _plain(action.action),
                    "days_before_expiry": action.days_before_expiry,
                    "lifetime_percentage": action.lifetime_percentage,
                }
                for action in policy.lifetime_actions or []
            ],
        }
    if certificate.cer:
        facts["cer"] = base64.b64encode(bytes(certificate.cer)).decode("ascii")
    return facts


def is_ip(host: str) -> bool:
    """Whether ``host`` is an IP address (a vault reached by address cannot pass Key Vault's
    challenge-resource check, which compares domain names)."""
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return True


class KeyVaultCollector:
    def __init__(
        self,
        *,
        reader: ArmReader,
        vaults_api: Api,
        authz: Api,
        store: Store,
        credential: AsyncCredential,
        transport: GuardedTransport,
        retry_policy: Callable[[], CappedRetryPolicy],
        keyvault_suffix: str | None,
    ) -> None:
        self._reader = reader
        self._vaults_api = vaults_api
        self._authz = authz
        self._store = store
        self._credential = credential
        self._transport = transport
        self._retry_policy = retry_policy
        self._suffix = keyvault_suffix
        self.data_plane_api: str | None = None

    async def collect(
        self, refs: dict[str, set[str]], subscriptions: Sequence[str]
    ) -> dict[str, Json]:
        """Vault resources, role assignments and custom roles into the store; data-plane facts
        returned keyed by vault URL."""
        if not refs:
            return {}
        located = await self._locate(set(refs), subscriptions)
        facts: dict[str, Json] = {}
        async with asyncio.TaskGroup() as group:
            for vault in located.values():
                group.create_task(self._role_assignments(str(vault["id"])))
            for url, names in sorted(refs.items()):
                if names:
                    facts[url] = {"certificates": {}}
                    trusted = url in located or self._in_cloud(url)
                    group.create_task(
                        self._certificates(url, sorted(names), facts[url]["certificates"], trusted)
                    )
        await self._custom_roles()
        return facts

    def _in_cloud(self, vault_url: str) -> bool:
        host = urlsplit(vault_url).hostname or ""
        return self._suffix is not None and host.endswith(self._suffix)

    async def _locate(self, urls: set[str], subscriptions: Sequence[str]) -> dict[str, Json]:
        """Find each vault's ARM resource by its ``vaultUri`` (no Resource Graph here)."""
        located: dict[str, Json] = {}
        failed = 0
        for sub in subscriptions:
            if urls <= located.keys():
                break
            scope = f"/subscriptions/{sub}"
            path = f"{scope}/providers/Microsoft.KeyVault/vaults"
            listed, failure = await self._reader.pages(self._vaults_api, path)
            if failure is not None:
                failed += 1
                self._reader.gaps.add(failure, subject=scope, what="keyvaults")
            for vault in listed:
                uri = str((vault.get("properties") or {}).get("vaultUri") or "")
                if uri and origin(uri) in urls and "id" in vault:
                    located.setdefault(origin(uri), vault)
        for url in sorted(urls - located.keys()):
            if failed:
                message = f"not looked for: {plural(failed, 'vault listing')} in scope failed"
                missing = Failure(kind="not-collected", message=message)
            else:
                message = "no Microsoft.KeyVault/vaults resource has this vaultUri in scope"
                missing = Failure(kind="not-found", message=message)
            self._reader.gaps.add(missing, subject=url, what="keyvault")
        for url, vault in located.items():
            if not vault.get("properties"):
                body = await self._reader.resource(
                    self._vaults_api, str(vault["id"]), what="keyvault"
                )
                located[url] = body or vault
            self._store.add(located[url])
        return located

    async def _role_assignments(self, vault_id: str) -> None:
        # No filter: assignments at, above and below the vault (a role on one secret counts).
        found = await self._reader.items(
            self._authz,
            f"{vault_id}/providers/Microsoft.Authorization/roleAssignments",
            what="role-assignments",
            subject=vault_id,
        )
        self._store.add_all(found)

    async def _custom_roles(self) -> None:
        wanted: dict[str, str] = {}
        for assignment in self._store.of_type("Microsoft.Authorization/roleAssignments"):
            role_id = str((assignment.get("properties") or {}).get("roleDefinitionId") or "")
            guid = role_id.rstrip("/").rsplit("/", 1)[-1].lower()
            if role_id.startswith("/") and guid not in BUILTIN_ROLE_IDS:
                wanted.setdefault(role_id.lower(), role_id)
        bodies = await asyncio.gather(
            *(
                self._reader.resource(self._authz, role_id, what="role-definitions")
                for role_id in wanted.values()
            )
        )
        self._store.add_all(body for body in bodies if body is not None)

    async def _certificates(
        self, vault_url: str, names: list[str], into: dict[str, Json], trusted: bool
    ) -> None:
        if not trusted:
            domain = f"*{self._suffix}" if self._suffix else "no Key Vault domain was given"
            message = (
                f"not a Key Vault of this cloud ({domain}) and not found through ARM: "
                "not contacted, so that no token is sent there"
            )
            for name in names:
                self._gap(Failure(kind="unsupported", message=message), vault_url, name)
            return
        from azure.keyvault.certificates.aio import CertificateClient

        self._transport.allow(vault_url)
        client = CertificateClient(
            vault_url,
            self._credential,
            verify_challenge_resource=not is_ip(urlsplit(vault_url).hostname or ""),
            transport=self._transport,
            retry_policy=self._retry_policy(),
        )
        self.data_plane_api = str(client.api_version)
        async with client:
            # The first read answers Key Vault's authentication challenge for the rest.
            await self._certificate(client, vault_url, names[0], into)
            await asyncio.gather(
                *(self._certificate(client, vault_url, n, into) for n in names[1:])
            )

    async def _certificate(
        self, client: Any, vault_url: str, name: str, into: dict[str, Json]
    ) -> None:
        try:
            async with self._reader.stop.bounded():
                certificate = await client.get_certificate(name)
        except ClientAuthenticationError as error:
            self._gap(self._reader.signed_in_failure(error, "Key Vault"), vault_url, name)
            return
        except Exception as error:  # every failure of a read is a gap, never a crash
            self._gap(Failure.of_error(error), vault_url, name)
            return
        into[name] = certificate_facts(certificate)

    def _gap(self, failure: Failure, vault_url: str, name: str) -> None:
        subject = f"{vault_url}/certificates/{name}"
        self._reader.gaps.add(failure, subject=subject, what="keyvault-certificate")
