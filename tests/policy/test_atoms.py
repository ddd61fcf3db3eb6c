"""Classification of certificate conditions into atoms, construct by construct."""

from __future__ import annotations

import pytest

from mtls_audit.policy.expressions.atoms import (
    REQUEST,
    Atom,
    AtomKind,
    can_hold,
    header_source,
    resolve_literal,
)
from mtls_audit.policy.expressions.conditions import Scope, condition, constant, value
from mtls_audit.policy.expressions.logic import atoms, occurrences
from mtls_audit.policy.expressions.parser import ExpressionSyntaxError
from mtls_audit.policy.expressions.values import Choice, Field, Text

T = "3F2A9C1B7D4E6F8091A2B3C4D5E6F708192A3B4C"
T2 = "A1B2C3D4E5F60718293A4B5C6D7E8F9012345678"
C = "context.Request.Certificate"
GUARD = "cert-null ? throw : "


def _formula(text: str, **named: str) -> str:
    return str(condition(f"@({text})", Scope(named_value=named.get)))


@pytest.mark.parametrize(
    ("text", "formula"),
    [
        (f"{C} == null", "cert-null"),
        (f"{C} != null", "!cert-null"),
        (f"null == {C}", "cert-null"),
        (f"{C} is null", "cert-null"),
        (f"{C} is not null", "!cert-null"),
        (f"{C} is X509Certificate2", "!cert-null"),
        (f"({C} as X509Certificate2) == null", "cert-null"),
        (f"((X509Certificate2){C}).Verify()", GUARD + "chain-valid"),
        (f"{C}.Verify()", GUARD + "chain-valid"),
        (f"{C}.VerifyNoRevocation()", GUARD + "chain-valid-no-revocation"),
        (f"{C}?.Verify() == true", "!cert-null && chain-valid"),
        (f"{C}?.Verify() != false", "cert-null || chain-valid"),
        (f"{C}?.VerifyNoRevocation() ?? false", "!cert-null && chain-valid-no-revocation"),
    ],
)
def test_presence_and_chain(text: str, formula: str) -> None:
    assert _formula(text) == formula


@pytest.mark.parametrize(
    ("text", "formula"),
    [
        (f"{C}.NotAfter < DateTime.Now", "expired"),
        (f"{C}.NotAfter <= DateTime.UtcNow", "expired"),
        (f"DateTime.Now > {C}.NotAfter", "expired"),
        (f"DateTime.UtcNow >= {C}.NotAfter", "expired"),
        (f"{C}.NotAfter > DateTime.Now", "!expired"),
        (f"{C}.NotAfter >= DateTime.Now", "!expired"),
        (f"DateTime.Now < {C}.NotAfter", "!expired"),
        (f"DateTime.Compare({C}.NotAfter, DateTime.Now) < 0", "expired"),
        (f"DateTime.Compare(DateTime.Now, {C}.NotAfter) > 0", "expired"),
        (f"DateTime.Compare({C}.NotAfter, DateTime.UtcNow) == -1", "expired"),
        (f"{C}.NotAfter.CompareTo(DateTime.UtcNow) < 0", "expired"),
        (f"{C}.NotBefore > DateTime.Now", "not-yet-valid"),
        (f"DateTime.UtcNow < {C}.NotBefore", "not-yet-valid"),
        (f"{C}.NotBefore <= DateTime.Now", "!not-yet-valid"),
    ],
)
def test_validity_period_in_every_orientation(text: str, formula: str) -> None:
    assert _formula(text) == GUARD + formula


@pytest.mark.parametrize(
    ("text", "formula"),
    [
        (f'{C}.Thumbprint == "{T}"', f"thumbprint-eq('{T}')"),
        (f'{C}.Thumbprint != "{T}"', f"!thumbprint-eq('{T}')"),
        (f'"{T}" == {C}.Thumbprint', f"thumbprint-eq('{T}')"),
        (f'{C}.Thumbprint.Equals("{T}")', f"thumbprint-eq('{T}')"),
        (f'{C}.GetCertHashString() == "{T}"', f"thumbprint-eq('{T}')"),
        (
            f'string.Equals({C}.Thumbprint, "{T.lower()}", StringComparison.OrdinalIgnoreCase)',
            f"thumbprint-eq('{T.lower()}', ignore case)",
        ),
        (
            f'{C}.Thumbprint.Equals("{T.lower()}", StringComparison.InvariantCultureIgnoreCase)',
            f"thumbprint-eq('{T.lower()}', ignore case)",
        ),
        (
            f'StringComparer.OrdinalIgnoreCase.Equals({C}.Thumbprint, "{T}")',
            f"thumbprint-eq('{T}', ignore case)",
        ),
        (f'{C}.Thumbprint.ToUpper() == "{T}"', f"thumbprint-eq('{T}', ignore case)"),
        (
            f'{C}.Thumbprint.ToLower() == "{T.lower()}"',
            f"thumbprint-eq('{T.lower()}', ignore case)",
        ),
        (
            f'{C}.Thumbprint.ToUpperInvariant() == "{T.lower()}".ToUpperInvariant()',
            f"thumbprint-eq('{T}', ignore case)",
        ),
        (f'{C}.Thumbprint.ToLower() == "{T}"', "cert-null && throw"),  # never equal
        (
            f'new[] {{"{T}", "{T2}"}}.Contains({C}.Thumbprint)',
            f"thumbprint-eq('{T}') || thumbprint-eq('{T2}')",
        ),
        (f'new List<string> {{ "{T}" }}.Contains({C}.Thumbprint)', f"thumbprint-eq('{T}')"),
        (
            f'new HashSet<string>(new[] {{ "{T.lower()}" }}, StringComparer.OrdinalIgnoreCase)'
            f".Contains({C}.Thumbprint)",
            f"thumbprint-eq('{T.lower()}', ignore case)",
        ),
        (
            f'new[] {{"{T.lower()}"}}.Contains({C}.Thumbprint, StringComparer.OrdinalIgnoreCase)',
            f"thumbprint-eq('{T.lower()}', ignore case)",
        ),
        (
            f'"{T}; {T2}".Contains({C}.Thumbprint)',
            f"thumbprint-eq('{T}') || thumbprint-eq('{T2}')",
        ),
        (
            f"\"{T},{T2}\".Split(',').Contains({C}.Thumbprint)",
            f"thumbprint-eq('{T}') || thumbprint-eq('{T2}')",
        ),
        (f'{C}.Issuer == "CN=Contoso CA"', "issuer-eq('CN=Contoso CA')"),
        (f'{C}.IssuerName.Name != "CN=Contoso CA"', "!issuer-eq('CN=Contoso CA')"),
        (f'{C}.Subject == "CN=client"', "subject-eq('CN=client')"),
        (f'{C}.SubjectName.Name == "CN=client"', "subject-eq('CN=client')"),
        (f'{C}.Subject.Contains("CN=client")', "subject-contains('CN=client')"),
        (
            f'{C}.Subject.ToUpper().Contains("CN=CLIENT")',
            "subject-contains('CN=CLIENT', ignore case)",
        ),
        (f'{C}.SerialNumber == "01AB"', "serial-eq('01AB')"),
        (f'{C}.GetSerialNumberString() != "01AB"', "!serial-eq('01AB')"),
    ],
)
def test_identity_pins(text: str, formula: str) -> None:
    expected = formula if formula.startswith("cert-null") else GUARD + formula
    if " || " in formula:
        expected = f"{GUARD}({formula})"
    assert _formula(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        f"context.Deployment.Certificates.Any(c => c.Value.Thumbprint == {C}.Thumbprint)",
        f"context.Deployment.Certificates.Any(c => {C}.Thumbprint == c.Key)",
        f"context.Deployment.Certificates.ContainsKey({C}.Thumbprint)",
        f"context.Deployment.Certificates.TryGetValue({C}.Thumbprint, out var found)",
        f"context.Deployment.Certificates.Keys.Contains({C}.Thumbprint)",
        "context.Deployment.Certificates.Values.Any(c => c.Thumbprint.Equals("
        f"{C}.Thumbprint, StringComparison.OrdinalIgnoreCase))",
    ],
)
def test_lookup_in_the_deployment_certificates(text: str) -> None:
    assert _formula(text) == GUARD + "in-deployment-certs"


def test_deployment_lookup_by_another_property_is_opaque() -> None:
    text = f"context.Deployment.Certificates.Any(c => c.Value.Issuer == {C}.Issuer)"
    assert _formula(text) == f"opaque({text})"


def test_deployment_lookup_with_a_null_thumbprint_never_throws_in_any() -> None:
    text = f"context.Deployment.Certificates.Any(c => c.Value.Thumbprint == {C}?.Thumbprint)"
    assert _formula(text) == "!cert-null && in-deployment-certs"
    lookup = f"context.Deployment.Certificates.ContainsKey({C}?.Thumbprint)"
    assert _formula(lookup) == GUARD + "in-deployment-certs"  # ContainsKey(null) throws


# -- certificates and thumbprints from headers ------------------------------------------------

ARR = header_source("X-ARR-ClientCert")


def test_certificate_built_from_a_header_is_header_derived() -> None:
    text = (
        "new X509Certificate2(Convert.FromBase64String("
        'context.Request.Headers.GetValueOrDefault("X-ARR-ClientCert", ""))).Verify()'
    )
    formula = condition(f"@({text})")
    assert str(formula) == (
        "cert-null@header:X-ARR-ClientCert ? throw : chain-valid@header:X-ARR-ClientCert"
    )
    assert {atom.source for atom in atoms(formula)} == {ARR}
    assert all(atom.header == "X-ARR-ClientCert" for atom in atoms(formula))


def test_thumbprint_read_from_a_header_is_header_derived() -> None:
    text = f'context.Request.Headers.GetValueOrDefault("X-ARR-ClientCertThumbprint", "") == "{T}"'
    source = header_source("X-ARR-ClientCertThumbprint")
    assert set(atoms(condition(f"@({text})"))) == {
        Atom(AtomKind.CERT_NULL, source),
        Atom(AtomKind.THUMBPRINT_EQ, source, T),
    }
    lookup = (
        "context.Deployment.Certificates.ContainsKey("
        'context.Request.Headers.GetValueOrDefault("X-Client-Thumbprint", ""))'
    )
    assert Atom(AtomKind.IN_DEPLOYMENT_CERTS, header_source("X-Client-Thumbprint")) in atoms(
        condition(f"@({lookup})")
    )


def test_header_unrelated_to_certificates_is_opaque_without_a_source() -> None:
    text = 'context.Request.Headers.GetValueOrDefault("Ocp-Apim-Subscription-Key") == "x"'
    (atom,) = atoms(condition(f"@({text})"))
    assert (atom.kind, atom.source, atom.text) == (AtomKind.OPAQUE, "", text)


def test_header_certificate_flowing_through_variables() -> None:
    """The Application Gateway pattern: the header is decoded into a variable in one policy and
    turned into a certificate in a later one (rb-blog-apim-client-cert-series, part 02)."""
    decoded = value(
        """@{
        var clientCertHeader = context.Request.Headers.GetValueOrDefault("X-ARR-ClientCert");
        var pem = System.Net.WebUtility.UrlDecode(clientCertHeader)
                      .Replace("-----BEGIN CERTIFICATE-----", "");
        return Convert.FromBase64String(pem);
    }"""
    )
    assert isinstance(decoded, Choice)
    assert decoded.other == Field(ARR, "header-data")
    check = """@{
        var certificate = new X509Certificate2(
            context.Variables.GetValueOrDefault<byte[]>("client_certificate"));
        return !certificate.VerifyNoRevocation() || !context.Deployment.Certificates.Any(
            c => c.Value.Thumbprint == certificate.Thumbprint);
    }"""
    formula = condition(check, Scope(variables={"client_certificate": decoded}))
    assert str(formula) == (
        "!chain-valid-no-revocation@header:X-ARR-ClientCert"
        " || !in-deployment-certs@header:X-ARR-ClientCert"
    )


# -- named values and deployment placeholders ------------------------------------------------


def test_named_value_in_a_literal_is_resolved() -> None:
    assert _formula(f'{C}.Thumbprint == "{{{{pin}}}}"', pin=T) == GUARD + f"thumbprint-eq('{T}')"
    assert _formula(f'{C}.Issuer == "CN={{{{org}}}} CA"', org="Contoso") == (
        GUARD + "issuer-eq('CN=Contoso CA')"
    )


@pytest.mark.parametrize(
    "literal", ["{{pin}}", "${var.thumbprint}", "%{ if x }A%{ endif }", "#{Thumb}#", "{THUMBPRINT}"]
)
def test_unresolved_placeholders_make_an_unknown_pin(literal: str) -> None:
    formula = condition(f'@({C}.Thumbprint != "{literal}")')
    pins = [atom for atom in atoms(formula) if atom.kind is AtomKind.THUMBPRINT_EQ]
    assert pins == [Atom(AtomKind.THUMBPRINT_EQ, REQUEST, None, True, literal)]
    assert pins[0].unknown_pin
    assert can_hold(pins[0])


def test_unknown_pins_in_a_list_keep_the_known_ones() -> None:
    formula = _formula(f'new[] {{"{T}", "{{{{other}}}}"}}.Contains({C}.Thumbprint.ToUpper())')
    assert formula == (
        f"{GUARD}(thumbprint-eq('{T}', ignore case) || thumbprint-eq(unknown {{{{other}}}}, "
        "ignore case))"
    )


def test_bare_named_value_resolves_to_a_boolean_or_stays_opaque() -> None:
    text = f"{{{{validate-chain}}}} && !{C}.VerifyNoRevocation()"
    assert _formula(text, **{"validate-chain": "true"}) == f"!({GUARD}chain-valid-no-revocation)"
    assert _formula(text, **{"validate-chain": "false"}) == "false"
    assert _formula(text) == (
        f"opaque({{{{validate-chain}}}}) && !({GUARD}chain-valid-no-revocation)"
    )


def test_resolve_literal() -> None:
    assert resolve_literal("a{{x}}b", {"x": "-"}.get) == "a-b"
    assert resolve_literal("a{{ x }}b", {"x": "-"}.get) == "a-b"
    assert resolve_literal("a{{y}}b", {"x": "-"}.get) is None
    nothing: dict[str, str] = {}
    assert resolve_literal("{0} and {name}", nothing.get) == "{0} and {name}"
    assert resolve_literal("$(Build.Thumb)", nothing.get) is None


# -- what no certificate can satisfy -----------------------------------------------------------


@pytest.mark.parametrize(
    ("literal", "case_sensitive", "holds"),
    [
        (T, True, True),
        (T.lower(), True, False),
        (T.lower(), False, True),
        (" ".join(T[i : i + 2] for i in range(0, 40, 2)), False, False),
        (":".join(T[i : i + 2] for i in range(0, 40, 2)), True, False),
        ("\u200e" + T, True, False),
        (T + "ABCDEF0123456789ABCDEF01", True, False),  # a SHA-256 value
        ("DESIRED-THUMBPRINT-IN-UPPER-CASE", True, False),
    ],
)
def test_thumbprint_literals_a_real_certificate_can_match(
    literal: str, case_sensitive: bool, holds: bool
) -> None:
    assert can_hold(Atom(AtomKind.THUMBPRINT_EQ, REQUEST, literal, case_sensitive)) is holds
    header = header_source("X-ARR-ClientCertThumbprint")
    assert can_hold(Atom(AtomKind.THUMBPRINT_EQ, header, literal, case_sensitive))


def test_serial_literals() -> None:
    assert can_hold(Atom(AtomKind.SERIAL_EQ, REQUEST, "01AB"))
    assert not can_hold(Atom(AtomKind.SERIAL_EQ, REQUEST, "01ab"))
    assert can_hold(Atom(AtomKind.SERIAL_EQ, REQUEST, "01ab", case_sensitive=False))


# -- opaque conditions, spans, blocks ------------------------------------------------------------


def test_opaque_conditions_keep_their_text_and_certificate_source() -> None:
    text = f'context.Request.Url.Path.StartsWith("/health") || {C}.FriendlyName == "x"'
    found = {(a.kind, a.source, a.text) for a in atoms(condition(f"@({text})"))}
    assert found == {
        (AtomKind.OPAQUE, "", 'context.Request.Url.Path.StartsWith("/health")'),
        (AtomKind.CERT_NULL, REQUEST, ""),
        (AtomKind.OPAQUE, REQUEST, f'{C}.FriendlyName == "x"'),
    }


def test_each_occurrence_records_its_span() -> None:
    text = f'@({C} == null || {C}.Thumbprint != "{T}")'
    written = [text[v.span.offset : v.span.end] for v in occurrences(condition(text)) if v.span]
    assert written == [C, f'{C}.Thumbprint != "{T}"']


def test_block_returning_strings_feeds_a_later_condition() -> None:
    outcome = value(
        f"""@{{
        if ({C} == null) {{ return "NotFound"; }}
        if ({C}.NotAfter < DateTime.Now) {{ return "Expired"; }}
        return null;
    }}"""
    )
    later = condition(
        '@(context.Variables.GetValueOrDefault<string>("result") != null)',
        Scope(variables={"result": outcome}),
    )
    assert str(later) == "cert-null || expired"
    literal = condition(
        '@((string)context.Variables["result"] == "NotFound")',
        Scope(variables={"result": constant("NotFound")}),
    )
    assert str(literal) == "true"


def test_unknown_variables_and_unsupported_statements_are_opaque() -> None:
    assert _formula('context.Variables.GetValueOrDefault<bool>("ok")') == (
        'opaque(context.Variables.GetValueOrDefault<bool>("ok"))'
    )
    loop = f"@{{ if ({C} == null) return false; foreach (var h in hs) {{ }} return true; }}"
    assert str(condition(loop)) == "!cert-null && opaque(foreach (var h in hs) { } return true;)"
    unrolled = (
        f'@{{ foreach (var t in new[] {{ "A", "B" }}) {{ if ({C}.Subject == t) return true; }} '
        "return false; }"
    )
    assert str(condition(unrolled)) == "(cert-null ? throw : subject-eq('A')) || subject-eq('B')"


def test_a_block_without_a_return_on_some_path_is_a_syntax_error() -> None:
    with pytest.raises(ExpressionSyntaxError, match="not all code paths return"):
        condition(f"@{{ if ({C} == null) {{ return false; }} }}")


def test_string_values_of_literals() -> None:
    assert value('@("a" + "b")') == Text('"a" + "b"', "ab")
