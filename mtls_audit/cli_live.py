"""Options of live collection shared by ``collect``, ``scan`` and ``schedule run``: how long
one request and the whole collection may take, and a custom cloud's endpoints."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import click

from mtls_audit.sources.azure import DEFAULT_DEADLINE_S, DEFAULT_RETRIES, DEFAULT_TIMEOUT_S

F = TypeVar("F", bound=Callable[..., Any])

LIMIT_OPTIONS = (
    click.option(
        "--timeout",
        "timeout_s",
        type=click.FloatRange(min=0.1, max=600),
        default=DEFAULT_TIMEOUT_S,
        show_default=True,
        metavar="SECONDS",
        help="Give up one attempt of one request (token requests included) after this long.",
    ),
    click.option(
        "--retries",
        "max_retries",
        type=click.IntRange(0, 10),
        default=DEFAULT_RETRIES,
        show_default=True,
        help="Retries of a request that failed, timed out or was throttled.",
    ),
    click.option(
        "--deadline",
        "deadline_s",
        type=click.FloatRange(min=1, max=86400),
        default=DEFAULT_DEADLINE_S,
        show_default=True,
        metavar="SECONDS",
        help="End the whole collection after this long: what was collected is assessed and "
        "the rest is named in gaps (evidence incomplete, exit 3).",
    ),
)
"""Read by :func:`limits`; ``schedule run`` takes them as defaults for its targets."""

ENDPOINT_OPTIONS = (
    click.option(
        "--arm-endpoint",
        envvar="MTLS_AUDIT_ARM_ENDPOINT",
        metavar="URL",
        show_envvar=True,
        help="ARM base URL of a private cloud (its token audience too).",
    ),
    click.option(
        "--authority-host",
        envvar="AZURE_AUTHORITY_HOST",
        metavar="URL",
        show_envvar=True,
        help="Microsoft Entra authority to sign in with. Default: the cloud's.",
    ),
    click.option(
        "--keyvault-suffix",
        envvar="MTLS_AUDIT_KEYVAULT_SUFFIX",
        metavar="DOMAIN",
        show_envvar=True,
        help="Key Vault DNS suffix of a private cloud (e.g. .vault.contoso.net); without it "
        "only vaults found through ARM are read.",
    ),
)


def live_options(func: F) -> F:
    """The bounds and endpoints of a live collection, for the commands that collect."""
    for option in reversed((*LIMIT_OPTIONS, *ENDPOINT_OPTIONS)):
        func = option(func)
    return func


def limits(kw: dict[str, Any]) -> dict[str, Any]:
    """The bounds given, as ``AzureOptions`` names them."""
    return {name: kw[name] for name in ("timeout_s", "max_retries", "deadline_s")}


def live_settings(kw: dict[str, Any]) -> dict[str, Any]:
    """Bounds and endpoints, as ``AzureOptions`` names them."""
    return {
        **limits(kw),
        "arm_endpoint": kw["arm_endpoint"],
        "authority_host": kw["authority_host"],
        "keyvault_suffix": kw["keyvault_suffix"],
    }


def tell(document: dict[str, Any]) -> None:
    """Say on stderr, once, what the provenance notes and why a collection stopped early."""
    provenance = document.get("provenance") or {}
    for note in provenance.get("notes") or ():
        click.echo(f"mtls-audit: note: {note}", err=True)
    stopped = provenance.get("stopped")
    if stopped:
        click.echo(
            f"mtls-audit: collection stopped early ({stopped.get('kind')}): what was not "
            "collected is named in the gaps; the evidence is incomplete.",
            err=True,
        )
