"""Response writes of an effective policy and what their values carry."""

from __future__ import annotations

from mtls_audit.policy.disclosure.writes import (
    ResponseWrite,
    Written,
    certificate_data,
    header_data,
    last_error_data,
    response_writes,
)
from mtls_audit.policy.effective.policies import EffectivePolicies
from mtls_audit.policy.expressions.conditions import constant
from tests.policy.effective_support import api, api_id, document, policy, service

GLOBAL_ON_ERROR = (
    '<set-variable name="why" value="@(context.LastError.Reason)" />\n'
    '<set-header name="X-Why" exists-action="override">'
    '<value>@((string)context.Variables["why"])</value></set-header>'
)


def writes(api_policy: str, global_policy: str | None = None) -> tuple[ResponseWrite, ...]:
    resources = [*api("a"), policy("apis/a", api_policy)]
    if global_policy is not None:
        resources.append(policy("", global_policy))
    effective = EffectivePolicies(service(resources)).effective(api_id("a"))
    return response_writes(effective)


def header(name: str) -> str:
    return f'<set-header name="{name}" exists-action="override"><value>x</value></set-header>'


def read(text: str) -> Written:
    (write,) = writes(document(outbound=f"<set-body>{text}</set-body>"))
    (value,) = write.values
    return value


def test_what_counts_as_a_response_write() -> None:
    found = writes(
        document(
            inbound=(
                f"{header('to-backend')}\n"
                f'<return-response><set-status code="403" reason="No" />{header("early")}'
                "</return-response>"
            ),
            outbound=(
                f'<send-request mode="new" response-variable-name="r">{header("side")}'
                "</send-request>\n"
                '<choose><when condition="@(true)">'
                '<set-header name="late" exists-action="delete" /></when></choose>'
            ),
        )
    )
    assert [(w.section, w.target, w.header, w.deletes) for w in found] == [
        ("inbound", "reason", "", False),
        ("inbound", "header", "early", False),
        ("outbound", "header", "late", True),
    ]


def test_variables_flow_across_sections_and_scopes() -> None:
    found = writes(document(on_error="<base />"), document(inbound=None, on_error=GLOBAL_ON_ERROR))
    (write,) = found
    assert write.describe() == 'header "X-Why" (on-error, global line 10)'
    assert last_error_data(write.values[0]) == ("Reason",)


def test_certificate_data() -> None:
    assert certificate_data(read("@(context.Request.Certificate.Thumbprint)")) is True
    assert certificate_data(read("@(context.Request.Certificate?.SubjectName.Name)")) is True
    assert certificate_data(read('@($"{context.Request.Certificate.Subject}")')) is True
    assert certificate_data(read('@(context.Request.Certificate.Verify() ? "ok" : "no")')) is False
    assert certificate_data(read("@(context.Request.Certificate.Subject + )")) is None
    assert certificate_data(read("@(context.Request.Url.Path + )")) is False
    assert certificate_data(Written("plain", constant("plain"))) is False


def test_header_data() -> None:
    text = '@(context.Request.Headers.GetValueOrDefault("X-ARR-ClientCert", ""))'
    assert header_data(read(text)) == ("X-ARR-ClientCert",)
    assert header_data(read('@(context.Request.Headers["X-Client-Certificate"])')) == (
        "X-Client-Certificate",
    )
    assert header_data(read('@(context.Request.Headers.GetValueOrDefault("Accept", ""))')) == ()


def test_last_error_data() -> None:
    assert last_error_data(read("@(context.LastError.Message)")) == ("Message",)
    assert last_error_data(read("@(JsonConvert.SerializeObject(context.LastError))")) == ("",)
    assert last_error_data(read("@(context.LastError.PolicyId)")) == ()
    assert last_error_data(read('@(context.LastError.Source == "x" ? "a" : "b")')) == ()
