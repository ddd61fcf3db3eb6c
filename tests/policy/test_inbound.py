"""Decision semantics of inbound policies, construct by construct."""

from __future__ import annotations

import pytest

from mtls_audit.policy.inbound.verdicts import FailureKind
from tests.policy.inbound_support import (
    ALWAYS,
    BYPASS,
    CERT,
    EXPIRED,
    MISSING,
    NAME,
    NEVER,
    NOT_YET_VALID,
    REJECT,
    REVOKED,
    THUMBPRINT,
    UNDECIDABLE,
    UNTRUSTED,
    outcomes,
    rejects,
    verdict,
)

THUMB = "0123456789ABCDEF0123456789ABCDEF01234567"
SOUND = f"{CERT} == null || !{CERT}.Verify() || {CERT}.Thumbprint != &quot;{THUMB}&quot;"


# -- validate-client-certificate ------------------------------------------------------------------


def test_validate_defaults_reject_every_failure_but_pin_nothing() -> None:
    found = verdict("<validate-client-certificate />")
    assert outcomes(found) == {
        "missing": "always-rejected",
        "untrusted": "always-rejected",
        "revoked": "always-rejected",
        "expired": "always-rejected",
        "not-yet-valid": "always-rejected",
        "wrong-thumbprint": "never-rejected",
        "wrong-issuer-or-subject": "never-rejected",
    }
    assert [r.how for r in found[MISSING].rejections] == ["validate-client-certificate"]
    assert not found.pins_identity
    assert found.chain_checks == found.checks
    assert found[THUMBPRINT].counterexample == (
        "a client certificate with a valid chain but another thumbprint is forwarded to the backend"
    )


@pytest.mark.parametrize(
    ("attribute", "kind"),
    [
        ('validate-revocation="false"', REVOKED),
        ('validate-trust="false"', UNTRUSTED),
        ('validate-not-after="false"', EXPIRED),
        ('validate-not-before="False"', NOT_YET_VALID),
    ],
)
def test_each_switched_off_check_lets_its_failure_through(
    attribute: str, kind: FailureKind
) -> None:
    found = verdict(f"<validate-client-certificate {attribute} />")
    through = {k for k, v in found.kinds.items() if v.outcome is NEVER}
    assert through == {kind, THUMBPRINT, NAME}
    assert found[kind].tested is False
    assert found[MISSING].outcome is ALWAYS


def test_ignore_error_lets_every_failure_through_though_it_is_tested() -> None:
    found = verdict('<validate-client-certificate ignore-error="true" />')
    assert found[MISSING].tested
    assert found[MISSING].outcome is NEVER
    assert found[UNTRUSTED].counterexample == (
        "a client certificate whose chain does not validate is forwarded to the backend"
    )
    assert {k for k in found.kinds if found[k].outcome is NEVER} == set(found.kinds)


def test_named_value_flags_are_followed_and_unknown_ones_undecidable() -> None:
    policy = '<validate-client-certificate validate-trust="{{trust}}" />'
    assert verdict(policy, trust="TRUE")[UNTRUSTED].outcome is ALWAYS
    assert verdict(policy, trust="false")[UNTRUSTED].outcome is NEVER
    unknown = verdict(policy)[UNTRUSTED]
    assert unknown.outcome is UNDECIDABLE
    assert 'validate-trust="{{trust}}"' in unknown.reason
    assert verdict(policy)[MISSING].outcome is ALWAYS  # decided whatever the flag


def test_identities_pin_thumbprints_and_names() -> None:
    found = verdict(
        f"""<validate-client-certificate>
        <identities>
          <identity thumbprint="{THUMB}" />
          <identity subject="CN=b" issuer-subject="CN=CA" />
        </identities>
      </validate-client-certificate>"""
    )
    assert found[THUMBPRINT].tested
    assert found[NAME].tested
    # Identities are alternatives (APIM accepts a certificate matching all claims of any one):
    # a certificate matching neither is rejected, so the mixed list is a sound allow-list.
    assert found[THUMBPRINT].outcome is ALWAYS
    assert found[NAME].outcome is ALWAYS
    assert found.lets_through() == ()
    names_only = verdict(
        '<validate-client-certificate><identities><identity subject="CN=b" '
        'issuer-subject="CN=CA" /></identities></validate-client-certificate>'
    )
    assert names_only[NAME].outcome is ALWAYS
    assert names_only.lets_through() == ()  # a renewed certificate with the same names passes


def test_an_identity_needs_all_its_claims() -> None:
    found = verdict(
        '<validate-client-certificate validate-trust="false" validate-revocation="false">'
        '<identities><identity subject="CN=a" issuer-subject="CN=X" />'
        '<identity subject="CN=b" issuer-subject="CN=Y" /></identities>'
        "</validate-client-certificate>"
    )
    assert found[NAME].outcome is ALWAYS
    # with a mixed identity (subject of one, issuer of the other) nothing matches: the
    # let-through certificate of an untrusted chain carries one whole identity
    words = found[UNTRUSTED].counterexample
    assert ("'CN=a'" in words and "'CN=X'" in words) or ("'CN=b'" in words and "'CN=Y'" in words)


# -- choose, when, otherwise ----------------------------------------------------------------------


def test_first_matching_when_wins() -> None:
    found = verdict(
        f"""<choose>
          <when condition="@({CERT} == null)">{REJECT}</when>
          <when condition="@({CERT} == null || !{CERT}.Verify())">
            <return-response><set-status code="200" /></return-response>
          </when>
        </choose>"""
    )
    assert found[MISSING].outcome is ALWAYS
    assert found[UNTRUSTED].outcome is NEVER
    assert found[UNTRUSTED].answered_by is not None
    assert "is answered 200 by <return-response> (test.xml, line 6)" in (
        found[UNTRUSTED].counterexample
    )


def test_an_otherwise_that_answers_lets_the_failure_through() -> None:
    found = verdict(
        f"""<choose>
          <when condition="@({CERT}?.Verify() == true)">
            <set-backend-service base-url="https://b" />
          </when>
          <otherwise><return-response /></otherwise>
        </choose>"""
    )
    assert found[MISSING].outcome is NEVER  # no <set-status>: 200
    assert "answered 200" in found[MISSING].counterexample
    rejecting = verdict(
        f"""<choose>
          <when condition="@({CERT}?.Verify() == true)">
            <set-backend-service base-url="https://b" />
          </when>
          <otherwise>{REJECT}</otherwise>
        </choose>"""
    )
    assert rejecting[MISSING].outcome is ALWAYS
    assert rejecting[UNTRUSTED].outcome is ALWAYS


@pytest.mark.parametrize(("status", "rejected"), [("200", False), ("302", False), ("401", True)])
def test_return_response_rejects_only_with_4xx_or_5xx(status: str, rejected: bool) -> None:
    inbound = (
        f'<choose><when condition="@({CERT} == null)"><return-response>'
        f'<set-status code="{status}" /></return-response></when></choose>'
    )
    assert (verdict(inbound)[MISSING].outcome is ALWAYS) is rejected


def test_a_status_that_is_not_a_literal_is_undecidable() -> None:
    found = verdict(
        f'<choose><when condition="@({CERT} == null)"><return-response>'
        '<set-status code="@(context.Variables.GetValueOrDefault&lt;int&gt;(&quot;s&quot;))" />'
        "</return-response></when></choose>"
    )
    assert found[MISSING].outcome is UNDECIDABLE


def test_mock_response_answers() -> None:
    found = verdict('<mock-response status-code="200" content-type="application/json" />')
    assert found[MISSING].outcome is NEVER
    assert "<mock-response>" in found[MISSING].counterexample


# -- expressions -----------------------------------------------------------------------------------


def test_a_sound_condition_rejects_every_failure_it_tests() -> None:
    found = rejects(SOUND)
    assert {k.value for k in found.kinds if found[k].outcome is ALWAYS} == {
        "missing",
        "untrusted",
        "revoked",
        "expired",
        "not-yet-valid",
        "wrong-thumbprint",
        "wrong-issuer-or-subject",  # a certificate matching no pinned identity is rejected
    }
    assert found.pinned_by_thumbprint
    assert found[NAME].tested is False
    assert found.lets_through() == ()


def test_and_where_or_belongs_lets_a_valid_chain_through_whatever_its_thumbprint() -> None:
    found = rejects(SOUND.replace("!" + CERT + ".Verify() ||", "!" + CERT + ".Verify() &&"))
    assert found[THUMBPRINT].outcome is NEVER
    assert found[THUMBPRINT].counterexample == (
        "a client certificate with a valid chain but another thumbprint is forwarded to the backend"
    )
    assert found[UNTRUSTED].outcome is NEVER
    assert f"thumbprint '{THUMB}'" in found[UNTRUSTED].counterexample
    assert found[MISSING].outcome is ALWAYS


def test_inverted_not_after_comparison_forwards_expired_certificates() -> None:
    good = rejects(f"{CERT} == null || {CERT}.NotAfter &lt; DateTime.UtcNow")
    inverted = rejects(f"{CERT} == null || {CERT}.NotAfter &gt; DateTime.UtcNow")
    assert good[EXPIRED].outcome is ALWAYS
    assert inverted[EXPIRED].tested
    assert inverted[EXPIRED].outcome is NEVER
    assert inverted[EXPIRED].counterexample == (
        "a client certificate that has expired is forwarded to the backend"
    )


def test_a_null_dereference_rejects_with_an_error_not_a_403() -> None:
    found = rejects(f"!{CERT}.Verify()")
    missing = found[MISSING]
    assert missing.outcome is ALWAYS
    assert missing.through_error
    assert [(r.how, r.status) for r in missing.rejections] == [("error", 500)]
    assert found[UNTRUSTED].outcome is ALWAYS
    assert not found[UNTRUSTED].through_error


def test_a_guarding_condition_is_a_bypass_named_with_its_element() -> None:
    inbound = f"""<choose>
      <when condition="@(!context.Request.Url.Path.StartsWith(&quot;/health&quot;))">
        <choose><when condition="@({SOUND})">{REJECT}</when></choose>
      </when>
    </choose>"""
    missing = verdict(inbound)[MISSING]
    assert missing.outcome is BYPASS
    (condition,) = missing.conditions
    assert condition.text == 'context.Request.Url.Path.StartsWith("/health")'
    assert condition.holds is True
    assert condition.node is not None
    assert condition.node.line == 4
    assert missing.counterexample.endswith(
        'when `context.Request.Url.Path.StartsWith("/health")` is true'
    )


def test_an_unrelated_rejection_is_no_bypass() -> None:
    inbound = """<choose>
      <when condition="@(context.Request.Method == &quot;DELETE&quot;)">
        <return-response><set-status code="400" /></return-response>
      </when>
    </choose>
    <validate-client-certificate />"""
    found = verdict(inbound)
    assert found[MISSING].outcome is ALWAYS
    assert found[REVOKED].outcome is ALWAYS
    assert found[THUMBPRINT].outcome is NEVER  # not BYPASS: DELETE rejects every certificate


def test_set_variable_feeds_later_conditions_across_branches() -> None:
    inbound = f"""<choose>
      <when condition="@({CERT} == null)"><set-variable name="why" value="missing" /></when>
      <otherwise>
        <set-variable name="why" value="@({CERT}.Verify() ? null : &quot;untrusted&quot;)" />
      </otherwise>
    </choose>
    <choose>
      <when condition="@(context.Variables.GetValueOrDefault&lt;string&gt;(&quot;why&quot;)
                         != null)">
        {REJECT}
      </when>
    </choose>"""
    found = verdict(inbound)
    assert found[MISSING].outcome is ALWAYS
    assert found[UNTRUSTED].outcome is ALWAYS
    assert found[EXPIRED].outcome is ALWAYS  # Verify() fails an expired certificate
    assert [r.how for r in found[MISSING].rejections] == ["return-response"]


def test_a_variable_set_on_one_branch_only_reads_as_null_elsewhere() -> None:
    inbound = f"""<choose>
      <when condition="@({CERT} == null)"><set-variable name="error" value="missing" /></when>
    </choose>
    <choose>
      <when condition="@(context.Variables.GetValueOrDefault&lt;string&gt;(&quot;error&quot;)
                         != null)">{REJECT}</when>
    </choose>"""
    found = verdict(inbound)
    assert found[MISSING].outcome is ALWAYS
    assert found[UNTRUSTED].outcome is NEVER  # only a missing certificate sets the variable
    assert found.accepts_any


def test_a_throwing_set_variable_is_an_error() -> None:
    found = verdict(f'<set-variable name="t" value="@({CERT}.Thumbprint)" />')
    assert found[MISSING].outcome is ALWAYS
    assert [r.how for r in found[MISSING].rejections] == ["error"]
    assert found[UNTRUSTED].outcome is NEVER


def test_other_elements_are_neutral() -> None:
    found = verdict(
        """<rate-limit calls="10" renewal-period="60" />
        <cors><allowed-origins><origin>*</origin></allowed-origins></cors>
        <set-header name="X-A" exists-action="override"><value>a</value></set-header>
        <validate-client-certificate />
        <send-request mode="new" response-variable-name="r"><set-url>https://x</set-url></send-request>"""
    )
    assert found[MISSING].outcome is ALWAYS
    assert [n.tag for n in found.checks] == ["validate-client-certificate"]
    assert found.unsupported == ()


def test_retry_children_run_and_unknown_holders_are_undecidable() -> None:
    inside = verdict(f'<retry condition="@(false)" count="1" interval="1">{REJECT}</retry>')
    assert inside[MISSING].outcome is ALWAYS
    unknown = verdict(f"<future-policy>{REJECT}</future-policy>")
    assert unknown[MISSING].outcome is UNDECIDABLE
    assert unknown.unsupported[0][0].tag == "future-policy"


def test_an_unreadable_condition_about_the_certificate_is_undecidable() -> None:
    about_certificate = rejects(f"{CERT}.Issuer != 'xy'")  # single-quoted strings are not C#
    assert about_certificate[MISSING].outcome is UNDECIDABLE
    assert about_certificate.unsupported
    unrelated = verdict(
        """<choose><when condition="@(context.Request.Url.Path == 'x')">
        <set-backend-service base-url="https://b" /></when></choose>
        <validate-client-certificate />"""
    )
    assert unrelated[MISSING].outcome is ALWAYS


def test_a_long_allow_list_is_decided_since_a_field_has_one_value() -> None:
    literals = " || ".join(f"{CERT}.Thumbprint == &quot;{i:040X}&quot;" for i in range(1, 18))
    found = rejects(f"{CERT} == null || !({literals})")
    assert found[THUMBPRINT].outcome is ALWAYS
    assert found[MISSING].outcome is ALWAYS


def test_too_many_independent_facts_is_undecidable() -> None:
    headers = " || ".join(
        f"context.Request.Headers.GetValueOrDefault(&quot;X-{i}&quot;, &quot;&quot;) == "
        "&quot;1&quot;"
        for i in range(17)
    )
    found = rejects(f"{CERT} == null || ({headers})")
    assert {v.outcome for v in found.kinds.values()} == {UNDECIDABLE}
    assert "more than the 16 that are decided" in found[MISSING].reason


def test_a_commented_out_check_does_not_exist() -> None:
    found = verdict("<!-- <validate-client-certificate /> -->\n<rate-limit calls='5' />")
    assert found.checks == ()
    assert found[MISSING].outcome is NEVER
    assert found[MISSING].counterexample == (
        "a request without a client certificate is forwarded to the backend"
    )


# -- certificates from headers and from the uploaded set -------------------------------------------


def test_a_thumbprint_header_is_the_judged_certificate_and_its_deletion_is_seen() -> None:
    check = (
        '<choose><when condition="@(context.Request.Headers.GetValueOrDefault('
        f'&quot;X-ARR-ClientCertThumbprint&quot;, &quot;&quot;) != &quot;{THUMB}&quot;)">'
        f"{REJECT}</when></choose>"
    )
    found = verdict(check)
    assert found.source == "header:X-ARR-ClientCertThumbprint"
    assert found.from_header
    ((read),) = found.header_reads
    assert (read.header, read.deleted_by) == ("X-ARR-ClientCertThumbprint", None)
    assert found.tls_missing.outcome is NEVER
    assert found.lets_through()[-1] is found.tls_missing
    deleted = verdict(
        '<set-header name="x-arr-clientcertthumbprint" exists-action="delete" />\n' + check
    )
    assert deleted.header_reads[0].deleted_by is not None
    assert deleted.header_reads[0].deleted_by.line == 3


def test_a_lookup_among_uploaded_certificates_pins_exact_certificates() -> None:
    found = rejects(
        f"{CERT} == null || !context.Deployment.Certificates.Any(c =&gt; "
        f"c.Value.Thumbprint == {CERT}.Thumbprint)"
    )
    assert [n.tag for n in found.deployment_lookups] == ["when"]
    assert found.pinned_by_thumbprint
    assert found[UNTRUSTED].outcome is NEVER
    assert "uploaded to the instance" in found[UNTRUSTED].counterexample


def test_an_unknown_fragment_leaves_everything_undecidable() -> None:
    found = verdict('<validate-client-certificate /><include-fragment fragment-id="x" />')
    assert found.problems
    assert {v.outcome for v in found.kinds.values()} == {UNDECIDABLE}
    assert "not fully known" in found[MISSING].reason
