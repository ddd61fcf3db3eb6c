"""Typed views over the ``probe`` section of a snapshot: what live TLS requests to the gateway
got back (see ``docs/formats.md``, "The probe section").

The probe itself (``mtls_audit.probe``) records facts; this module only reads them and says what
each attempt amounts to (:class:`Answer`), so that the MTLS-PROBE rules stay thin.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from mtls_audit.model.cite import Citation


class AttemptKind(enum.StrEnum):
    """The kinds of attempt the probe makes (``attempts[].kind``)."""

    NO_CERTIFICATE = "no-certificate"
    SELF_SIGNED = "self-signed"
    EXPIRED = "expired"
    GOOD_CERTIFICATE = "good-certificate"
    # Handshakes only, no request: a TLS 1.2 handshake read for a CertificateRequest, and the
    # legacy protocol versions.
    CERTIFICATE_REQUEST = "certificate-request"
    TLS10 = "tls1.0"
    TLS11 = "tls1.1"


HANDSHAKE_ONLY = frozenset({AttemptKind.CERTIFICATE_REQUEST, AttemptKind.TLS10, AttemptKind.TLS11})
REJECTING_STATUSES = frozenset({401, 403})


class Answer(enum.Enum):
    """What one attempt amounts to."""

    REJECTED = "rejected"  # the handshake was refused by the server, or HTTP 401/403
    ACCEPTED = "accepted"  # an HTTP answer below 400: the request got through
    UNCLEAR = "unclear"  # an answer that neither rejects nor accepts (404, 429, 5xx, no answer)
    NOT_MADE = "not_made"  # the attempt could not be made (DNS, timeout, untrusted server…)


@dataclass(frozen=True, slots=True)
class Disclosure:
    """A response header that shows details of the certificate presented."""

    header: str
    discloses: str


@dataclass(frozen=True, slots=True)
class Attempt:
    """One TLS connection of the probe and what came back."""

    kind: str
    at: str
    handshake: str  # completed | refused | failed | not-offered
    pointer: str
    protocol: str | None = None
    cipher: str | None = None
    status: int | None = None
    certificate_requested: bool | None = None
    presented: str | None = None  # SHA-1 thumbprint of the certificate offered, if any
    disclosures: tuple[Disclosure, ...] = ()
    error: str | None = None

    @property
    def answer(self) -> Answer:
        if self.handshake == "refused":
            return Answer.REJECTED
        if self.handshake != "completed":
            return Answer.NOT_MADE
        if self.kind in HANDSHAKE_ONLY:
            return Answer.ACCEPTED
        if self.status in REJECTING_STATUSES:
            return Answer.REJECTED
        if self.status is not None and self.status < 400:
            return Answer.ACCEPTED
        return Answer.UNCLEAR

    @property
    def outcome(self) -> str:
        """What happened, in words: "refused the TLS handshake (…)", "answered HTTP 200"."""
        if self.handshake == "refused":
            return f"refused the TLS handshake ({self.error})" if self.error else "refused"
        if self.handshake != "completed":
            return f"could not be made: {self.error or self.handshake}"
        if self.kind in HANDSHAKE_ONLY:
            return f"completed a {self.protocol or 'TLS'} handshake"
        if self.status is None:
            return f"gave no HTTP answer ({self.error or 'connection closed'})"
        via = f" over {self.protocol}" if self.protocol else ""
        return f"answered HTTP {self.status}{via}"

    def cite(self, subject: str) -> Citation:
        observed: dict[str, Any] = {"kind": self.kind, "at": self.at, "handshake": self.handshake}
        for name in ("protocol", "status", "error"):
            value = getattr(self, name)
            if value is not None:
                observed[name] = value
        return Citation(subject, self.pointer, observed)


@dataclass(frozen=True, slots=True)
class ProbeTarget:
    """A URL the probe called (a gateway hostname and a path), or a host it shook hands with."""

    service_id: str
    url: str
    host: str
    default_hostname: bool
    attempts: tuple[Attempt, ...]
    api_id: str | None = None
    operation_id: str | None = None
    # The API requires a subscription key and the probe sent none: a 401 may be about the key.
    subscription_key_missing: bool = False

    def answer(self, attempt: Attempt) -> Answer:
        """What ``attempt`` amounts to on this target: a 401 that may be about a missing
        subscription key proves nothing about the certificate."""
        found = attempt.answer
        if found is Answer.REJECTED and attempt.status == 401 and self.subscription_key_missing:
            return Answer.UNCLEAR
        return found

    def outcome(self, attempt: Attempt) -> str:
        said = attempt.outcome
        if self.answer(attempt) is not attempt.answer:
            said += " (the API requires a subscription key and none was sent)"
        return said

    @property
    def subject(self) -> str:
        """The ARM id the results about this target name (the URL when no service is known)."""
        return self.service_id or self.url

    def attempt(self, kind: str) -> Attempt | None:
        return next((a for a in self.attempts if a.kind == kind), None)


@dataclass(frozen=True, slots=True)
class ProbeRun:
    """The probe section: when it ran, the URLs called, the hosts shaken hands with."""

    started_at: str
    finished_at: str
    targets: tuple[ProbeTarget, ...]
    hosts: tuple[ProbeTarget, ...]
    skipped: tuple[Mapping[str, Any], ...] = ()

    def services(self) -> tuple[str, ...]:
        """The subjects probed, in order of first appearance."""
        return tuple(dict.fromkeys(t.subject for t in (*self.targets, *self.hosts)))

    def targets_of(self, subject: str) -> tuple[ProbeTarget, ...]:
        return tuple(t for t in self.targets if t.subject == subject)

    def hosts_of(self, subject: str) -> tuple[ProbeTarget, ...]:
        return tuple(t for t in self.hosts if t.subject == subject)


def read_probe(document: Mapping[str, Any]) -> ProbeRun | None:
    """The probe section of a (schema-validated) snapshot, or None when no probe ran."""
    section = document.get("probe")
    if not isinstance(section, Mapping):
        return None
    return ProbeRun(
        started_at=str(section.get("started_at", "")),
        finished_at=str(section.get("finished_at", "")),
        targets=_targets(section.get("targets", []), "/probe/targets"),
        hosts=_targets(section.get("hosts", []), "/probe/hosts"),
        skipped=tuple(section.get("skipped", [])),
    )


def _targets(items: Sequence[Mapping[str, Any]], base: str) -> tuple[ProbeTarget, ...]:
    return tuple(
        ProbeTarget(
            service_id=item.get("service_id") or "",
            url=item["url"],
            host=item["host"],
            default_hostname=bool(item.get("default_hostname")),
            attempts=tuple(
                _attempt(a, f"{base}/{i}/attempts/{j}")
                for j, a in enumerate(item.get("attempts", []))
            ),
            api_id=item.get("api_id"),
            operation_id=item.get("operation_id"),
            subscription_key_missing=bool(item.get("subscription_key_missing")),
        )
        for i, item in enumerate(items)
    )


def _attempt(item: Mapping[str, Any], pointer: str) -> Attempt:
    return Attempt(
        kind=item["kind"],
        at=item["at"],
        handshake=item["handshake"],
        pointer=pointer,
        protocol=item.get("protocol"),
        cipher=item.get("cipher"),
        status=item.get("status"),
        certificate_requested=item.get("certificate_requested"),
        presented=item.get("presented"),
        disclosures=tuple(
            Disclosure(d["header"], d["discloses"]) for d in item.get("disclosures", [])
        ),
        error=item.get("error"),
    )
