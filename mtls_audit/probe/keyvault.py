"""The good client certificate read from Key Vault with the user's credential.

A Key Vault certificate's private key is readable only through the secret of the same name
(``…/secrets/<name>[/<version>]``), as PFX (``application/x-pkcs12``, base64) or PEM
(``application/x-pem-file``). The key stays in memory like any other (see ``certificates``).
"""

from __future__ import annotations

import base64
import binascii
from typing import Any
from urllib.parse import urlsplit

from mtls_audit.errors import InputError
from mtls_audit.probe.certificates import ClientCertificate, from_pem, from_pfx

PFX = "application/x-pkcs12"


def keyvault_certificate(certificate_id: str, credential: Any = None) -> ClientCertificate:
    """Read ``https://<vault>/certificates/<name>[/<version>]`` with its key.

    ``credential`` defaults to ``DefaultAzureCredential``; the server certificate of the vault
    is checked against ``REQUESTS_CA_BUNDLE`` when set (the SDK's transport honours it).
    """
    from mtls_audit.dependencies import require_modules

    require_modules(
        "reading the probe's certificate from Key Vault",
        {"azure.identity": "azure-identity", "azure.keyvault.secrets": "azure-keyvault-secrets"},
    )
    from azure.core.exceptions import AzureError
    from azure.keyvault.secrets import SecretClient

    from mtls_audit.sources.azure.keyvault import is_ip

    parts = urlsplit(certificate_id)
    segments = parts.path.strip("/").split("/")
    if parts.scheme != "https" or segments[0] != "certificates" or len(segments) not in (2, 3):
        raise InputError(
            "not a Key Vault certificate id (https://VAULT/certificates/NAME[/VERSION])",
            source=certificate_id,
        )
    if credential is None:
        from azure.identity import DefaultAzureCredential

        credential = DefaultAzureCredential()
    client = SecretClient(
        f"https://{parts.netloc}",
        credential,
        verify_challenge_resource=not is_ip(parts.hostname or ""),
    )
    try:
        with client:
            secret = client.get_secret(segments[1], segments[2] if len(segments) == 3 else None)
    except AzureError as error:
        message = getattr(error, "message", None) or str(error)
        raise InputError(
            f"cannot be read from Key Vault: {message}", source=certificate_id
        ) from None
    value = secret.value or ""
    if secret.properties.content_type == PFX:
        try:
            data = base64.b64decode(value, validate=True)
        except binascii.Error:
            raise InputError("the PFX secret is not base64", source=certificate_id) from None
        return from_pfx(data, None, source=certificate_id)
    return from_pem(value.encode(), None, source=certificate_id)
