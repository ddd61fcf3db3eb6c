"""Certificate pins read from policy documents, and the thumbprint format diagnosis."""

from __future__ import annotations

import string
from collections.abc import Callable

from hypothesis import given
from hypothesis import strategies as st

from mtls_audit.policy.effective.merge import Layer
from mtls_audit.policy.effective.tree import Origin, OriginKind
from mtls_audit.policy.expressions.atoms import REQUEST, Atom, AtomKind, can_hold
from mtls_audit.policy.inbound.pins import PinField, document_pins, escaped, thumbprint_defects
from mtls_audit.policy.parsing.parser import parse_policy

UPPER = "55B8367FCD8BE3F3E71F82FC495695B93CF12C06"
ORIGIN = Origin(OriginKind.API, "/apis/a/policies/policy", "api:a")


def layer(text: str) -> Layer:
    return Layer(ORIGIN, "/apis/a", parse_policy(text))


def named(values: dict[str, str]) -> Callable[[str], str | None]:
    return values.get


def test_identity_claims_and_expression_literals_are_pins() -> None:
    text = (
        "<policies><inbound>\n"
        '<validate-client-certificate><identities><identity thumbprint="{{t}}" '
        'issuer-subject="CN=CA, O=Org" /></identities></validate-client-certificate>\n'
        '<set-variable name="x" value="@(context.Request.Certificate?.Issuer == &quot;CN=CA&quot; '
        '&amp;&amp; context.Request.Certificate.Thumbprint.ToUpper() == &quot;AB&quot;)" />\n'
        "</inbound></policies>"
    )
    pins = document_pins(layer(text), named({"t": UPPER}))
    assert [site.line for site in pins.sites] == [2, 3]
    identity, expression = pins.sites
    assert [(p.field, p.value, p.case_sensitive) for p in identity.pins] == [
        (PinField.THUMBPRINT, UPPER, None),
        (PinField.ISSUER, "CN=CA, O=Org", None),
    ]
    assert identity.pins[0].named_values == ("t",)
    assert not identity.pins[0].hard_coded
    assert identity.pins[1].hard_coded
    fields = {(p.field, p.value, p.case_sensitive) for p in expression.pins}
    assert fields == {(PinField.ISSUER, "CN=CA", True), (PinField.THUMBPRINT, "AB", False)}
    assert expression.place() == (ORIGIN.resource_id, "api:a", 3, expression.place().excerpt)


def test_unknown_values_and_unreadable_expressions() -> None:
    text = (
        "<policies><inbound>\n"
        '<set-variable name="a" value="@(CERT?.Thumbprint != &quot;{{secret}}&quot;)" />\n'
        '<set-variable name="b" value="@(CERT.Thumbprint != )" />\n'
        '<set-variable name="c" value="@(HEADERS(&quot;X-Thumbprint&quot;) == &quot;ab&quot;)" />\n'
        "</inbound></policies>"
    )
    text = text.replace("CERT", "context.Request.Certificate")
    text = text.replace("HEADERS", "context.Request.Headers.GetValueOrDefault")
    pins = document_pins(layer(text), named({}))
    (site,) = pins.sites  # the header comparison is not a pin on the TLS certificate
    assert site.pins[0].value is None
    assert site.pins[0].named_values == ("secret",)
    assert [u.line for u in pins.unreadable] == [3]


def test_comments_hold_no_pins() -> None:
    text = f'<inbound><!-- <identity thumbprint="{UPPER.lower()}" /> --></inbound>'
    assert document_pins(layer(text), named({})).sites == ()


def test_unmatchable_literal_is_flagged_by_the_atom() -> None:
    text = (
        '<choose><when condition="@(context.Request.Certificate.Thumbprint != '
        f'&quot;{UPPER.lower()}&quot;)" /></choose>'
    )
    (site,) = document_pins(layer(text), named({})).sites
    assert not site.pins[0].can_match


def test_thumbprint_defects() -> None:
    assert thumbprint_defects(UPPER, True) == ()
    assert thumbprint_defects(UPPER.lower(), False) == ()
    assert thumbprint_defects(UPPER.lower(), True) == (
        "lower case compared ordinally (Thumbprint is upper case)",
    )
    assert "lower case in an identity claim" in thumbprint_defects(UPPER.lower(), None)[0]
    spaced = " ".join(UPPER[i : i + 2] for i in range(0, 40, 2))
    assert thumbprint_defects(spaced, True) == ("spaces",)
    coloned = ":".join(UPPER[i : i + 2] for i in range(0, 40, 2))
    assert thumbprint_defects(coloned, True) == ("colons",)
    assert thumbprint_defects("\u200e" + UPPER, True) == ("invisible character \\u200E",)
    assert thumbprint_defects("\u00a0" + UPPER, True) == ("invisible character \\u00A0",)
    assert "SHA-256" in thumbprint_defects("A" * 64, True)[0]
    assert thumbprint_defects(UPPER[:-1], True) == ("39 hex digits instead of 40",)


@given(st.text(alphabet="0123456789ABCDEF", min_size=40, max_size=40))
def test_every_upper_case_sha1_is_clean(value: str) -> None:
    assert thumbprint_defects(value, True) == ()


@given(st.text(alphabet=string.hexdigits + " :\u200e", min_size=1, max_size=80))
def test_defects_agree_with_can_hold(value: str) -> None:
    """A literal with no defect is exactly one a certificate can carry."""
    for sensitive in (True, False):
        atom = Atom(AtomKind.THUMBPRINT_EQ, REQUEST, value, case_sensitive=sensitive)
        assert (thumbprint_defects(value, sensitive) == ()) == can_hold(atom)


def test_escaped_shows_invisible_characters_only() -> None:
    assert escaped("a\u200eb c\té") == "a\\u200Eb c\\u0009é"


def test_a_literal_compared_through_a_variable_is_a_pin_in_every_branch() -> None:
    text = (
        "<policies><inbound>\n"
        '<choose><when condition="@(context.Request.Method == &quot;GET&quot;)">\n'
        f'<set-variable name="pin" value="{UPPER}" />\n'
        '</when><otherwise><set-variable name="pin" value="ab:cd" /></otherwise></choose>\n'
        '<choose><when condition="@(context.Request.Certificate.Thumbprint != '
        '(string)context.Variables[&quot;pin&quot;])" /></choose>\n'
        "</inbound></policies>"
    )
    (site,) = document_pins(layer(text), named({})).sites
    assert site.line == 5
    assert {(p.field, p.value) for p in site.pins} == {
        (PinField.THUMBPRINT, UPPER),
        (PinField.THUMBPRINT, "ab:cd"),
    }
