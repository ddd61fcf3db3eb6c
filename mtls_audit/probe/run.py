"""Run the probe over a snapshot's targets and record the results as its ``probe`` section.

One attempt at a time (so one request at a time per host), with a pause between two attempts
to the same host; every failure is recorded as data with its reason, never raised.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from mtls_audit import snapshot
from mtls_audit.model import build_model
from mtls_audit.probe import certificates
from mtls_audit.probe.certificates import ClientCertificate
from mtls_audit.probe.connection import Network, Record, handshake_attempt, request_attempt, stamp
from mtls_audit.probe.targets import Target, from_snapshot, from_urls

HOST_ATTEMPTS = ("certificate-request", "tls1.0", "tls1.1")


@dataclass(frozen=True)
class ProbeSettings:
    network: Network = field(default_factory=Network)
    interval_s: float = 0.5
    path: str | None = None
    urls: Sequence[str] = ()
    method: str = "GET"
    good: ClientCertificate | None = None


@dataclass
class _Pacer:
    """Keeps ``interval_s`` between two attempts to one host."""

    interval_s: float
    sleep: Callable[[float], None] = time.sleep
    last: dict[tuple[str, int], float] = field(default_factory=dict)

    def wait(self, host: str, port: int) -> None:
        key = (host, port)
        if key in self.last:
            pause = self.last[key] + self.interval_s - time.monotonic()
            if pause > 0:
                self.sleep(pause)
        self.last[key] = time.monotonic()


def probe(document: Mapping[str, Any], settings: ProbeSettings) -> dict[str, Any]:
    """A copy of ``document`` (a snapshot) with the probe's results in its ``probe`` section."""
    started = stamp()
    model = build_model(document)
    skipped: list[dict[str, str]] = []
    if settings.urls:
        targets = from_urls(model, settings.urls, settings.method)
    else:
        targets, skipped = from_snapshot(model, settings.path)
    pacer = _Pacer(settings.interval_s)
    generated = [certificates.self_signed(), certificates.expired()]
    hosts: dict[tuple[str, int], dict[str, Any]] = {}
    for target in targets:
        key = (target.host, target.port)
        if key not in hosts and not target.default_hostname:
            hosts[key] = _entry(target, f"https://{target.host}:{target.port}")
            for kind in HOST_ATTEMPTS:
                pacer.wait(*key)
                hosts[key]["attempts"].append(
                    handshake_attempt(kind, settings.network, target.host, target.port)
                )
    recorded = [_target(t, settings, generated, pacer) for t in targets]
    section = {
        "started_at": started,
        "finished_at": stamp(),
        "settings": {
            "timeout_s": settings.network.timeout_s,
            "interval_s": settings.interval_s,
            "connect_to": sorted(
                f"{h}:{p}:{a}:{n}" for (h, p), (a, n) in settings.network.resolve.items()
            ),
            "good_certificate": settings.good.thumbprint if settings.good else None,
            "extra_headers": sorted(settings.network.headers),  # names only, never values
        },
        "targets": recorded,
        "hosts": list(hosts.values()),
        "skipped": skipped,
    }
    probed = {**document, "probe": section}
    snapshot.validate(probed, source="<snapshot with probe results>")
    return probed


def _entry(target: Target, url: str) -> dict[str, Any]:
    return {
        "service_id": target.service_id,
        "url": url,
        "host": target.host,
        "port": target.port,
        "default_hostname": target.default_hostname,
        "attempts": [],
    }


def _target(
    target: Target,
    settings: ProbeSettings,
    generated: Sequence[ClientCertificate],
    pacer: _Pacer,
) -> dict[str, Any]:
    entry = _entry(target, target.url)
    entry.update(
        method=target.method,
        api_id=target.api_id,
        operation_id=target.operation_id,
        subscription_key_missing=target.subscription_required
        and not any(h.lower() == "ocp-apim-subscription-key" for h in settings.network.headers),
    )
    plan: list[tuple[str, ClientCertificate | None]] = [("no-certificate", None)]
    if not target.default_hostname:  # the default hostname never asks for a certificate
        plan += [(c.label, c) for c in generated]
        if settings.good is not None:
            plan.append((settings.good.label, settings.good))
    url = (target.host, target.port, target.path, target.method)
    attempts: list[Record] = []
    for kind, client in plan:
        pacer.wait(target.host, target.port)
        attempts.append(request_attempt(kind, settings.network, url, client))
    entry["attempts"] = attempts
    return entry
