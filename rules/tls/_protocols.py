"""The judgement shared by the client-side and backend-side protocol rules."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from mtls_audit import api

LEGACY = ("Tls10", "Tls11", "Ssl30")
LABELS = {"Tls10": "TLS 1.0", "Tls11": "TLS 1.1", "Ssl30": "SSL 3.0"}


@dataclass(frozen=True)
class Side:
    """One side of the gateway: its ``customProperties`` keys and how each channel names it."""

    prefix: str  # after Microsoft.WindowsAzure.ApiManagement.Gateway.
    side: str  # in messages: "on the client side"
    portal: str  # the portal's setting under Protocols + ciphers
    terraform: str  # azurerm's security block: enable_<terraform>_tls10

    @property
    def remediation(self) -> dict[str, str]:
        """The fix per channel: the three legacy keys set to false."""
        key = f"Microsoft.WindowsAzure.ApiManagement.Gateway.{self.prefix}"
        flags = "  ".join(f"enable_{self.terraform}_{p.lower()} = false" for p in LEGACY)
        return {
            "portal": f"Protocols + ciphers > {self.portal}: turn TLS 1.0, TLS 1.1 and SSL 3.0 "
            "off.",
            "cli": f"az apim update -g RG -n NAME --set properties.customProperties.'{key}.Tls10'"
            "=False (and Tls11, Ssl30)",
            "arm": f"properties.customProperties: {{'{key}.Tls10': 'False', '….Tls11': 'False', "
            "'….Ssl30': 'False'}",
            "terraform": f"security {{ {flags} }}",
        }


CLIENT = Side("Security.Protocols", "client", "Client protocol", "frontend")
BACKEND = Side("Security.Backend.Protocols", "backend", "Backend protocol", "backend")


def judge_protocols(svc: api.ServiceModel, where: Side) -> Iterator[api.Result]:
    """The service's result: fail when a legacy protocol is (or defaults to) enabled."""
    prefix, side = where.prefix, where.side
    service = svc.service
    settings = [service.protocol_setting(f"{prefix}.{p}") for p in LEGACY]
    enabled = [(p, s) for p, s in zip(LEGACY, settings, strict=True) if s.enabled]
    unknown = [(p, s) for p, s in zip(LEGACY, settings, strict=True) if s.enabled is None]
    name = service.name
    if enabled:
        parts = [
            LABELS[p]
            + (
                " (absent: enabled by default for services created on or before 2018-04-01)"
                if s.defaulted
                else ""
            )
            for p, s in enabled
        ]
        yield api.failed(
            svc.id,
            f"{name} allows {', '.join(parts)} on the {side} side.",
            *(s.citation for _, s in enabled),
            name=name,
        )
    elif unknown:
        yield api.indeterminate(
            svc.id,
            f"{name}: {', '.join(LABELS[p] for p, _ in unknown)} on the {side} side "
            "cannot be decided: the setting is absent or unreadable and the service's "
            "creation date (createdAtUtc) is unknown (absent means enabled for services "
            "created on or before 2018-04-01). Set the keys explicitly to 'False'.",
            *(s.citation for _, s in unknown),
            name=name,
        )
    else:
        yield api.passed(
            svc.id,
            f"{name}: TLS 1.0, TLS 1.1 and SSL 3.0 are off on the {side} side.",
            *(s.citation for s in settings),
            name=name,
        )
