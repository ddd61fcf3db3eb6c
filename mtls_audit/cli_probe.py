"""The probe's command-line options, shared by ``probe`` and ``scan --probe``."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from mtls_audit.cli_options import OptionGroup

if TYPE_CHECKING:
    from mtls_audit.probe import ProbeSettings

SUBSCRIPTION_KEY_ENV = "MTLS_AUDIT_PROBE_SUBSCRIPTION_KEY"
PASSWORD_ENV = "MTLS_AUDIT_CLIENT_CERT_PASSWORD"
_PORT = r"(\d{1,5})"
_RESOLVE = re.compile(rf"^([^:\[\]]+):{_PORT}:(\[[0-9a-fA-F:.]+\]|[^:]+)$")
_CONNECT_TO = re.compile(rf"^([^:\[\]]+):{_PORT}:(\[[0-9a-fA-F:.]+\]|[^:]+):{_PORT}$")


@dataclass(frozen=True)
class ProbeOptions:
    """The probe's targets and how it reaches them, as given."""

    probe_path: str | None
    probe_urls: tuple[str, ...]
    probe_method: str
    client_cert: Path | None
    client_key: Path | None
    client_cert_keyvault: str | None
    client_cert_password: str | None
    resolve: tuple[str, ...]
    connect_to: tuple[str, ...]
    probe_timeout: float
    probe_interval: float


probe_options = OptionGroup(
    "probing",
    ProbeOptions,
    click.option(
        "--probe-path",
        help="Call this path on every gateway hostname instead of one safe operation per API.",
    ),
    click.option(
        "--probe-url",
        "probe_urls",
        multiple=True,
        help="Call these https:// URLs instead (repeatable).",
    ),
    click.option(
        "--probe-method",
        default="GET",
        show_default=True,
        help="The method for --probe-url (a state-changing one only when named here).",
    ),
    click.option(
        "--client-cert",
        type=click.Path(path_type=Path),
        help="Your good client certificate: PEM (with --client-key) or PFX/PKCS#12.",
    ),
    click.option("--client-key", type=click.Path(path_type=Path), help="Its PEM key."),
    click.option(
        "--client-cert-keyvault",
        metavar="CERTIFICATE_ID",
        help="Or read it from Key Vault (https://VAULT/certificates/NAME[/VERSION]) with "
        "DefaultAzureCredential.",
    ),
    click.option(
        "--client-cert-password",
        envvar=PASSWORD_ENV,
        show_envvar=True,
        help="The password of the key or PFX (better given in the environment).",
    ),
    click.option(
        "--resolve",
        multiple=True,
        metavar="HOST:PORT:ADDRESS",
        help="Connect to ADDRESS for HOST:PORT, like curl's --resolve (repeatable).",
    ),
    click.option(
        "--connect-to",
        multiple=True,
        metavar="HOST:PORT:HOST2:PORT2",
        help="Connect to HOST2:PORT2 for HOST:PORT, like curl's --connect-to (repeatable).",
    ),
    click.option(
        "--probe-timeout",
        type=click.FloatRange(0.1, 300),
        default=10.0,
        show_default=True,
        help="Seconds allowed to each attempt's connect, handshake and answer.",
    ),
    click.option(
        "--probe-interval",
        type=click.FloatRange(0, 60),
        default=0.5,
        show_default=True,
        help="Seconds between two attempts to the same host (one at a time).",
    ),
)
"""Options that choose the probe's targets and how it reaches them (``probing``)."""


def _overrides(options: ProbeOptions) -> dict[tuple[str, int], tuple[str, int]]:
    found: dict[tuple[str, int], tuple[str, int]] = {}
    for text in options.resolve:
        match = _RESOLVE.match(text)
        if not match:
            raise click.BadParameter(f"{text!r} is not HOST:PORT:ADDRESS", param_hint="--resolve")
        host, port, address = match.groups()
        found[(host.lower(), int(port))] = (address.strip("[]"), int(port))
    for text in options.connect_to:
        match = _CONNECT_TO.match(text)
        if not match:
            raise click.BadParameter(
                f"{text!r} is not HOST:PORT:HOST2:PORT2", param_hint="--connect-to"
            )
        host, port, address, target = match.groups()
        found[(host.lower(), int(port))] = (address.strip("[]"), int(target))
    return found


def probe_settings(options: ProbeOptions, environ: Mapping[str, str] = os.environ) -> ProbeSettings:
    """The :class:`~mtls_audit.probe.ProbeSettings` the options describe (bad input → a usage
    or input error naming the option or file)."""
    from mtls_audit.errors import InputError
    from mtls_audit.probe import Network, ProbeSettings, user_certificate

    if options.client_key and not options.client_cert:
        raise click.UsageError("--client-key needs --client-cert")
    if options.probe_path and not options.probe_path.startswith("/"):
        raise click.BadParameter("the path starts with /", param_hint="--probe-path")
    ca_file = environ.get("REQUESTS_CA_BUNDLE") or None
    if ca_file and not Path(ca_file).is_file():
        raise InputError("no such file", source=f"REQUESTS_CA_BUNDLE={ca_file}")
    key = environ.get(SUBSCRIPTION_KEY_ENV)
    network = Network(
        timeout_s=options.probe_timeout,
        resolve=_overrides(options),
        ca_file=ca_file,
        headers={"Ocp-Apim-Subscription-Key": key} if key else {},
    )
    good = None
    if options.client_cert and options.client_cert_keyvault:
        raise click.UsageError("give --client-cert or --client-cert-keyvault, not both")
    if options.client_cert:
        good = user_certificate(
            options.client_cert, options.client_key, options.client_cert_password
        )
    elif options.client_cert_keyvault:
        from mtls_audit.probe.keyvault import keyvault_certificate

        good = keyvault_certificate(options.client_cert_keyvault)
    return ProbeSettings(
        network=network,
        interval_s=options.probe_interval,
        path=options.probe_path,
        urls=options.probe_urls,
        method=options.probe_method,
        good=good,
    )


def run_probe(document: dict[str, Any], settings: ProbeSettings) -> dict[str, Any]:
    """Probe and tell on stderr what was called and what came back."""
    from mtls_audit.probe import probe

    probed = probe(document, settings)
    section = probed["probe"]
    for target in [*section["hosts"], *section["targets"]]:
        answers = ", ".join(_said(a) for a in target["attempts"])
        click.echo(f"probe {target['url']}: {answers}", err=True)
    for skipped in section["skipped"]:
        click.echo(f"probe skipped: {skipped['reason']}", err=True)
    return probed


def _said(attempt: Mapping[str, Any]) -> str:
    status = attempt.get("status")
    shown = str(status) if status is not None else attempt["handshake"]
    return f"{attempt['kind']} {shown}"
