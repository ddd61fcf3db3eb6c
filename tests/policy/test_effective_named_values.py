"""Named values and deployment placeholders in policies."""

from __future__ import annotations

import pytest

from mtls_audit.policy.effective.policies import EffectivePolicies
from mtls_audit.policy.effective.tree import OriginKind
from mtls_audit.policy.parsing.parser import parse_policy
from mtls_audit.policy.parsing.placeholders import (
    NamedValues,
    NamedValueStatus,
    PlaceholderKind,
    find_placeholders,
    placeholder_uses,
)
from tests.policy.effective_support import api_id, document, policy, service


def named_value(
    name: str, display: str, *, value: str | None = None, secret: bool = False
) -> dict[str, object]:
    properties: dict[str, object] = {"displayName": display, "secret": secret}
    if value is not None:
        properties["value"] = value
    return {"path": f"namedValues/{name}", "properties": properties}


@pytest.fixture
def values() -> NamedValues:
    svc = service(
        named_value(
            "nv-1", "client-ca-thumbprint", value="263E8B755C3167666752C0401D2C3C07C97C667B"
        ),
        named_value("nv-2", "Org", value="Contoso Health"),
        named_value("ehr-api-key", "ehr-api-key", secret=True),
        named_value("kv-backed", "kv-backed", secret=False),  # a Key Vault reference: no value
    )
    return EffectivePolicies.for_service(svc).named_values


def test_a_plain_named_value_resolves_by_display_name_or_name(values: NamedValues) -> None:
    expected = "263E8B755C3167666752C0401D2C3C07C97C667B"
    assert values("client-ca-thumbprint") == expected
    assert values("nv-1") == expected
    assert values(" CLIENT-CA-THUMBPRINT ") == expected
    assert values.lookup("org").status is NamedValueStatus.RESOLVED
    assert (
        values.resolve("CN=Partners CA, O={{Org}}, C=NL")
        == "CN=Partners CA, O=Contoso Health, C=NL"
    )


@pytest.mark.parametrize(
    ("name", "status"),
    [
        ("ehr-api-key", NamedValueStatus.SECRET),
        ("kv-backed", NamedValueStatus.UNKNOWN),
        ("never-defined", NamedValueStatus.UNKNOWN),
    ],
)
def test_secret_and_unknown_named_values_resolve_to_none(
    values: NamedValues, name: str, status: NamedValueStatus
) -> None:
    assert values(name) is None
    assert values.lookup(name).status is status
    assert values.resolve(f"prefix {{{{{name}}}}}") is None


@pytest.mark.parametrize(
    "marker",
    [
        "${var.allowed_thumbprint}",
        "%{ if enforce_mtls }",
        "{ALLOWED_CERTIFICATE_THUMBPRINTS}",
        "#{ClientCaThumbprint}#",
        "$(ClientCaThumbprint)",
    ],
)
def test_deployment_placeholders_are_unknown(values: NamedValues, marker: str) -> None:
    (found,) = find_placeholders(f'thumbprint == "{marker}"')
    assert found.kind is PlaceholderKind.DEPLOYMENT
    assert found.text == marker
    assert values.resolve(marker) is None
    assert values.resolve(f"{{{{client-ca-thumbprint}}}},{marker}") is None


def test_a_named_value_in_capitals_is_not_a_replace_token() -> None:
    found = find_placeholders("{{ALLOWED_THUMBPRINTS}} {A} {Mixed_Case}")
    assert [(p.kind, p.name) for p in found] == [
        (PlaceholderKind.NAMED_VALUE, "ALLOWED_THUMBPRINTS")
    ]


def test_placeholder_uses_locate_attributes_and_text() -> None:
    text = (
        "<policies>\n  <inbound>\n"
        '    <identity thumbprint="{{client-ca-thumbprint}}"\n'
        '              subject="CN=${var.cn}" />\n'
        "    <value>x-{ALLOWED_CERTIFICATE_THUMBPRINTS}</value>\n"
        "  </inbound>\n</policies>"
    )
    root = parse_policy(text).root
    uses = [
        (u.attribute, u.placeholder.text, u.line, u.column)
        for n in root.iter()
        for u in placeholder_uses(n)
    ]
    assert uses == [
        ("thumbprint", "{{client-ca-thumbprint}}", 3, 27),
        ("subject", "${var.cn}", 4, 27),
        (None, "{ALLOWED_CERTIFICATE_THUMBPRINTS}", 5, 14),
    ]


def test_an_effective_section_lists_its_placeholders_with_their_origin() -> None:
    svc = service(
        policy(
            "", document(inbound='<set-header name="k"><value>{{ehr-api-key}}</value></set-header>')
        ),
        policy(
            "apis/a",
            document(inbound='<base />\n<identity thumbprint="{{client-ca-thumbprint}}" />'),
        ),
    )
    section = EffectivePolicies.for_service(svc).effective(api_id("a")).inbound
    used = [(node.origin.kind, use.placeholder.name) for node, use in section.placeholders()]
    assert used == [(OriginKind.GLOBAL, "ehr-api-key"), (OriginKind.API, "client-ca-thumbprint")]


def test_a_layer_lists_the_placeholders_its_document_uses() -> None:
    text = document(
        inbound='<base />\n<!-- <identity thumbprint="{{old-ca}}" /> -->\n'
        '<identity thumbprint="{{client-ca-thumbprint}}" subject="{SUBJECT_TOKEN}" />'
    )
    svc = service(policy("apis/a", text))
    layer = EffectivePolicies.for_service(svc).effective(api_id("a")).layer
    assert layer is not None
    assert [(u.placeholder.kind, u.placeholder.name, u.line) for u in layer.placeholders()] == [
        (PlaceholderKind.NAMED_VALUE, "client-ca-thumbprint", 5),
        (PlaceholderKind.DEPLOYMENT, "{SUBJECT_TOKEN}", 5),
    ]
