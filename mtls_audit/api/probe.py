"""The live probe as rules read it: the targets the probe called, each attempt it made (no
certificate, self-signed, expired, the user's good certificate, legacy TLS handshakes) and
what the gateway answered."""

from mtls_audit.model.probe import Answer, Attempt, AttemptKind, ProbeRun, ProbeTarget

__all__ = ["Answer", "Attempt", "AttemptKind", "ProbeRun", "ProbeTarget"]
