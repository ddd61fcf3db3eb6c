"""Collection idioms and interpolated strings read by the expression analyser."""

from __future__ import annotations

import pytest

from mtls_audit.policy.expressions.conditions import condition, value
from mtls_audit.policy.expressions.lexer import interpolation_holes
from mtls_audit.policy.expressions.values import Choice, Opaque, Text, TextSet

C = "context.Request.Certificate"
A = "A1B2C3D4E5F60718293A4B5C6D7E8F9011223344"
B = "0F1E2D3C4B5A69788796A5B4C3D2E1F000112233"
LIST = f'new[] {{ "{A}", "{B}" }}'


@pytest.mark.parametrize(
    "form",
    [
        f"{LIST}.Contains({C}.Thumbprint)",
        f"{LIST}.Any(t => t == {C}.Thumbprint)",
        f"{LIST}.Where(t => t == {C}.Thumbprint).Any()",
        f"Array.IndexOf({LIST}, {C}.Thumbprint) >= 0",
        f"Array.Exists({LIST}, t => {C}.Thumbprint == t)",
        f"Array.Find({LIST}, t => t == {C}.Thumbprint) != null",
        f"{LIST}.FirstOrDefault(t => t == {C}.Thumbprint) != null",
        f"!{LIST}.All(t => t != {C}.Thumbprint)",
        "JsonConvert.DeserializeObject<List<string>>("
        f'"[\\"{A}\\", \\"{B}\\"]").Contains({C}.Thumbprint)',
        f"\"{A},{B}\".Split(',').Select(t => t.Trim()).ToList().Contains({C}.Thumbprint)",
    ],
)
def test_every_allow_list_form_is_the_same_disjunction(form: str) -> None:
    found = str(condition(f"@({C} != null && {form})"))
    assert f"thumbprint-eq('{A}')" in found
    assert f"thumbprint-eq('{B}')" in found
    assert "opaque" not in found


def test_a_json_list_from_an_unknown_named_value_has_unknown_entries() -> None:
    found = value('@(JArray.Parse("{{partners}}"))')
    assert isinstance(found, TextSet)
    assert found.items == (Text("{{partners}}", None),)


def test_a_json_object_is_not_a_list() -> None:
    found = value('@(JsonConvert.DeserializeObject<List<string>>("{\\"a\\": 1}"))')
    assert isinstance(found, Opaque)


def test_a_lambda_over_an_unknown_collection_reading_the_certificate_is_about_it() -> None:
    found = value(f'@(((JArray)context.Variables["x"]).Any(p => (string)p == {C}.Thumbprint))')
    assert isinstance(found, Opaque)
    assert found.source == "request"


def test_interpolation_holes_skip_escapes_alignment_and_format() -> None:
    text = '$"a {x} {{b}} {y,5:N2} {f("}")}"'
    assert [text[s:e] for s, e, _ in interpolation_holes(text)] == ["x", "y", 'f("}")']
    _, _, after = interpolation_holes(text)[0]
    assert text[after:].startswith(" {{b}}")


def test_an_interpolated_string_carries_the_certificate_data_of_its_holes() -> None:
    found = value(f'@($"client {{{C}?.Subject ?? "none"}}")')
    assert isinstance(found, Choice)  # none when the certificate is missing, else its subject
    assert isinstance(found.other, Opaque)
    assert found.other.source == "request"
    literal = value('@($"a{"b"}c")')
    assert isinstance(literal, Text)
    assert literal.value == "abc"
