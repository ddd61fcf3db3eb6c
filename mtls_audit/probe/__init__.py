"""The probe: tests of operating effectiveness over real TLS connections to the gateway.

``targets`` chooses what to call from a snapshot, ``certificates`` makes the client
certificates to present, ``connection`` makes one attempt and records it, ``run`` does them all
and returns the snapshot with its ``probe`` section (read back by ``model.probe``).
"""

from mtls_audit.probe.certificates import ClientCertificate, user_certificate
from mtls_audit.probe.connection import Network
from mtls_audit.probe.run import ProbeSettings, probe

__all__ = ["ClientCertificate", "Network", "ProbeSettings", "probe", "user_certificate"]
