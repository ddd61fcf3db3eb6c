"""A refused token is a sign-in problem that stops the run (exit 2) and says which one, never a
missing role; a service listing that is forbidden says who may not list what, and where."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from azure.core.exceptions import ClientAuthenticationError

from mtls_audit.errors import CollectionError
from mtls_audit.sources.azure.auth import SignInError
from mtls_audit.sources.azure.source import collect_azure

from .conftest import Collect
from .credentials import CALLER_OBJECT_ID, stub_az
from .fake_azure import FakeAzure, Fault
from .instance import SUBSCRIPTION, TENANT, Instance
from .tls_material import TlsFiles

REPO = Path(__file__).resolve().parents[2]
SERVICES = r"/providers/Microsoft\.ApiManagement/service$"
OTHER_TENANT = "0b1c2d3e-4f50-4617-8293-a4b5c6d7e8f9"
ARM_CHALLENGE = (
    f'Bearer authorization_uri="https://login.windows.net/{TENANT}", error="invalid_token"'
)

# ARM's own words for the three refusals (error code, message, WWW-Authenticate description).
REFUSALS = {
    "expired": (
        "ExpiredAuthenticationToken",
        "The access token expiry UTC time '12/6/2026 9:01:26 PM' is earlier than current UTC "
        "time '12/6/2026 9:09:11 PM'.",
        "The access token has expired.",
        "has expired",
    ),
    "other-tenant": (
        "InvalidAuthenticationTokenTenant",
        f"The access token is from the wrong issuer 'https://sts.windows.net/{OTHER_TENANT}/'. "
        f"It must match the tenant 'https://sts.windows.net/{TENANT}/' associated with this "
        "subscription.",
        "The access token is from the wrong issuer.",
        "another tenant",
    ),
    "audience": (
        "InvalidAuthenticationTokenAudience",
        "The access token has been obtained for wrong audience or resource "
        "'https://vault.azure.net'. It should exactly match with one of the allowed audiences "
        "'https://management.core.windows.net/','https://management.azure.com/'.",
        "The access token audience is invalid.",
        "another audience",
    ),
}


def _refusal(pattern: str, case: str, **extra: Any) -> Fault:
    code, message, description, _ = REFUSALS[case]
    header = f'{ARM_CHALLENGE}, error_description="{description}"'
    return Fault(
        pattern,
        status=401,
        code=code,
        message=message,
        headers={"WWW-Authenticate": header},
        **extra,
    )


@pytest.mark.parametrize("case", sorted(REFUSALS))
def test_a_refused_arm_token_stops_the_run_and_says_why(
    collect: Collect, fake: FakeAzure, instance: Instance, case: str
) -> None:
    fake.faults.append(_refusal(SERVICES, case))

    with pytest.raises(SignInError) as raised:
        collect()

    message = str(raised.value)
    assert message.startswith("ARM refused the access token (HTTP 401)")
    assert REFUSALS[case][3] in message
    assert REFUSALS[case][0] in message  # ARM's code, for a search
    assert f"the resource's tenant is {TENANT}" in message
    for hint in ("Reader", "role", "needs"):
        assert hint not in message
    assert len(fake.seen(r"^/subscriptions/")) == 1  # nothing else was read after the refusal


def test_a_refusal_halfway_stops_the_other_reads(
    collect: Collect, fake: FakeAzure, instance: Instance
) -> None:
    fake.latency_s = 0.02
    fake.faults.append(_refusal(r"/backends$", "expired"))

    with pytest.raises(SignInError, match="the access token has expired"):
        collect()

    assert not fake.seen(r"^/certificates/")  # the vault was never asked


def test_a_refused_key_vault_token_stops_the_run(
    collect: Collect, fake: FakeAzure, instance: Instance
) -> None:
    fake.faults.append(_refusal(r"^/certificates/gateway-cert", "audience", after_auth=True))

    with pytest.raises(SignInError, match=r"^Key Vault refused the access token \(HTTP 401\)"):
        collect()


def test_a_forbidden_service_listing_says_who_may_not_list_what(
    collect: Collect, fake: FakeAzure, instance: Instance
) -> None:
    fake.faults.append(Fault(SERVICES, status=403, code="AuthorizationFailed", message="denied"))

    with pytest.raises(CollectionError) as raised:
        collect(services=("apim-mtls",))

    message = str(raised.value)
    assert f"object id {CALLER_OBJECT_ID}" in message
    assert f"may not list the API Management services in /subscriptions/{SUBSCRIPTION}" in message
    assert "AuthorizationFailed: denied" in message
    assert "Microsoft.ApiManagement/service/read" in message
    assert "no API Management service of this name" not in message


def test_one_forbidden_listing_of_two_is_a_gap_and_no_false_not_found(
    collect: Collect, fake: FakeAzure, instance: Instance
) -> None:
    other = "9d8c7b6a-5f4e-4d3c-8b2a-190817161514"
    fake.faults.append(Fault(rf"^/subscriptions/{other}{SERVICES}", status=403))

    parts = collect(subscriptions=(other, SUBSCRIPTION), services=("apim-mtls", "apim-gone"))

    kinds = {(g["kind"], g["what"], g["subject"]) for g in parts["gaps"]}
    assert ("forbidden", "services", f"/subscriptions/{other}") in kinds
    assert ("not-collected", "service", "apim-gone") in kinds
    assert all("no API Management service of this name" not in g["message"] for g in parts["gaps"])


class _NoSignIn:
    """A credential that cannot sign in, with azure-identity's multi-line explanation."""

    async def get_token(self, *scopes: str, **kwargs: Any) -> Any:
        raise ClientAuthenticationError(
            message="DefaultAzureCredential failed to retrieve a token from the included "
            "credentials.\nAttempted credentials:\n\tEnvironmentCredential: EnvironmentCredential "
            "authentication unavailable. Environment variables are not fully configured.\n\t"
            "AzureCliCredential: Azure CLI not found on path"
        )


def test_the_whole_explanation_of_a_failed_sign_in_is_kept(
    options: Any, fake: FakeAzure, instance: Instance
) -> None:
    with pytest.raises(SignInError) as raised:
        collect_azure(options(), credential=_NoSignIn())

    message = str(raised.value)
    assert "EnvironmentCredential: EnvironmentCredential authentication unavailable" in message
    assert "AzureCliCredential: Azure CLI not found on path" in message
    assert fake.requests == []


def test_the_command_line_exits_2_and_says_it_once(
    tmp_path: Path, fake: FakeAzure, instance: Instance, tls: TlsFiles
) -> None:
    stub_az(tmp_path / "bin")
    fake.faults.append(_refusal(SERVICES, "other-tenant"))
    env = {
        **os.environ,
        "PATH": f"{tmp_path / 'bin'}{os.pathsep}{os.environ['PATH']}",
        "REQUESTS_CA_BUNDLE": str(tls.ca),
    }
    command = [
        sys.executable, "-m", "mtls_audit", "scan", "--subscription", SUBSCRIPTION,
        "--auth", "cli", "--arm-endpoint", fake.url, "--out", str(tmp_path / "out"),
        "--fail-on", "none",
    ]  # fmt: skip

    result = subprocess.run(
        command, env=env, cwd=REPO, capture_output=True, text=True, timeout=120, check=False
    )

    assert result.returncode == 2, result.stderr
    assert result.stderr.count("refused the access token") == 1
    assert "another tenant" in result.stderr
    assert "Warning" not in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "out" / "evidence.json").exists()
