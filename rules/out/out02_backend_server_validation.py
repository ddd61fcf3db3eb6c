"""MTLS-OUT-02: the gateway validates backend server certificates."""

from __future__ import annotations

from collections.abc import Iterator

from mtls_audit import api

from .. import _guide

FLAGS = ("validateCertificateChain", "validateCertificateName")


@api.rule(
    id="MTLS-OUT-02",
    severity=api.Severity.HIGH,
    guide=_guide.BACKEND_CERTIFICATE,
    subject=api.subjects.Backend,
)
def backend_server_validation(backend: api.Backend, ctx: api.Context) -> Iterator[api.Result]:
    """Backend server certificates are validated.

    What it checks:
        Each backend's ``tls.validateCertificateChain`` and ``tls.validateCertificateName`` are
        not false. Both default to true when absent. For a Service Fabric backend the result
        also names how the cluster's management endpoint is authenticated
        (``serverX509Names`` or ``serverCertificateThumbprints``, or the chain only).

    Why it matters:
        Without server validation the gateway talks to whoever answers: a man in the middle
        receives the patient data and the gateway's own client certificate handshake.

    Example of a failing configuration:
        ``"tls": {"validateCertificateChain": false}``

    What passes:
        ``tls`` absent, or both flags true.

    How to fix:
        portal: Backends > backend > Validate certificate chain and Validate certificate name: on.
        cli: az apim backend update … (set tls.validateCertificateChain and
            tls.validateCertificateName to true with az rest)
        arm: backends: properties.tls: {validateCertificateChain: true, validateCertificateName:
            true}
        terraform: azurerm_api_management_backend: tls { validate_certificate_chain =
            true  validate_certificate_name = true }

    References:
        https://learn.microsoft.com/rest/api/apimanagement/backend/create-or-update
    """
    tls = backend.tls
    cites = [tls.cite(f) for f in FLAGS] if tls else [backend.props.cite("tls")]
    values = {f: (tls.flag(f) if tls and tls.has(f) else True) for f in FLAGS}
    off = [f for f, v in values.items() if v is False]
    unknown = [f for f, v in values.items() if v is None]
    label = f"Backend {backend.name}"
    if off:
        yield api.failed(
            backend.id,
            f"{label} does not validate the server certificate: "
            + ", ".join(f"{f} is false" for f in off)
            + ".",
            *cites,
            name=backend.name,
        )
    elif unknown:
        yield api.indeterminate(
            backend.id,
            f"{label}: " + ", ".join(unknown) + " cannot be read.",
            *cites,
            name=backend.name,
        )
    else:
        pinned, pins = _cluster_pins(backend)
        yield api.passed(
            backend.id,
            f"{label} validates the server certificate chain and "
            "name" + (" (defaults)" if tls is None else "") + pinned + ".",
            *cites,
            *pins,
            name=backend.name,
        )


def _cluster_pins(backend: api.Backend) -> tuple[str, list[api.Citation]]:
    """How a Service Fabric backend authenticates its cluster's management endpoint."""
    fabric = backend.service_fabric
    if fabric is None:
        return "", []
    names, thumbprints = fabric.server_names, fabric.server_thumbprints
    cites = [fabric.cite("serverX509Names"), fabric.cite("serverCertificateThumbprints")]
    if not (names or thumbprints):
        return "; the Service Fabric cluster's certificate is checked by chain only", cites
    pinned = [f"subject {n}" for n in names] + [f"thumbprint {t}" for t in thumbprints]
    return "; the Service Fabric cluster's certificate must match " + " or ".join(pinned), cites
