"""The literal, structure and disclosure rules on real public policies (read from the corpora)."""

from __future__ import annotations

from pathlib import Path

import pytest

from mtls_audit.engine.packs import builtin_pack_dir, load_directory
from mtls_audit.engine.results import Result, Status
from mtls_audit.engine.rule import Context, Options
from mtls_audit.engine.runner import evaluate
from mtls_audit.model import build_model
from tests.conftest import CORPORA, needs_shared
from tests.rules.builder import snapshot

MSDOCS = CORPORA / "apim-samples" / "msdocs"
RB_MTLS = CORPORA / "apim-samples" / "rb-mtls-with-apim" / "infra" / "03-application"
SNIPPETS = CORPORA / "policy-snippets"
LEARN_EXERCISE = (
    "mslearn__control-authentication-with-apim__5-exercise-secure-access-client-certs__inbound.xml"
)
RULES = {r.id: r for r in load_directory(builtin_pack_dir(), "builtin").rules}

pytestmark = needs_shared(CORPORA)


def judge(rule_id: str, policy: Path) -> list[Result]:
    """Run one rule on a service whose API ``a`` has the corpus file as its policy."""
    document = snapshot(
        None,
        [
            {"path": "apis/a", "properties": {"displayName": "A"}},
            {
                "path": "apis/a/policies/policy",
                "properties": {"format": "rawxml", "value": policy.read_text("utf-8")},
            },
        ],
    )
    return list(evaluate(RULES[rule_id], Context(build_model(document), Options())))


def only(results: list[Result]) -> Result:
    assert len(results) == 1, [r.message for r in results]
    return results[0]


def test_lower_case_placeholder_thumbprint_of_the_learn_exercise_never_matches() -> None:
    found = only(judge("MTLS-IN-08", MSDOCS / LEARN_EXERCISE))
    assert found.status is Status.FAIL
    assert "lower case compared ordinally" in found.message
    assert found.evidence[0].to_json()["line"] == 3


def test_documented_upper_case_placeholder_is_still_not_a_thumbprint() -> None:
    found = only(
        judge(
            "MTLS-IN-08",
            MSDOCS / "msdocs__mutual-certificates-for-clients__02-checking-the-thumbprint.xml",
        )
    )
    assert found.status is Status.FAIL
    assert "characters other than hex digits" in found.message


def test_single_quoted_literal_is_unreadable_not_passed() -> None:
    found = only(
        judge(
            "MTLS-IN-08",
            MSDOCS / "msdocs-2017-pt-pt__mutual-certificates-for-clients__03-checking-the-"
            "thumbprint.xml",
        )
    )
    assert found.status is Status.INDETERMINATE


def test_microsofts_identity_example_passes_and_its_placeholder_issuer_fails() -> None:
    example = only(
        judge("MTLS-IN-09", MSDOCS / "msdocs__validate-client-certificate-policy__02-example.xml")
    )
    assert example.status is Status.PASS
    placeholder = only(
        judge(
            "MTLS-IN-09",
            MSDOCS
            / "msdocs__mutual-certificates-for-clients__01-checking-the-issuer-and-subject.xml",
        )
    )
    assert placeholder.status is Status.FAIL
    assert 'issuer "trusted-issuer" is not a distinguished name' in placeholder.message


def test_demo_api_discloses_certificate_and_error_details() -> None:
    policy = RB_MTLS / "protected-api" / "validate-using-context.operation.xml"
    certificate = only(judge("MTLS-LEAK-01", policy))
    assert certificate.status is Status.FAIL
    assert "body (inbound" in certificate.message
    errors = only(judge("MTLS-LEAK-02", policy))
    assert errors.status is Status.FAIL
    for member in ("Source", "Reason", "Message"):
        assert f"context.LastError.{member}" in errors.message


def test_serialised_last_error_is_a_disclosure() -> None:
    found = only(judge("MTLS-LEAK-02", RB_MTLS / "unprotected-api" / "unprotected-api.xml"))
    assert found.status is Status.FAIL
    assert "context.LastError (all of it)" in found.message


def test_application_gateway_header_echoed_back() -> None:
    found = only(
        judge("MTLS-LEAK-03", RB_MTLS / "protected-api" / "validate-from-agw.operation.xml")
    )
    assert found.status is Status.FAIL
    assert "X-Client-Certificate" in found.message


def test_error_details_kept_in_variables_are_followed() -> None:
    found = only(judge("MTLS-LEAK-02", SNIPPETS / "aps__Replay request on error.policy.xml"))
    assert found.status is Status.FAIL
    assert "context.LastError.Source" in found.message
    assert "context.LastError.Reason" in found.message


def test_branching_on_the_error_source_discloses_nothing() -> None:
    policy = (
        SNIPPETS
        / "aps__Use custom error messages for jwt-validate policy with on-error handler.policy.xml"
    )
    assert only(judge("MTLS-LEAK-02", policy)).status is Status.PASS


def test_learn_exercise_keeps_base_after_its_check() -> None:
    found = only(judge("MTLS-IN-12", MSDOCS / LEARN_EXERCISE))
    assert found.status is Status.PASS


@pytest.mark.parametrize(
    ("name", "status"),
    [
        ("msdocs__authentication-certificate-policy__03-by-thumbprint.xml", Status.FAIL),
        ("msdocs__authentication-certificate-policy__02-by-certificate-id.xml", Status.PASS),
    ],
)
def test_documented_authentication_certificate_references(name: str, status: Status) -> None:
    assert only(judge("MTLS-OUT-06", MSDOCS / name)).status is status


def test_documented_body_with_literal_password_is_critical() -> None:
    found = only(
        judge(
            "MTLS-OUT-05",
            MSDOCS / "msdocs__authentication-certificate-policy__04-body-from-variable.xml",
        )
    )
    assert found.status is Status.FAIL
    assert found.severity is not None
    assert found.severity.value == "critical"
    assert "optional-certificate-password" not in str([e.to_json() for e in found.evidence])
