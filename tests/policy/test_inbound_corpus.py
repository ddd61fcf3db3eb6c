"""Verdicts on real published policies, read in place from the corpus."""

from __future__ import annotations

from pathlib import Path

import pytest

from mtls_audit.policy.inbound.verdicts import FailureKind, Outcome
from mtls_audit.policy.standalone import FileStatus, FileVerdict, judge_file
from tests.conftest import CORPORA, needs_shared
from tests.policy.inbound_support import (
    ALWAYS,
    EXPIRED,
    MISSING,
    NAME,
    NEVER,
    NOT_YET_VALID,
    REVOKED,
    THUMBPRINT,
    UNDECIDABLE,
    UNTRUSTED,
)

SAMPLES = CORPORA / "apim-samples"
MSDOCS = SAMPLES / "msdocs"
RB_MTLS = SAMPLES / "rb-mtls-with-apim" / "infra" / "03-application" / "protected-api"
RB_BLOG = SAMPLES / "rb-blog-apim-client-cert-series"
RB_BLOG_AGW = RB_BLOG / "02-validate-client-certificate-in-apim-behind-agw" / "api-management"
MUTUAL = "msdocs__mutual-certificates-for-clients__"
MUTUAL_2017 = "msdocs-2017-pt-pt__mutual-certificates-for-clients__"

pytestmark = needs_shared(SAMPLES)


def judge(path: Path, **named_values: str) -> FileVerdict:
    found = judge_file(path, named_values)
    assert found.verdict is not None, found.error
    return found


@pytest.mark.parametrize(
    ("name", "pins"),
    [
        (f"{MUTUAL}01-checking-the-issuer-and-subject.xml", NAME),
        (f"{MUTUAL}02-checking-the-thumbprint.xml", THUMBPRINT),
        (f"{MUTUAL}03-checking-thumbprint-against-uploaded-certificates.xml", THUMBPRINT),
        ("msdocs__validate-client-certificate-policy__02-example.xml", NAME),
    ],
)
def test_current_microsoft_examples_are_sound(name: str, pins: FailureKind) -> None:
    found = judge(MSDOCS / name)
    assert found.status is FileStatus.SOUND
    verdict = found.verdict
    assert verdict is not None
    for kind in (MISSING, UNTRUSTED, REVOKED, EXPIRED, NOT_YET_VALID, pins):
        assert verdict[kind].outcome is ALWAYS, kind
    assert verdict.lets_through() == ()


def test_the_placeholder_thumbprint_lets_nobody_in() -> None:
    found = judge(MSDOCS / f"{MUTUAL}02-checking-the-thumbprint.xml")
    assert found.verdict is not None
    assert not found.verdict.accepts_any
    assert "no request gets through" in "\n".join(found.lines())


def test_the_uploaded_certificates_lookup_gets_its_note() -> None:
    name = f"{MUTUAL}03-checking-thumbprint-against-uploaded-certificates.xml"
    found = judge(MSDOCS / name)
    assert found.verdict is not None
    assert [node.line for node in found.verdict.deployment_lookups] == [2]
    assert found.verdict.pinned_by_thumbprint
    assert "backend client certificates are accepted too" in "\n".join(found.lines())


def test_the_2017_expiry_only_check_is_weak() -> None:
    found = judge(MSDOCS / f"{MUTUAL_2017}01-checking-the-expiration-date.xml")
    verdict = found.verdict
    assert verdict is not None
    assert found.status is FileStatus.LETS_THROUGH
    assert verdict[MISSING].outcome is ALWAYS
    assert verdict[EXPIRED].outcome is ALWAYS
    assert verdict[UNTRUSTED].outcome is NEVER
    assert not verdict[UNTRUSTED].tested
    assert not verdict.authenticates
    assert not verdict.pins_identity
    assert verdict[NOT_YET_VALID].counterexample == (
        "a client certificate that is not yet valid is forwarded to the backend"
    )


def test_the_2017_single_quoted_checks_cannot_be_decided() -> None:
    found = judge(MSDOCS / f"{MUTUAL_2017}03-checking-the-thumbprint.xml")
    assert found.status is FileStatus.UNDECIDABLE
    assert found.verdict is not None
    assert found.verdict.unsupported


def test_the_validate_policy_template_is_undecidable() -> None:
    found = judge(
        MSDOCS / "msdocs__validate-client-certificate-policy__01-policy-statement-template.xml"
    )
    assert found.status is FileStatus.UNDECIDABLE


def test_the_lower_case_thumbprint_exercise_rejects_everyone_before_base() -> None:
    name = (
        "mslearn__control-authentication-with-apim__5-exercise-secure-access-client-certs"
        "__inbound.xml"
    )
    found = judge(MSDOCS / name)
    assert found.base is not None
    assert found.base.line == 9
    assert found.verdict is not None
    assert not found.verdict.accepts_any
    assert "inherits an unknown parent (<base/> at line 9)" in "\n".join(found.lines())


# -- rb-mtls-with-apim ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("flag", "expected"), [("true", ALWAYS), ("false", NEVER), (None, UNDECIDABLE)]
)
def test_rb_mtls_validate_trust_follows_the_named_value(
    flag: str | None, expected: Outcome
) -> None:
    values = {"validate-certificate-chain": flag} if flag else {}
    found = judge(RB_MTLS / "validate-using-policy.operation.xml", **values)
    verdict = found.verdict
    assert verdict is not None
    assert verdict[UNTRUSTED].outcome is expected
    assert verdict[REVOKED].outcome is NEVER  # validate-revocation="false"
    assert verdict[NAME].outcome is ALWAYS
    assert found.status is FileStatus.LETS_THROUGH


def test_rb_mtls_context_check_and_its_uploaded_certificates_lookup() -> None:
    found = judge(
        RB_MTLS / "validate-using-context.operation.xml", **{"validate-certificate-chain": "true"}
    )
    verdict = found.verdict
    assert verdict is not None
    assert verdict.source == "request"
    assert [
        verdict[k].outcome for k in (MISSING, UNTRUSTED, EXPIRED, NOT_YET_VALID, THUMBPRINT)
    ] == [ALWAYS] * 5
    assert verdict[REVOKED].outcome is NEVER  # VerifyNoRevocation()
    assert [r.status for r in verdict[MISSING].rejections] == [401]
    assert verdict.deployment_lookups
    without = judge(RB_MTLS / "validate-using-context.operation.xml").verdict
    assert without is not None
    assert without[UNTRUSTED].outcome is UNDECIDABLE
    assert "{{validate-certificate-chain}}" in without[UNTRUSTED].reason


def test_rb_mtls_application_gateway_header_is_flagged() -> None:
    found = judge(
        RB_MTLS / "validate-from-agw.operation.xml", **{"validate-certificate-chain": "true"}
    )
    verdict = found.verdict
    assert verdict is not None
    assert verdict.source == "header:X-Client-Certificate"
    assert {r.header for r in verdict.header_reads} == {"X-Client-Certificate"}
    assert all(r.deleted_by is None for r in verdict.header_reads)
    assert verdict[MISSING].outcome is ALWAYS  # a missing header: 401
    assert verdict.tls_missing.outcome is NEVER  # the TLS certificate is never looked at
    assert found.status is FileStatus.LETS_THROUGH


# -- rb-blog-apim-client-cert-series ---------------------------------------------------------------


def test_rb_blog_block_condition_checks_chain_and_lookup_but_not_revocation() -> None:
    path = (
        RB_BLOG
        / "01-validate-client-certificate-in-apim"
        / "validate-using-context.operation.cshtml"
    )
    verdict = judge(path).verdict
    assert verdict is not None
    assert verdict[UNTRUSTED].outcome is ALWAYS
    assert verdict[REVOKED].outcome is NEVER
    assert "answered 200 by <return-response>" in verdict[REVOKED].counterexample
    assert verdict.deployment_lookups


def test_rb_blog_application_gateway_header_is_flagged() -> None:
    found = judge(RB_BLOG_AGW / "validate-from-agw.operation.cshtml")
    verdict = found.verdict
    assert verdict is not None
    assert verdict.source == "header:X-ARR-ClientCert"
    assert sorted(r.node.line for r in verdict.header_reads) == [6, 8, 23]
    assert verdict[MISSING].outcome is ALWAYS  # <otherwise> answers 401
    assert verdict[UNTRUSTED].outcome is ALWAYS
    assert verdict.tls_missing.outcome is NEVER
    assert verdict.tls_missing in verdict.lets_through()


@pytest.mark.parametrize(
    "path",
    [
        RB_BLOG
        / "01-validate-client-certificate-in-apim"
        / "validate-using-policy.operation.cshtml",
        RB_BLOG_AGW / "validate-using-policy.operation.cshtml",
    ],
)
def test_rb_blog_validate_policy_pins_names_without_revocation(path: Path) -> None:
    verdict = judge(path).verdict
    assert verdict is not None
    assert verdict[NAME].outcome is ALWAYS
    assert verdict[UNTRUSTED].outcome is ALWAYS
    assert verdict[REVOKED].outcome is NEVER
    assert [kind.kind for kind in verdict.lets_through()] == [REVOKED]
