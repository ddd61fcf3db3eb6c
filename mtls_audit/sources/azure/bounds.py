"""The bounds and endpoints a live collection may be given, apart from the collection itself:
the command line reads them without loading what a collection needs (``source``, asyncio)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mtls_audit.sources.azure.source import AzureOptions

# A stuck run ends within the deadline and is assessed and reported in well under 10 minutes.
DEFAULT_TIMEOUT_S = 20.0
DEFAULT_RETRIES = 3
DEFAULT_DEADLINE_S = 480.0


@dataclass(frozen=True)
class Bounds:
    """How long one attempt of one request and the whole collection may take, and how often a
    request is retried; None: not given (the defaults, or a schedule file's, stand)."""

    timeout_s: float | None = None
    max_retries: int | None = None
    deadline_s: float | None = None

    def applied(self, options: AzureOptions) -> AzureOptions:
        """``options`` with the bounds given here."""
        return replace(
            options,
            timeout_s=options.timeout_s if self.timeout_s is None else self.timeout_s,
            max_retries=options.max_retries if self.max_retries is None else self.max_retries,
            deadline_s=options.deadline_s if self.deadline_s is None else self.deadline_s,
        )


@dataclass(frozen=True)
class EndpointOverrides:
    """A private cloud's ARM endpoint (its token audience too), Entra authority and Key Vault
    DNS suffix; None: the cloud's own."""

    arm_endpoint: str | None = None
    authority_host: str | None = None
    keyvault_suffix: str | None = None

    def applied(self, options: AzureOptions) -> AzureOptions:
        """``options`` with these endpoints."""
        return replace(
            options,
            arm_endpoint=self.arm_endpoint,
            authority_host=self.authority_host,
            keyvault_suffix=self.keyvault_suffix,
        )
