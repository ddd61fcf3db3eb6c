"""Service Fabric backends: what their settings mean for mutual TLS.

A backend whose ``url`` is ``fabric:/application/service`` (with
``properties.properties.serviceFabricCluster`` in ARM wire format) names a Service Fabric
service, not a host. The gateway resolves the service's endpoint by calling the cluster's
``managementEndpoints`` (``https://cluster:19080``), presenting the client certificate
``clientCertificateId`` (or, without it, the uploaded certificate ``clientCertificatethumbprint``)
and checking the cluster's server certificate against ``serverX509Names`` (subject name and
issuer thumbprint) or ``serverCertificateThumbprints``, and then forwards the request to the
resolved endpoint. So the hop the configuration describes is the management endpoint: its
scheme is the transport, the client certificate is the gateway's credential, and the server
names or thumbprints are how the gateway authenticates the cluster.

Both the offline and the live source give backends in ARM wire format, so every rule reads
Service Fabric backends through this one view.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from mtls_audit.model.cite import Citation
from mtls_audit.model.json_view import View, is_unresolved

SCHEME = "fabric"
_SCHEME = re.compile(r"\s*([A-Za-z][A-Za-z0-9+.-]*):")


def url_scheme(url: str) -> str:
    """The scheme of a URL in lower case ("" when none), as ``urlsplit`` reads it but without
    validating the rest: ``urlsplit`` raises on a host such as ``host[x]``."""
    found = _SCHEME.match(url)
    return found.group(1).lower() if found else ""


@dataclass(frozen=True, slots=True)
class ClientCertificate:
    """The certificate the gateway presents to the cluster: an id or an uploaded thumbprint."""

    reference: str
    by_thumbprint: bool
    citation: Citation


@dataclass(frozen=True, slots=True)
class ServiceFabric:
    """The cluster settings of a Service Fabric backend: ``properties`` is the backend's,
    ``view`` its ``serviceFabricCluster`` block (None when the backend has a ``fabric:`` URL but
    no such block)."""

    url: str | None
    properties: View
    view: View | None

    @property
    def management_endpoints(self) -> list[object] | None:
        """The endpoints as written; None when absent or not a list (e.g. unresolved)."""
        value = self.view.get("managementEndpoints") if self.view else None
        return list(value) if isinstance(value, list) else None

    def cite(self, name: str) -> Citation:
        """A setting of the cluster block, or the missing block itself."""
        if self.view is None:
            inner = self.properties.child("properties")
            return (inner or self.properties).cite(
                "serviceFabricCluster" if inner else "properties"
            )
        return self.view.cite(name)

    @property
    def server_names(self) -> list[str]:
        """``serverX509Names[].name``: the subject names the cluster's certificate must have."""
        found = self.view.get("serverX509Names") if self.view else None
        entries = found if isinstance(found, list) else []
        names = [n.get("name") for n in entries if isinstance(n, dict)]
        return [n for n in names if isinstance(n, str) and n and not is_unresolved(n)]

    @property
    def server_thumbprints(self) -> list[str]:
        found = self.view.get("serverCertificateThumbprints") if self.view else None
        values = found if isinstance(found, list) else []
        return [v for v in values if isinstance(v, str) and v and not is_unresolved(v)]

    @property
    def client_certificate(self) -> ClientCertificate | None:
        """``clientCertificateId`` or, without it, ``clientCertificatethumbprint`` (the API
        ignores the thumbprint when an id is given)."""
        if self.view is None:
            return None
        fields = (("clientCertificateId", False), ("clientCertificatethumbprint", True))
        for name, by_thumbprint in fields:
            value = self.view.get(name)
            if isinstance(value, str) and value.strip():
                return ClientCertificate(value.strip(), by_thumbprint, self.view.cite(name))
        return None


def service_fabric(properties: View) -> ServiceFabric | None:
    """The Service Fabric view of a backend's ``properties``, or None for other backends."""
    url = properties.get("url")
    inner = properties.child("properties")
    cluster = inner.child("serviceFabricCluster") if inner else None
    fabric_url = isinstance(url, str) and url_scheme(url) == SCHEME
    if cluster is None and not fabric_url:
        return None
    return ServiceFabric(url if isinstance(url, str) else None, properties, cluster)
