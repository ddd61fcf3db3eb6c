"""Microsoft's documented certificate checks and the public samples, read from the corpus and
judged: which failing certificate does each rejection condition let through?"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from mtls_audit.policy.expressions.atoms import REQUEST, Atom, AtomKind, header_source
from mtls_audit.policy.expressions.conditions import Scope, condition, constant, value
from mtls_audit.policy.expressions.decide import Verdict, find
from mtls_audit.policy.expressions.logic import ERROR, Formula, atoms
from mtls_audit.policy.expressions.parser import ExpressionSyntaxError
from tests.conftest import CORPORA, needs_shared

SAMPLES = CORPORA / "apim-samples"
MSDOCS = SAMPLES / "msdocs"
RB_MTLS = SAMPLES / "rb-mtls-with-apim" / "infra" / "03-application" / "protected-api"
RB_BLOG = SAMPLES / "rb-blog-apim-client-cert-series"

pytestmark = needs_shared(SAMPLES)

NULL = Atom(AtomKind.CERT_NULL)
CHAIN = Atom(AtomKind.CHAIN_VALID)
CHAIN_NO_REVOCATION = Atom(AtomKind.CHAIN_VALID_NO_REVOCATION)
EXPIRED = Atom(AtomKind.EXPIRED)
NOT_YET_VALID = Atom(AtomKind.NOT_YET_VALID)
DEPLOYED = Atom(AtomKind.IN_DEPLOYMENT_CERTS)


def _when_conditions(path: Path) -> list[str]:
    """The ``<when condition="…">`` values as authored (raw policy text is not XML)."""
    text = path.read_text(encoding="utf-8")
    return re.findall(r'<when condition="(@[({].*?[)}])"\s*>', text, re.S)


def _set_variable(path: Path, name: str) -> str:
    text = path.read_text(encoding="utf-8")
    match = re.search(rf'<set-variable name="{name}" value="(@\{{.*?\}})"\s*/>', text, re.S)
    assert match, name
    return match.group(1)


def _lets_through(reject: Formula, **given: bool) -> bool:
    """Some certificate with the given facts makes the rejecting condition false."""
    facts = {Atom(AtomKind[name.upper()]): held for name, held in given.items()}
    decision = find(reject, False, given=facts)
    assert decision.verdict is not Verdict.UNDECIDABLE
    return decision.verdict is Verdict.FOUND


def test_msdocs_issuer_and_subject() -> None:
    (text,) = _when_conditions(
        MSDOCS / "msdocs__mutual-certificates-for-clients__01-checking-the-issuer-and-subject.xml"
    )
    formula = condition(text)
    assert str(formula) == (
        "cert-null || !chain-valid || !issuer-eq('trusted-issuer')"
        " || !subject-eq('expected-subject-name')"
    )
    assert not _lets_through(formula, cert_null=True)
    assert not _lets_through(formula, expired=True)
    assert not _lets_through(formula, chain_valid=False)
    assert _lets_through(formula, cert_null=False)  # the right issuer and subject pass


def test_msdocs_thumbprint_placeholder_can_never_match() -> None:
    (text,) = _when_conditions(
        MSDOCS / "msdocs__mutual-certificates-for-clients__02-checking-the-thumbprint.xml"
    )
    formula = condition(text)
    pin = Atom(AtomKind.THUMBPRINT_EQ, REQUEST, "DESIRED-THUMBPRINT-IN-UPPER-CASE")
    assert pin in atoms(formula)
    assert find(formula, False).verdict is Verdict.NONE  # every request is rejected


def test_mslearn_lower_case_thumbprint_with_not_equal_rejects_everyone() -> None:
    (text,) = _when_conditions(
        MSDOCS / "mslearn__control-authentication-with-apim__5-exercise-secure-access-client-certs"
        "__inbound.xml"
    )
    formula = condition(text)
    assert str(formula) == "cert-null || !thumbprint-eq('desired-thumbprint')"
    assert find(formula, False).verdict is Verdict.NONE
    fixed = text.replace(
        'context.Request.Certificate.Thumbprint != "desired-thumbprint"',
        '!string.Equals(context.Request.Certificate.Thumbprint, "3f2a9c1b7d4e6f8091a2b3c4d5e6f70819'
        '2a3b4c", StringComparison.OrdinalIgnoreCase)',
    )
    assert find(condition(fixed), False).verdict is Verdict.FOUND


@pytest.mark.parametrize(
    "name",
    [
        "msdocs__mutual-certificates-for-clients__03-checking-thumbprint-against-uploaded-"
        "certificates.xml",
        "msdocs-2017-pt-pt__mutual-certificates-for-clients__04-checking-thumbprint-against-"
        "uploaded-certificates.xml",
    ],
)
def test_msdocs_lookup_in_uploaded_certificates(name: str) -> None:
    (text,) = _when_conditions(MSDOCS / name)
    formula = condition(text)
    assert DEPLOYED in atoms(formula)
    assert not _lets_through(formula, cert_null=True)
    assert not _lets_through(formula, in_deployment_certs=False)


def test_msdocs_2017_expiry_check() -> None:
    (text,) = _when_conditions(
        MSDOCS / "msdocs-2017-pt-pt__mutual-certificates-for-clients__01-checking-the-expiration-"
        "date.xml"
    )
    formula = condition(text)
    assert str(formula) == "cert-null || expired"
    assert not _lets_through(formula, expired=True)
    assert _lets_through(formula, chain_valid=False)  # any unexpired certificate passes


@pytest.mark.parametrize(
    ("name", "offset"),
    [
        (
            "msdocs-2017-pt-pt__mutual-certificates-for-clients__02-checking-the-issuer-and-subject.xml",
            79,
        ),
        ("msdocs-2017-pt-pt__mutual-certificates-for-clients__03-checking-the-thumbprint.xml", 83),
    ],
)
def test_msdocs_2017_single_quoted_strings_are_not_csharp(name: str, offset: int) -> None:
    (text,) = _when_conditions(MSDOCS / name)
    with pytest.raises(ExpressionSyntaxError) as caught:
        condition(text)
    assert caught.value.offset == offset
    assert text[offset] == "'"


def test_and_instead_of_or_lets_failing_certificates_through() -> None:
    (text,) = _when_conditions(
        MSDOCS / "msdocs__mutual-certificates-for-clients__02-checking-the-thumbprint.xml"
    )
    formula = condition(text.replace("||", "&&"))
    assert str(formula) == "cert-null && throw"
    assert _lets_through(formula, chain_valid=False)  # any certificate at all passes
    assert find(formula, ERROR, given={NULL: True}).verdict is Verdict.FOUND  # none: a 500


def test_inverted_not_after_comparison_rejects_valid_and_passes_expired() -> None:
    good = (
        "@(context.Request.Certificate == null"
        " || context.Request.Certificate.NotAfter < DateTime.UtcNow)"
    )
    inverted = good.replace("<", ">")
    assert not _lets_through(condition(good), expired=True)
    assert _lets_through(condition(inverted), expired=True)
    assert not _lets_through(condition(inverted), cert_null=False, expired=False)


def test_unguarded_access_rejects_a_missing_certificate_with_an_error() -> None:
    formula = condition("@(!context.Request.Certificate.Verify())")
    assert not _lets_through(formula, cert_null=True)
    assert find(formula, ERROR, given={NULL: True}).verdict is Verdict.FOUND


def test_rb_blog_block_condition() -> None:
    path = (
        RB_BLOG
        / "01-validate-client-certificate-in-apim"
        / "validate-using-context.operation.cshtml"
    )
    (text,) = _when_conditions(path)
    formula = condition(text)
    assert str(formula) == "cert-null || !chain-valid-no-revocation || !in-deployment-certs"


def test_rb_blog_certificate_from_the_application_gateway_header() -> None:
    path = (
        RB_BLOG
        / "02-validate-client-certificate-in-apim-behind-agw"
        / "api-management"
        / "validate-from-agw.operation.cshtml"
    )
    outer, inner = _when_conditions(path)
    source = header_source("X-ARR-ClientCert")
    assert str(condition(outer)) == "!cert-null@header:X-ARR-ClientCert"
    scope = Scope(
        variables={"client_certificate": value(_set_variable(path, "client_certificate"))}
    )
    formula = condition(inner, scope)
    assert {atom.source for atom in atoms(formula)} == {source}
    assert Atom(AtomKind.CHAIN_VALID_NO_REVOCATION, source) in atoms(formula)


@pytest.mark.parametrize(
    ("named_value", "chain_unchecked_passes"), [("true", False), ("false", True), (None, True)]
)
def test_rb_mtls_validation_block_and_the_named_value_switch(
    named_value: str | None, chain_unchecked_passes: bool
) -> None:
    path = RB_MTLS / "validate-using-context.operation.xml"
    named = {"validate-certificate-chain": named_value} if named_value else {}
    result = value(_set_variable(path, "certificateValidationResult"), Scope(named_value=named.get))
    (when,) = _when_conditions(path)
    reject = condition(when, Scope(variables={"certificateValidationResult": result}))
    for failure in ("cert_null", "expired", "not_yet_valid"):
        assert not _lets_through(reject, **{failure: True})
    assert not _lets_through(reject, in_deployment_certs=False)
    assert _lets_through(reject, chain_valid_no_revocation=False) is chain_unchecked_passes
    assert _lets_through(reject, cert_null=False)


def test_rb_mtls_header_validation_reads_the_header_certificate() -> None:
    path = RB_MTLS / "validate-from-agw.operation.xml"
    header = header_source("X-Client-Certificate")
    missing, result_check = _when_conditions(path)
    assert str(condition(missing)) == "cert-null@header:X-Client-Certificate"
    certificate = value(_set_variable(path, "clientCertificate"))
    result = value(
        _set_variable(path, "certificateValidationResult"),
        Scope(variables={"clientCertificate": certificate}),
    )
    reject = condition(result_check, Scope(variables={"certificateValidationResult": result}))
    assert {atom.source for atom in atoms(reject) if atom.kind is not AtomKind.OPAQUE} == {header}
    plain = condition(result_check, Scope(variables={"certificateValidationResult": constant("x")}))
    assert str(plain) == "true"
