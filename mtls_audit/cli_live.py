"""Options of live collection shared by ``collect``, ``scan``, ``estate`` and ``schedule run``:
how to sign in, the cloud, how long one request and the whole collection may take, and a custom
cloud's endpoints."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

import click

from mtls_audit.cli_options import OptionGroup, enum_value
from mtls_audit.sources.azure.bounds import (
    DEFAULT_DEADLINE_S,
    DEFAULT_RETRIES,
    DEFAULT_TIMEOUT_S,
    Bounds,
    EndpointOverrides,
)
from mtls_audit.vocabulary import AUTH_MODES, CLOUDS, AuthMode, Cloud

if TYPE_CHECKING:
    from mtls_audit.sources.azure.source import AzureOptions

F = TypeVar("F", bound=Callable[..., Any])


def limit_options(*, defaults: bool) -> tuple[Callable[[F], F], ...]:
    """``--timeout``, ``--retries``, ``--deadline``; without ``defaults`` (``schedule run``) an
    option not given is None and leaves the schedule file's value."""
    shown = "" if defaults else " Default: the schedule file's, else {}."

    def given(value: float) -> dict[str, Any]:
        if defaults:
            return {"default": value, "show_default": True}
        return {"default": None}

    return (
        click.option(
            "--timeout",
            "timeout_s",
            type=click.FloatRange(min=0.1, max=600),
            metavar="SECONDS",
            help="Give up one attempt of one request (token requests included) after this long."
            + shown.format(f"{DEFAULT_TIMEOUT_S:g}"),
            **given(DEFAULT_TIMEOUT_S),
        ),
        click.option(
            "--retries",
            "max_retries",
            type=click.IntRange(0, 10),
            help="Retries of a request that failed, timed out or was throttled."
            + shown.format(DEFAULT_RETRIES),
            **given(DEFAULT_RETRIES),
        ),
        click.option(
            "--deadline",
            "deadline_s",
            type=click.FloatRange(min=1, max=86400),
            metavar="SECONDS",
            help="End the whole collection after this long: what was collected is assessed and "
            "the rest is named in gaps (evidence incomplete, exit 3)."
            + shown.format(f"{DEFAULT_DEADLINE_S:g}"),
            **given(DEFAULT_DEADLINE_S),
        ),
    )


def auth_option(help_text: str = "How to sign in to Azure.") -> Callable[[F], F]:
    """``--auth``, given to the command as an :class:`AuthMode`."""
    return click.option(
        "--auth",
        type=click.Choice(AUTH_MODES),
        default=AuthMode.DEFAULT.value,
        show_default=True,
        callback=enum_value(AuthMode),
        help=help_text,
    )


CLOUD_OPTION = click.option(
    "--cloud",
    type=click.Choice(CLOUDS),
    default=Cloud.PUBLIC.value,
    show_default=True,
    callback=enum_value(Cloud),
)
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


@dataclass(frozen=True)
class LiveOptions:
    """The bounds and endpoints of a live collection, as given (None: not given)."""

    timeout_s: float | None
    max_retries: int | None
    deadline_s: float | None
    arm_endpoint: str | None
    authority_host: str | None
    keyvault_suffix: str | None

    @property
    def bounds(self) -> Bounds:
        return Bounds(self.timeout_s, self.max_retries, self.deadline_s)

    @property
    def endpoints(self) -> EndpointOverrides:
        return EndpointOverrides(self.arm_endpoint, self.authority_host, self.keyvault_suffix)

    def applied(self, options: AzureOptions) -> AzureOptions:
        """``options`` with these bounds and endpoints."""
        return self.endpoints.applied(self.bounds.applied(options))


live_options = OptionGroup("live", LiveOptions, *limit_options(defaults=True), *ENDPOINT_OPTIONS)
"""The bounds and endpoints of a live collection, for ``collect``, ``scan`` and ``estate``."""
scheduled_live_options = OptionGroup(
    "live", LiveOptions, *limit_options(defaults=False), *ENDPOINT_OPTIONS
)
"""The same for ``schedule run``: bounds given here override the schedule file's."""


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
